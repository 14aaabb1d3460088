"""The workbench's reads: the filtered item list and an item's history with its diffs."""

import difflib
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_
from sqlmodel import Session, select

from app.accounts.models import User
from app.itembank import flags
from app.itembank.authoring import get
from app.itembank.models import Item, ItemComment, ItemTransition, ItemVersion

PER_PAGE = 25


class Filters(BaseModel):
    """The list's filters (query parameters of the page and the API); empty means any."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    q: str = Field(default="", max_length=200)
    track: str = Field(default="", max_length=8)
    pool: str = Field(default="", max_length=10)
    domain: str = Field(default="", max_length=8)
    module: str = Field(default="", max_length=8)
    status: str = Field(default="", max_length=12)
    level: str = Field(default="", max_length=12)
    type: str = Field(default="", max_length=10)
    fact: str = Field(default="", max_length=48)
    owner: str = Field(default="", max_length=10)
    flag: str = Field(default="", max_length=40)  # an item-analysis flag, or "any" (flags.py)
    page: int = Field(default=1, ge=1, le=100_000)


@dataclass(frozen=True)
class Page:
    rows: list[tuple[Item, ItemVersion]]
    total: int
    page: int
    pages: int


def filtered(filters: Filters, flagged: dict[str, tuple[str, ...]] | None = None):
    """The query of the items whose current version matches every filter given.
    flagged: the item-analysis flags by item code (flags.ItemFlags), which `flag` filters on."""
    query = select(Item, ItemVersion).join(ItemVersion, ItemVersion.id == Item.current_version_id)
    if filters.flag:
        query = query.where(Item.code.in_(flags.matching(flagged or {}, filters.flag)))  # type: ignore[attr-defined]
    for name in ("track", "pool", "domain", "module", "status", "owner"):
        value = getattr(filters, name)
        if value:
            query = query.where(
                getattr(Item, name) == (value.upper() if name == "track" else value)
            )
    for name in ("level", "type", "fact"):
        value = getattr(filters, name)
        if value:
            query = query.where(getattr(ItemVersion, name) == value)
    if filters.q:
        pattern = f"%{filters.q.lower()}%"
        query = query.where(
            or_(func.lower(Item.code).like(pattern), func.lower(ItemVersion.stem).like(pattern))
        )
    return query


def matching(
    session: Session, filters: Filters, flagged: dict[str, tuple[str, ...]] | None = None
) -> list[tuple[Item, ItemVersion]]:
    """Every item the filters match (all pages), by code: what a filtered export holds."""
    return list(session.exec(filtered(filters, flagged).order_by(Item.code)).all())


def search(
    session: Session,
    filters: Filters,
    per_page: int = PER_PAGE,
    flagged: dict[str, tuple[str, ...]] | None = None,
) -> Page:
    """One page of the items `filtered` finds, by code."""
    query = filtered(filters, flagged)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    pages = max(1, -(-total // per_page))
    page = min(filters.page, pages)
    rows = session.exec(query.order_by(Item.code).offset((page - 1) * per_page).limit(per_page))
    return Page(rows=list(rows.all()), total=total, page=page, pages=pages)


def facets(session: Session) -> dict[str, list[str]]:
    """The values each filter can take, for the filter form's choices."""
    return {
        "track": sorted(session.exec(select(Item.track).distinct()).all()),
        "pool": sorted(session.exec(select(Item.pool).distinct()).all()),
        "domain": sorted(session.exec(select(Item.domain).distinct()).all()),
        "module": sorted(session.exec(select(Item.module).distinct()).all()),
        "status": ["draft", "review", "approved", "pretest", "operational", "retired"],
        "level": ["recall", "understand", "apply", "analyse", "evaluate"],
        "type": ["single", "multiple", "ordering"],
    }


@dataclass(frozen=True)
class Change:
    """One field that differs between a version and the one before it."""

    field: str
    before: str
    after: str
    words: list[tuple[str, str]]  # (op, text): op is "same", "del" or "ins"


@dataclass
class VersionEntry:
    version: ItemVersion
    author: str  # "question_banks/ file" for versions a load made
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    at: datetime
    who: str
    what: str
    version: int
    comment: str | None


@dataclass
class History:
    item: Item
    versions: list[VersionEntry]  # newest first
    events: list[Event]  # transitions and comments, newest first


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.split(), after.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("del", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("ins", " ".join(b[j1:j2])))
    return out


def _fields(v: ItemVersion) -> dict[str, str]:
    out = {
        "type": v.type,
        "level": v.level,
        "fact": v.fact or "",
        "stem": v.stem,
        "key": ", ".join(v.key),
        "sources": ", ".join(v.sources),
        "difficulty": str(v.difficulty),
    }
    for i, o in enumerate(v.options):
        letter = "ABCDE"[i]
        out[f"option {letter}"] = o["text"]
        out[f"rationale {letter}"] = o["rationale"]
    return out


def changes(before: ItemVersion | None, after: ItemVersion) -> list[Change]:
    new = _fields(after)
    old = _fields(before) if before else {}
    names = list(new) + [n for n in old if n not in new]
    return [
        Change(n, old.get(n, ""), new.get(n, ""), word_diff(old.get(n, ""), new.get(n, "")))
        for n in names
        if old.get(n, "") != new.get(n, "")
    ]


def history(session: Session, code: str) -> History:
    item, _ = get(session, code)
    versions = list(
        session.exec(
            select(ItemVersion).where(ItemVersion.item_id == item.id).order_by(ItemVersion.version)
        ).all()
    )
    transitions = session.exec(
        select(ItemTransition).where(ItemTransition.item_id == item.id)
    ).all()
    comments = session.exec(select(ItemComment).where(ItemComment.item_id == item.id)).all()
    ids = {v.created_by for v in versions} | {t.actor_id for t in transitions}
    ids |= {c.author_id for c in comments}
    names = dict(session.exec(select(User.id, User.name).where(User.id.in_(ids - {None}))).all())
    entries, previous = [], None
    for v in versions:
        author = names.get(v.created_by, "?") if v.created_by else "question_banks/ file"
        entries.append(VersionEntry(v, author, changes(previous, v)))
        previous = v
    events = [
        Event(
            t.at,
            names.get(t.actor_id, "?"),
            f"{t.action}: {t.from_status} → {t.to_status}"
            + (f" ({t.pool} pool)" if t.to_status in ("pretest", "operational") else ""),
            t.version,
            t.comment,
        )
        for t in transitions
    ] + [
        Event(c.created_at, names.get(c.author_id, "?"), "comment", c.version, c.body)
        for c in comments
    ]
    events.sort(key=lambda e: e.at)  # stable: at the same moment, in the order recorded
    return History(item, list(reversed(entries)), list(reversed(events)))


def enemies(session: Session, item: Item, version: ItemVersion) -> list[str]:
    """The item's enemy set: the track's other current, not retired items of the same fact (an
    attempt gets at most one item of a fact)."""
    if not version.fact:
        return []
    return list(
        session.exec(
            select(Item.code)
            .join(ItemVersion, ItemVersion.id == Item.current_version_id)
            .where(Item.track == item.track, Item.id != item.id, Item.status != "retired",
                   ItemVersion.fact == version.fact)
            .order_by(Item.code)
        ).all()
    )  # fmt: skip
