"""Issue 19's rules for `wmi bank check`: distinct ideas, levels, and no cues.

Settings live beside the banks in `question_banks/checks.yaml` (versioned with the content):
`fact_cap` (exam items per fact per track, default 6), `cue_factor` (a cue may point at keys at
most this many times chance per track and pool, default 1.5), `warn_only` (rule -> tracks whose
findings print as warnings instead of failing the check, for content being rewritten; `wmi bank
check --strict` fails on them too) and `advice` (rules whose findings never fail the check and are
listed only by `wmi bank check --advice`: new rules, until the banks are clean under them).

Rules on the items delivered in exams (exam and pretest pools) unless said otherwise:
- d11-exclusion: the item's fact is marked `exam: false` in the catalogue.
- source-attribution: the stem asks what a blog, article, post, page or site says.
- ordinal-trivia: the stem asks for a position in a list ("which principle is third", "sits
  between", "opens the list", "named second"); ordering items (the whole set) are exempt.
- parallel-form: some options carry a reason clause and others do not (all or none); a bare ";"
  is no reason clause (cues.justified; the second review's WMP-4-009).
- filler-short: a single item's option under 0.4x its longest option.
- wmi-says (WMP and CWA exam pools): the stem asks what WMI says, links, associates, names ("does
  WMI say", "How does WMI", "According to WMI"): a knowledge question below those tracks' level.
- clang (a cue): in single items where one option alone shares a content word with the stem, that
  option is the key at most cue_factor x chance; listed as `advice`, every such item is listed.
- echo (a cue): where exactly one option alone repeats a content word of the stem, that option is
  a key at most cue_factor x chance (single and multiple items).
- mr-keys (every pool): a multiple-response item has 2 or 3 keys and its stem says
  "Select TWO" or "Select THREE" to match; mr-mix (exam): both counts are in use.
- difficulty-level (every pool): the author's rating lies in the band of the item's level.
- rationale-key (every pool): an option whose rationale opens "Correct" is a key, and a key's
  rationale does not open "Wrong" or "Incorrect" (a rewrite once kept the right text under A while
  keying D).
- cue rules (per track and pool, app.itembank.cues): each cue at most cue_factor x chance;
  mr-key-position: each letter keyed in 0.5-1.5x its chance share of multiple-response items.
- fact-cap (exam, operational): at most fact_cap items per fact per track.
- level-mix (exam): WMP and CWA hold at least 85% apply/analyse/evaluate items; CWA at least
  half analyse/evaluate; CAWM at least 70% recall/understand (FACTS.md D9).
- cross-track-duplicate (exam pools): near-duplicate stems in two tracks.
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.itembank import cues
from app.itembank.files import LETTERS, Bank, BankItem, Fact

POLICY_FILE = "checks.yaml"
DELIVERED = ("exam", "pretest")
HIGHER = {"apply", "analyse", "evaluate"}
LEVEL_BANDS = {
    "recall": (1, 2),
    "understand": (2, 3),
    "apply": (2, 4),
    "analyse": (3, 4),
    "evaluate": (3, 5),
}
COUNT_WORDS = {2: "TWO", 3: "THREE"}
ATTRIBUTION = re.compile(
    r"\bblog\b|\barticle\b|\b(WMI|WMI's)\s+post\b|\bfoundations page\b|\b[a-z0-9-]+\.(com|org)\b"
    r"|WMI-affiliated|\brole description\b|\b[A-Z]{2,}-(B|SITE)\b"
)
_ORD = r"(first|second|third|fourth|fifth|sixth|seventh|last)"
_NOUN = r"(principle|layer|element|core element|domain|component|standard|level|item|question word)"
ORDINAL = re.compile(
    rf"\b{_ORD}\s+{_NOUN}\b|\b(is|comes|sits|appears)\s+{_ORD}(\s+in\b|\s*\?)"
    rf"|\b{_ORD}\s+(of|in)\s+(WMI's|the|its)\b|\b(named|listed|numbered)\s+{_ORD}\b"
    r"|\bposition\s+(one|two|three|four|five|six|seven|\d)\b"
    r"|\bnumber\s+(one|two|three|four|five|six|seven|\d)\b|\bnumbered list\b"
    r"|\b(comes|sits)\s+(directly|immediately|just)\s+(after|before)\b|\bsits between\b"
    r"|\b(opens|closes)\s+(WMI's|the)\b|\bis layer \d\b|\bin its title\b",
    re.IGNORECASE,
)
WMI_SAYS = re.compile(
    r"\bdoes\s+(WMI|WMI's\s+[\w-]+(\s+[\w-]+)?|the\s+WMBOK)\s+(\w+\s+)?"
    r"(say|link|associate|name|warn|call|define|describe)\b|\bHow does WMI\b"
    r"|\bAccording to (WMI|the WMBOK)\b",
    re.IGNORECASE,
)
RATIONALE_VERDICT = re.compile(r"\s*(Correct|Wrong|Incorrect)\b", re.IGNORECASE)
SELECT_COUNT = re.compile(r"\bselect\s+(two|three|four)\b", re.IGNORECASE)


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fact_cap: int = Field(default=6, ge=1)
    cue_factor: float = Field(default=1.5, ge=1.0)
    warn_only: dict[str, list[str]] = Field(default_factory=dict)
    advice: list[str] = Field(default_factory=list)


def read_policy(root: Path, errors: list[str]) -> Policy:
    path = root / POLICY_FILE
    if not path.exists():
        return Policy()
    try:
        return Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        errors.append(f"{path}: invalid check settings: {exc}")
        return Policy()


@dataclass(frozen=True)
class Finding:
    track: str
    rule: str
    where: str  # "<file>: <item id>" or "question_banks/<track>/<pool>"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}: {self.message}"


def _at(b: BankItem) -> str:
    return f"{b.path}: {b.item.id}"


def live(items: list[BankItem]) -> list[BankItem]:
    """The items that can still be delivered (retired ones stay in the files, unexamined)."""
    return [b for b in items if b.item.status != "retired"]


def item_findings(b: BankItem, facts: dict[str, Fact]) -> list[Finding]:
    item, track, out = b.item, b.item.track, []

    def add(rule: str, message: str) -> None:
        out.append(Finding(track, rule, _at(b), message))

    low, high = LEVEL_BANDS[item.level]
    if not low <= item.difficulty <= high:
        add(
            "difficulty-level", f"rating {item.difficulty} is outside {low}-{high} for {item.level}"
        )
    if item.type == "multiple":
        word = COUNT_WORDS.get(len(item.keys))
        said = SELECT_COUNT.search(item.stem)
        if word is None:
            add("mr-keys", f"{len(item.keys)} keys; multiple-response items have 2 or 3")
        elif said is None or said.group(1).upper() != word:
            add("mr-keys", f"{len(item.keys)} keys, so the stem must say 'Select {word}'")
    if item.type != "ordering":
        for i, option in enumerate(item.options):
            verdict = RATIONALE_VERDICT.match(option.rationale)
            if verdict and (verdict.group(1).lower() == "correct") != (LETTERS[i] in item.keys):
                add(
                    "rationale-key",
                    f"{LETTERS[i]}'s rationale says '{verdict.group(1)}'; key {item.key}",
                )
    if b.pool not in DELIVERED or item.status == "retired":
        return out
    fact = facts.get(item.fact)
    if fact is not None and not fact.exam:
        add("d11-exclusion", f"fact '{fact.id}' is kept out of exams: {fact.why}")
    if hit := ATTRIBUTION.search(item.stem):
        add("source-attribution", f"the stem cites a source ('{hit.group(0)}'); ask the idea")
    if item.type != "ordering" and (hit := ORDINAL.search(item.stem)):
        add("ordinal-trivia", f"the stem asks for a list position ('{hit.group(0)}')")
    if item.type != "ordering":
        _parallel_form(item, add)
    if item.type == "single" and (short := cues.filler_short(item)):
        lengths = cues.option_lengths(item)
        add(
            "filler-short",
            ", ".join(f"{LETTERS[i]} has {lengths[i]} characters" for i in short)
            + f", under {cues.FILLER_SHARE}x the longest ({max(lengths)})",
        )
    if b.pool == "exam" and track in ("WMP", "CWA") and (hit := WMI_SAYS.search(item.stem)):
        add("wmi-says", f"the stem asks what WMI says ('{hit.group(0)}'); set a case to judge")
    return out


def _parallel_form(item, add) -> None:
    forms = [cues.justified(o.text) for o in item.options]
    if 0 < sum(forms) < len(forms):
        odd = cues.odd_one_out(item, forms)
        note = "; the key is the odd one out" if odd in cues.key_indexes(item) else ""
        add(
            "parallel-form",
            f"{sum(forms)} of {len(forms)} options carry a reason clause (a bare ';' is none): "
            f"{''.join(LETTERS[i] for i, f in enumerate(forms) if f)} do{note}",
        )


def cue_findings(
    track: str,
    pool: str,
    items: list[BankItem],
    factor: float,
    listed: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Each hit of a cue over its limit, and every hit of the cues in `listed` (advice)."""
    by_id = {b.item.id: b for b in items}
    out = []
    for rate in cues.measure([b.item for b in items]):
        if rate.exceeds(factor) or (rate.hits and rate.cue.name in listed):
            verdict = "over the limit" if rate.exceeds(factor) else "within the limit"
            message = (
                f"{rate.cue.label}: {len(rate.hits)} of {rate.items} items ({rate.rate:.0%}); "
                f"chance {rate.chance:.0%}, at most {factor}x ({verdict})"
            )
            for hit in rate.hits:
                b = by_id[hit]
                seen = rate.cue.detail(b.item) + "; " if rate.cue.detail else ""
                out.append(Finding(track, rate.cue.name, _at(b), seen + message))
    return out + _mr_positions(track, pool, [b.item for b in items])


def _mr_positions(track: str, pool: str, items) -> list[Finding]:
    multiple = [i for i in items if i.type == "multiple"]
    if len(multiple) < 20:
        return []
    expected = sum(len(i.keys) / len(i.options) for i in multiple)
    keyed = Counter(k for i in multiple for k in i.keys)
    return [
        Finding(
            track,
            "mr-key-position",
            f"question_banks/{track}/{pool}",
            f"{letter} is keyed in {keyed[letter]} of {len(multiple)} multiple-response items; "
            f"chance {expected:.0f}, allowed {0.5 * expected:.0f}-{1.5 * expected:.0f}",
        )
        for letter in LETTERS[:5]
        if not 0.5 * expected <= keyed[letter] <= 1.5 * expected
    ]


def fact_cap_findings(track: str, exam: list[BankItem], cap: int) -> list[Finding]:
    by_fact: dict[str, list[BankItem]] = defaultdict(list)
    for b in exam:
        if b.item.status == "operational":
            by_fact[b.item.fact].append(b)
    return [
        Finding(track, "fact-cap", _at(b), f"fact '{f}' has {len(group)} exam items (cap {cap})")
        for f, group in sorted(by_fact.items())
        if len(group) > cap
        for b in group
    ]


def level_findings(track: str, exam: list[BankItem]) -> list[Finding]:
    levels = Counter(b.item.level for b in exam if b.item.status == "operational")
    total = sum(levels.values()) or 1
    higher = sum(levels[x] for x in HIGHER) / total
    deep = (levels["analyse"] + levels["evaluate"]) / total
    lower = (levels["recall"] + levels["understand"]) / total
    where, out = f"question_banks/{track}/exam", []
    if track in ("WMP", "CWA") and higher < 0.85:
        out.append(Finding(track, "level-mix", where, f"{higher:.0%} apply or above (>= 85%)"))
    if track == "CWA" and deep < 0.5:
        out.append(Finding(track, "level-mix", where, f"{deep:.0%} analyse/evaluate (>= 50%)"))
    if track == "CAWM" and lower < 0.7:
        out.append(Finding(track, "level-mix", where, f"{lower:.0%} recall/understand (>= 70%)"))
    return out


def mr_mix_findings(track: str, exam: list[BankItem]) -> list[Finding]:
    counts = Counter(len(b.item.keys) for b in exam if b.item.type == "multiple")
    total = sum(counts.values())
    if total < 8 or min(counts[2], counts[3]) >= 0.25 * total:
        return []
    return [
        Finding(
            track,
            "mr-mix",
            f"question_banks/{track}/exam",
            f"{counts[2]} two-key and {counts[3]} three-key multiple-response items; "
            "each count needs at least a quarter",
        )
    ]


def cross_track_findings(bank: Bank, pairs) -> list[Finding]:
    """`pairs` finds near-duplicate stems in a list of items: (i, j, score) triples, i < j. The
    finding goes to the later track (CAWM, WMP, CWA), whose item should move up a level."""
    exam = live([b for b in bank.items if b.pool == "exam"])
    return [
        Finding(
            exam[j].item.track,
            "cross-track-duplicate",
            _at(exam[j]),
            f"stem {score:.2f} similar to {exam[i].item.id} ({exam[i].path})",
        )
        for i, j, score in pairs(exam)
        if exam[i].item.track != exam[j].item.track
    ]


def run(bank: Bank, policy: Policy, pairs) -> list[Finding]:
    facts = bank.facts or {}
    findings = [f for b in bank.items for f in item_findings(b, facts)]
    for track in sorted({b.item.track for b in bank.items}):
        for pool in DELIVERED:
            findings += cue_findings(
                track, pool, live(bank.of(track, pool)), policy.cue_factor, frozenset(policy.advice)
            )
        exam = live(bank.of(track, "exam"))
        findings += fact_cap_findings(track, exam, policy.fact_cap)
        findings += level_findings(track, exam) + mr_mix_findings(track, exam)
    return findings + cross_track_findings(bank, pairs)


def is_advice(finding: Finding, policy: Policy) -> bool:
    return finding.rule in policy.advice


def is_warning(finding: Finding, policy: Policy) -> bool:
    return finding.track in policy.warn_only.get(finding.rule, ())


def quality(bank: Bank) -> dict[str, dict]:
    """Per track, the exam pool's level mix, items per fact and cue rates (`wmi bank stats`)."""
    out: dict[str, dict] = {}
    for track in sorted({b.item.track for b in bank.items}):
        exam = [b.item for b in bank.of(track, "exam") if b.item.status == "operational"]
        per_fact = Counter(i.fact for i in exam)
        difficulty: dict[str, list[int]] = defaultdict(list)
        for i in exam:
            difficulty[i.level].append(i.difficulty)
        out[track] = {
            "items": len(exam),
            "levels": Counter(i.level for i in exam),
            "difficulty": {
                lv: sum(difficulty[lv]) / len(difficulty[lv])
                for lv in LEVEL_BANDS
                if difficulty[lv]
            },
            "facts": len(per_fact),
            "per_fact_max": max(per_fact.values(), default=0),
            "per_fact_top": per_fact.most_common(3),
            "per_fact_distribution": Counter(per_fact.values()),
            "mr_keys": Counter(len(i.keys) for i in exam if i.type == "multiple"),
            "cues": cues.measure(exam),
        }
    return out


def quality_lines(stats: dict[str, dict], *, fact_cap: int, factor: float) -> list[str]:
    """`quality` as text: one block per track, one figure per line."""
    lines = []
    for track, s in stats.items():
        total = s["items"] or 1
        levels = " ".join(f"{lv}:{s['levels'][lv]}" for lv in LEVEL_BANDS if s["levels"][lv])
        higher = sum(s["levels"][lv] for lv in HIGHER) / total
        deep = (s["levels"]["analyse"] + s["levels"]["evaluate"]) / total
        spread = " ".join(f"{k}:{v}" for k, v in sorted(s["per_fact_distribution"].items()))
        lines += [
            "",
            f"{track} · exam pool (operational): {s['items']} items",
            f"  levels          {levels} · recall/understand {1 - higher:.0%} · "
            f"apply or above {higher:.0%} · analyse/evaluate {deep:.0%}",
            "  difficulty      "
            + " ".join(f"{lv} {d:.1f}" for lv, d in s["difficulty"].items())
            + " (mean rating per level; bands "
            + " ".join(f"{lv} {lo}-{hi}" for lv, (lo, hi) in LEVEL_BANDS.items())
            + ")",
            f"  facts           {s['facts']} used · max {s['per_fact_max']} items per fact "
            f"(cap {fact_cap}) · top " + ", ".join(f"{f} {n}" for f, n in s["per_fact_top"]),
            f"  items per fact  {spread} (items:facts)",
            "  multi-response  "
            + " ".join(f"{k} keys:{v}" for k, v in sorted(s["mr_keys"].items())),
        ]
        for rate in s["cues"]:
            verdict = "over" if rate.exceeds(factor) else "ok"
            lines.append(
                f"  cue {rate.cue.name:<22}{rate.rate:4.0%} of {rate.items:>3} items · "
                f"chance {rate.chance:3.0%} · {verdict} (limit {factor}x)"
            )
    return lines
