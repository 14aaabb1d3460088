"""The rules that keep the item banks honest (`wmi bank check`).

Near-duplicate measure: stems are lower-cased, reduced to words, and compared as sets of word
3-grams ("shingles"); two stems whose Jaccard similarity is at least 0.5 (or whose normalised
text is identical) are near-duplicates, within a pool and across the pools of a track. (Tracks are
examined separately, so the same short question may open items of two tracks.)
"""

import functools
import math
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from app.courses import files as content_files
from app.itembank import rules
from app.itembank.files import (
    FACTS_FILE,
    LETTERS,
    POOLS,
    PROVISIONAL_B,
    PROVISIONAL_C,
    Bank,
    BankItem,
    read_banks,
)

NEAR_DUPLICATE = 0.5
KEY_SHARE = (0.20, 0.30)
KEY_LONGEST_MAX = 0.35
KEY_SHORTEST_MAX = 0.35  # the mirror-image cue: distractors padded to hide a long key
MIN_TOTALS = {"exam": 300, "pretest": 30, "practice": 100}
POOL_STATUS = {
    "exam": {"operational", "retired"},
    "pretest": {"pretest"},
    "practice": {"operational"},
}


@functools.lru_cache(maxsize=16_384)
def shingles(text: str, n: int = 3) -> frozenset:
    """Cached: the workbench compares a saved stem with its track's on every save."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    if len(words) < n:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _where(b: BankItem) -> str:
    return f"{b.path}: {b.item.id}"


def near_duplicate_pairs(items: list[BankItem]) -> list[tuple[int, int, float]]:
    """Index pairs (i < j) of near-duplicate stems, found through an index of shared shingles."""
    sets = [shingles(b.item.stem) for b in items]
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for sh in s:
            index[sh].append(i)
    candidates: set[tuple[int, int]] = set()
    for members in index.values():
        if len(members) < 200:
            candidates.update(combinations(members, 2))
    scored = ((i, j, jaccard(sets[i], sets[j])) for i, j in sorted(candidates))
    return [(i, j, score) for i, j, score in scored if score >= NEAR_DUPLICATE]


def check_duplicates(items: list[BankItem]) -> list[str]:
    return [
        f"{_where(items[i])}: near-duplicate stem: {score:.2f} similar to "
        f"{items[j].item.id} ({items[j].path})"
        for i, j, score in near_duplicate_pairs(items)
    ]


def check_catalogue(banks_root: Path, bank: Bank, sources: dict) -> list[str]:
    """Every fact of the catalogue cites source IDs of the facts sheet."""
    return [
        f"{banks_root / FACTS_FILE}: {fact.id}: sources: unknown source ID '{s}'"
        for fact in (bank.facts or {}).values()
        for s in fact.sources
        if s not in sources
    ]


def check_item(b: BankItem, sources: dict, modules: dict[str, set[str]], domains: set[str]):
    item, problems = b.item, []
    if item.irt.provisional:
        expected = (1.0, PROVISIONAL_B[item.difficulty], PROVISIONAL_C[item.type])
        if (item.irt.a, item.irt.b, item.irt.c) != expected:
            problems.append(
                f"provisional-rule: irt should be a={expected[0]}, b={expected[1]}, "
                f"c={expected[2]} for difficulty {item.difficulty} ({item.type})"
            )
    if item.status not in POOL_STATUS[b.pool]:
        problems.append(f"status: '{item.status}' does not belong in the {b.pool} pool")
    problems += [f"sources: unknown source ID '{s}'" for s in item.sources if s not in sources]
    if domains and item.domain not in domains:
        problems.append(f"domain: '{item.domain}' is not in the track's blueprint")
    if item.module not in modules.get(item.domain, {item.module}):
        problems.append(f"module: {item.module} does not teach domain {item.domain}")
    if not item.id.startswith(f"{item.track}-{item.domain}-"):
        problems.append(f"id: {item.id} does not match its domain {item.domain}")
    if len({o.text.strip().lower() for o in item.options}) != len(item.options):
        problems.append("options: two options have the same text")
    return [f"{_where(b)}: {p}" for p in problems]


def check_balance(track: str, pool: str, items: list[BankItem]) -> list[str]:
    singles = [b.item for b in items if b.item.type == "single"]
    if not singles:
        return []
    problems, n = [], len(singles)
    counts = Counter(i.key for i in singles)
    for letter in LETTERS[:4]:
        share = counts[letter] / n
        if not KEY_SHARE[0] <= share <= KEY_SHARE[1]:
            problems.append(
                f"question_banks/{track}/{pool}: key-position: {letter} is the key of "
                f"{share:.0%} of single items (allowed 20-30%)"
            )
    longest = sum(1 for i in singles if _key_is_longest(i))
    if longest / n > KEY_LONGEST_MAX:
        problems.append(
            f"question_banks/{track}/{pool}: key-longest: the key is the longest "
            f"option in {longest / n:.0%} of single items (at most 35%)"
        )
    shortest = sum(1 for i in singles if _key_is_shortest(i))
    if shortest / n > KEY_SHORTEST_MAX:
        problems.append(
            f"question_banks/{track}/{pool}: key-shortest: the key is the shortest "
            f"option in {shortest / n:.0%} of single items (at most 35%)"
        )
    return problems


def _key_is_shortest(item) -> bool:
    lengths = [len(o.text) for o in item.options]
    key_len = lengths[LETTERS.index(item.key)]
    return all(key_len < n for i, n in enumerate(lengths) if LETTERS[i] != item.key)


def _key_is_longest(item) -> bool:
    lengths = [len(o.text) for o in item.options]
    key_len = lengths[LETTERS.index(item.key)]
    return all(key_len > n for i, n in enumerate(lengths) if LETTERS[i] != item.key)


def check_counts(track, bank: Bank, blueprint, max_items: int) -> list[str]:
    problems = []
    for pool in POOLS:
        items = bank.of(track, pool)
        if len(items) < MIN_TOTALS[pool]:
            problems.append(
                f"question_banks/{track}/{pool}: count: {len(items)} items, "
                f"at least {MIN_TOTALS[pool]} required"
            )
    exam = Counter(b.item.domain for b in bank.of(track, "exam") if b.item.status == "operational")
    for domain in blueprint:
        need = math.ceil(5 * domain.weight * max_items - 1e-9)
        if exam[domain.code] < need:
            problems.append(
                f"question_banks/{track}/exam: domain-count: domain {domain.code} has "
                f"{exam[domain.code]} operational items, needs {need} "
                f"(5 x {domain.weight:.0%} of {max_items})"
            )
    return problems


@dataclass
class Report:
    errors: list[str]
    warnings: list[str]
    bank: Bank
    advice: list[rules.Finding] = field(default_factory=list)


def check_banks(banks_root: Path, content_root: Path, *, strict: bool = False) -> Report:
    """Every rule over every bank; each finding names the file, the item and the rule. Findings
    of rules listed in checks.yaml `warn_only` for their track are warnings unless `strict`;
    findings of its `advice` rules never fail the check (`wmi bank check --advice` lists them)."""
    errors, bank = _file_rules(banks_root, content_root)
    policy = rules.read_policy(banks_root, errors)
    warnings, advice = [], []
    for finding in rules.run(bank, policy, near_duplicate_pairs):
        if rules.is_advice(finding, policy):
            advice.append(finding)
        elif not strict and rules.is_warning(finding, policy):
            warnings.append(str(finding))
        else:
            errors.append(str(finding))
    return Report(errors=errors, warnings=warnings, bank=bank, advice=advice)


def run_checks(banks_root: Path, content_root: Path) -> tuple[list[str], Bank]:
    """The errors of `check_banks` (warnings left out) and the bank read."""
    report = check_banks(banks_root, content_root)
    return report.errors, report.bank


def _file_rules(banks_root: Path, content_root: Path) -> tuple[list[str], Bank]:
    tree = content_files.read_content(content_root)
    bank = read_banks(banks_root)
    problems = list(bank.errors) + check_catalogue(banks_root, bank, tree.sources)
    seen: dict[str, BankItem] = {}
    for b in bank.items:
        if b.item.id in seen:
            problems.append(
                f"{_where(b)}: unique-id: also in {seen[b.item.id].path} (pools must be disjoint)"
            )
        seen.setdefault(b.item.id, b)
    for track in content_files.TRACKS:
        meta = tree.tracks.get(track)
        if meta is None:
            problems.append(f"content/{track}/track.yaml: missing or invalid; blueprint unknown")
        domains = {d.code for d in meta.meta.blueprint} if meta else set()
        modules: dict[str, set[str]] = defaultdict(set)
        for m in meta.modules if meta else ():
            for d in m.meta.domains:
                modules[d].add(m.meta.code)
        for b in bank.of(track):
            problems += check_item(b, tree.sources, modules if meta else {}, domains)
        for pool in POOLS:
            problems += check_balance(track, pool, bank.of(track, pool))
        if meta:
            problems += check_counts(track, bank, meta.meta.blueprint, meta.meta.exam.max_items)
        problems += check_duplicates(bank.of(track))
    return problems, bank


def stats(bank: Bank) -> dict:
    """Counts per track, pool, domain, level, type and status; key and option-length figures."""
    out: dict = {}
    for b in bank.items:
        t = out.setdefault(b.item.track, {}).setdefault(
            b.pool,
            {
                "items": 0,
                "domain": Counter(),
                "level": Counter(),
                "type": Counter(),
                "status": Counter(),
                "key": Counter(),
                "key_longest": 0,
                "singles": 0,
                "option_chars": [],
            },
        )
        i = b.item
        t["items"] += 1
        for name in ("domain", "level", "type", "status"):
            t[name][getattr(i, name)] += 1
        if i.type == "single":
            t["singles"] += 1
            t["key"][i.key] += 1
            t["key_longest"] += _key_is_longest(i)
        t["option_chars"] += [len(o.text) for o in i.options]
    return out


def main(argv: list[str]) -> int:
    paths = [a for a in argv if not a.startswith("--")]
    banks = Path(paths[0]) if paths else Path("question_banks")
    content = Path(paths[1]) if len(paths) > 1 else banks.parent / "content"
    report = check_banks(banks, content, strict="--strict" in argv)
    for p in report.errors:
        print(p)
    for w in report.warnings:
        print(f"warning: {w}")
    print(
        f"{len(report.bank.items)} items read; {len(report.errors)} problem(s), "
        f"{len(report.warnings)} warning(s)"
    )
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
