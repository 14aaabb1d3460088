"""One authored item against the bank's schema and the `wmi bank check` rules, per field.

The workbench checks an item as it would be delivered from its pool (an exam or practice item
as operational, a pretest item as pretest), with the same code as `wmi bank check`
(files.ItemFile, checks.check_item, rules.item_findings, the near-duplicate measure), and names
the field each finding concerns so that the page can show it beside that field.
"""

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, select

from app.courses import files as content_files
from app.itembank import checks, files, rules
from app.itembank.models import Item, ItemVersion
from app.web.messages import plain

TRACKS = ("CAWM", "WMP", "CWA")
EDITABLE_POOLS = ("exam", "practice", "pretest")
FIELDS = (
    "track",
    "pool",
    "domain",
    "module",
    "level",
    "type",
    "fact",
    "stem",
    "options",
    "key",
    "sources",
    "difficulty",
)
RULE_FIELDS = {
    "difficulty-level": "difficulty",
    "mr-keys": "key",
    "d11-exclusion": "fact",
    "source-attribution": "stem",
    "ordinal-trivia": "stem",
    "parallel-form": "options",
}
ITEM_PROBLEM_FIELDS = {
    "provisional-rule": "difficulty",
    "status": "pool",
    "sources": "sources",
    "domain": "domain",
    "module": "module",
    "id": "domain",
    "options": "options",
}


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(default="", max_length=600)
    rationale: str = Field(default="", max_length=1200)


class Draft(BaseModel):
    """What an author writes: every field of a bank item but its id, version and parameters
    (the code is given once, the version counts edits, provisional parameters follow the
    difficulty rating and type as in the banks)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    track: Literal["CAWM", "WMP", "CWA"]
    pool: Literal["exam", "practice", "pretest"] = "exam"
    domain: str = Field(max_length=8)
    module: str = Field(max_length=8)
    level: str = Field(max_length=12)
    type: str = Field(max_length=10)
    fact: str = Field(max_length=48)
    stem: str = Field(max_length=2000)
    options: list[OptionIn] = Field(max_length=5)
    key: list[str] = Field(max_length=5)
    sources: list[str] = Field(max_length=12)
    difficulty: int = Field(ge=1, le=5)


@dataclass(frozen=True)
class FieldFinding:
    """A problem with one field: `blocking` ones keep an item from being saved (schema) or
    submitted (rules); the others are the warnings checks.yaml allows for the track."""

    field: str
    rule: str
    message: str
    blocking: bool = True

    def as_dict(self) -> dict:
        return {
            "field": self.field,
            "rule": self.rule,
            "message": self.message,
            "blocking": self.blocking,
        }


def delivered_status(pool: str) -> str:
    return "pretest" if pool == "pretest" else "operational"


def provisional(difficulty: int, item_type: str) -> dict:
    return {
        "a": 1.0,
        "b": files.PROVISIONAL_B.get(difficulty, 0.0),
        "c": files.PROVISIONAL_C.get(item_type, 0.2),
        "provisional": True,
    }


def as_file_dict(draft: Draft, *, code: str, version: int) -> dict:
    """The draft in the bank files' shape (files.ItemFile)."""
    key: str | list[str] = draft.key
    if draft.type == "single" and len(draft.key) == 1:
        key = draft.key[0]
    return {
        "id": code,
        "version": version,
        "domain": draft.domain,
        "module": draft.module,
        "fact": draft.fact,
        "level": draft.level,
        "type": draft.type,
        "stem": draft.stem,
        "options": [o.model_dump() for o in draft.options],
        "key": key,
        "sources": list(draft.sources),
        "difficulty": draft.difficulty,
        "irt": provisional(draft.difficulty, draft.type),
        "status": delivered_status(draft.pool),
    }


def _schema_field(loc: tuple, message: str) -> str:
    if not loc:
        words = message.lower()
        return "options" if "option" in words and "key" not in words else "key"
    head = str(loc[0])
    if head == "id":
        return "domain"
    if head == "irt":
        return "difficulty"
    if head == "options" and len(loc) > 1:
        return ".".join(str(p) for p in loc[:3])
    return head


def schema_findings(
    draft: Draft, *, code: str, version: int, facts: dict | None
) -> tuple[files.ItemFile | None, list[FieldFinding]]:
    """The draft as a bank item, or None and the schema's findings per field."""
    try:
        item = files.ItemFile.model_validate(
            as_file_dict(draft, code=code, version=version), context={"facts": facts}
        )
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            message = plain(err)
            out.append(FieldFinding(_schema_field(tuple(err["loc"]), message), "schema", message))
        return None, out
    return item, []


@dataclass(frozen=True)
class Context:
    """What the rules read besides the item: sources, blueprint, modules, facts, settings."""

    sources: frozenset[str]
    domains: dict[str, set[str]]
    modules: dict[str, dict[str, set[str]]]  # track -> domain -> module codes
    facts: dict[str, files.Fact]
    policy: rules.Policy


_CONTEXTS: dict[tuple[str, str], Context] = {}


def context(content_root: Path, banks_root: Path) -> Context:
    """Read once per process and folder pair (the files change with a deployment)."""
    key = (str(content_root), str(banks_root))
    hit = _CONTEXTS.get(key)
    if hit is not None:
        return hit
    tree = content_files.read_content(content_root)
    domains: dict[str, set[str]] = {}
    modules: dict[str, dict[str, set[str]]] = {}
    for code, track in tree.tracks.items():
        domains[code] = {d.code for d in track.meta.blueprint}
        by_domain: dict[str, set[str]] = defaultdict(set)
        for m in track.modules:
            for d in m.meta.domains:
                by_domain[d].add(m.meta.code)
        modules[code] = dict(by_domain)
    errors: list[str] = []
    facts = files.read_facts(banks_root, errors) or {}
    policy = rules.read_policy(banks_root, errors)
    ctx = Context(frozenset(tree.sources), domains, modules, facts, policy)
    _CONTEXTS[key] = ctx
    return ctx


def rule_findings(
    session: Session, item: files.ItemFile, *, pool: str, ctx: Context, item_id: int | None
) -> list[FieldFinding]:
    """`wmi bank check`'s per-item rules and near-duplicates within the track, per field."""
    b = files.BankItem(pool=pool, path=Path("workbench"), item=item)
    prefix = f"{b.path}: {item.id}: "
    out = []
    track_domains = ctx.domains.get(item.track, set())
    for text in checks.check_item(
        b, {s: True for s in ctx.sources}, ctx.modules.get(item.track, {}), track_domains
    ):
        problem = text.removeprefix(prefix)
        rule = problem.split(":", 1)[0]
        out.append(
            FieldFinding(ITEM_PROBLEM_FIELDS.get(rule, "stem"), rule, problem.split(": ", 1)[-1])
        )
    for f in rules.item_findings(b, ctx.facts):
        out.append(
            FieldFinding(
                RULE_FIELDS.get(f.rule, "stem"),
                f.rule,
                f.message,
                blocking=not rules.is_warning(f, ctx.policy),
            )
        )
    out += near_duplicates(session, item, item_id=item_id)
    return out


def near_duplicates(
    session: Session, item: files.ItemFile, *, item_id: int | None
) -> list[FieldFinding]:
    """Stems of the track's other live items at least checks.NEAR_DUPLICATE similar."""
    rows = session.exec(
        select(Item.id, Item.code, ItemVersion.stem)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.track == item.track, Item.status != "retired")
    ).all()
    mine = checks.shingles(item.stem)
    out = []
    for other_id, code, stem in rows:
        if other_id == item_id:
            continue
        score = checks.jaccard(mine, checks.shingles(stem))
        if score >= checks.NEAR_DUPLICATE:
            out.append(
                FieldFinding("stem", "near-duplicate", f"{score:.2f} similar to {code}'s stem")
            )
    return out


def by_field(findings: list[FieldFinding]) -> dict[str, list[FieldFinding]]:
    """Findings grouped by the field they concern (an option's own fields under `options.N.x`)."""
    grouped: dict[str, list[FieldFinding]] = defaultdict(list)
    for f in findings:
        grouped[f.field].append(f)
    return dict(grouped)
