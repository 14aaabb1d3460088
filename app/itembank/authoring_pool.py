"""`wmi bank check`'s rules across a pool, run on save for the one item saved (issue 20).

The whole-bank check looks across items: cue rates per track and pool (rules.cue_findings, with
the multiple-response key positions), key-position balance (checks.check_balance), the fact cap
(rules.fact_cap_findings: the exam pool's share of an enemy set, the items of one fact, of which
an attempt gets at most one), the level and multiple-response mixes of an exam pool, and
near-duplicate stems across tracks (rules.cross_track_findings). The workbench runs those same
functions on the pool the item is written for as the database holds it (the track's items of
that pool that candidates can be given: pretest or operational), with the saved item in it as it
would be delivered, and keeps the findings that concern the saved item:

- a finding about one item: the ones about the saved item;
- a finding about the whole pool (a key letter's share, a mix): the ones the pool without the
  saved item does not have (the saved item tips it).

One pool of one track is read (a few hundred rows), once per save or view: no page waits on the
whole bank.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from app.core import db
from app.core.lru import LRU
from app.itembank import checks, rules
from app.itembank.authoring_checks import Context, FieldFinding
from app.itembank.checks import shingles
from app.itembank.files import BankItem, ItemFile
from app.itembank.models import BankRevision, Item, ItemVersion

SAVED = Path("workbench")  # where the saved item "lives" in the findings' `where`
DATABASE = Path("database")
LIVE = ("pretest", "operational")
NUMBER = re.compile(r"\d+(\.\d+)?")
FIELDS = {
    "mr-keyed-longest": "options",
    "mr-keyed-shortest": "options",
    "longest-is-key": "options",
    "shortest-is-key": "options",
    "odd-one-out": "options",
    "odd-opening": "options",
    "clang": "options",
    "echo": "options",
    "ordering-first-listed": "key",
    "ordering-as-listed": "key",
    "mr-key-position": "key",
    "key-position": "key",
    "key-longest": "options",
    "key-shortest": "options",
    "fact-cap": "fact",
    "level-mix": "level",
    "mr-mix": "key",
    "cross-track-duplicate": "stem",
}


def _as_file(item: Item, v: ItemVersion) -> ItemFile:
    """A stored version as the rules read it."""
    key: str | list[str] = v.key[0] if v.type == "single" and len(v.key) == 1 else list(v.key)
    return ItemFile.model_validate({
        "id": item.code, "version": v.version, "domain": item.domain, "module": item.module,
        "fact": v.fact or "none.none", "level": v.level, "type": v.type, "stem": v.stem,
        "options": v.options, "key": key, "sources": v.sources, "difficulty": v.difficulty,
        "irt": {"a": v.a, "b": v.b, "c": v.c, "provisional": v.provisional},
        "status": item.status,
    })  # fmt: skip


@dataclass(frozen=True)
class Stored:
    """One deliverable item of a pool as the rules read it, with its stem's shingles."""

    item_id: int
    bank_item: BankItem
    shingles: frozenset


_POOLS: LRU[tuple[str, int, tuple[str, ...], str], list[Stored]] = LRU(32)
_REVISION = sa_select(BankRevision.__table__.c.revision).where(BankRevision.__table__.c.id == 1)


def stored_pool(session: Session, *, tracks: tuple[str, ...], pool: str) -> list[Stored]:
    """The deliverable items of these tracks' pool, read once per bank revision (every change
    of what candidates can be given bumps it: a load, a pool move, a withdrawal)."""
    revision = session.connection().execute(_REVISION).scalar() or 0
    key = (db.cache_scope(session), revision, tracks, pool)
    hit = _POOLS.get(key)
    if hit is not None:
        return hit
    rows = session.exec(
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.track.in_(tracks), Item.pool == pool, Item.status.in_(LIVE))  # type: ignore[attr-defined]
        .order_by(Item.code)
    ).all()  # fmt: skip
    out = [
        Stored(int(item.id or 0), BankItem(pool, DATABASE, _as_file(item, v)), shingles(v.stem))
        for item, v in rows
    ]
    return _POOLS.put(key, out)


def pool_items(session: Session, *, tracks: tuple[str, ...], pool: str, item_id: int | None):
    """The pool without the saved item's stored version."""
    return [s for s in stored_pool(session, tracks=tracks, pool=pool) if s.item_id != item_id]


def _pool_rules(track: str, pool: str, items: list[BankItem], policy: rules.Policy) -> list:
    """Every cross-item rule of one track's pool: rules.Finding and checks' problem lines."""
    found: list = []
    if pool in rules.DELIVERED:
        advice = frozenset(policy.advice)
        found += rules.cue_findings(track, pool, items, policy.cue_factor, advice)
    if pool == "exam":
        found += rules.fact_cap_findings(track, items, policy.fact_cap)
        found += rules.level_findings(track, items) + rules.mr_mix_findings(track, items)
    return found + checks.check_balance(track, pool, items)


def _shape(message: str) -> str:
    """A pool finding without its figures: "A is the key of 40% ..." and "... of 50% ..." are
    the same finding (letter A over its share), one the pool had before the saved item."""
    return NUMBER.sub("#", message)


def _rule_of(finding) -> tuple[str, str, str]:
    """(rule, where, message) of a rules.Finding or a checks problem line."""
    if isinstance(finding, rules.Finding):
        return finding.rule, finding.where, finding.message
    where, rule, message = str(finding).split(": ", 2)
    return rule, where, message


def pool_findings(
    session: Session, item: ItemFile, *, pool: str, ctx: Context, item_id: int | None
) -> list[FieldFinding]:
    """The cross-item rules' findings that concern the saved item (see the module docstring)."""
    status = "pretest" if pool == "pretest" else "operational"
    saved = BankItem(pool=pool, path=SAVED, item=item.model_copy(update={"status": status}))
    others = [s.bank_item for s in pool_items(session, tracks=(item.track,), pool=pool,
                                              item_id=item_id)]  # fmt: skip
    mine = f"{SAVED}: {item.id}"
    found = [_rule_of(f) for f in _pool_rules(item.track, pool, [*others, saved], ctx.policy)]
    before: set[tuple[str, str, str]] | None = None
    out = []
    for rule, where, message in found:
        if where != mine:
            if where.startswith(f"{DATABASE}:"):
                continue  # about another item
            if before is None:
                found_before = _pool_rules(item.track, pool, others, ctx.policy)
                before = {(r, w, _shape(m)) for r, w, m in map(_rule_of, found_before)}
            if (rule, where, _shape(message)) in before:
                continue  # the pool has it without the saved item
            message = f"the {item.track} {pool} pool with this item: {message}"
        out.append(_finding(item.track, rule, message, ctx.policy))
    if pool == "exam":
        out += _cross_track(session, saved, item_id, ctx.policy)
    return out


def _finding(track: str, rule: str, message: str, policy: rules.Policy) -> FieldFinding:
    f = rules.Finding(track, rule, "", message)
    return FieldFinding(
        FIELDS.get(rule, "stem"),
        rule,
        message,
        blocking=not (rules.is_warning(f, policy) or rules.is_advice(f, policy)),
    )


def _cross_track(session: Session, saved: BankItem, item_id, policy) -> list[FieldFinding]:
    """Near-duplicate stems in the other tracks' exam pools (rules.cross_track_findings gives
    such a pair to the later track's item: this one, or the other because of this one)."""
    others = tuple(t for t in ("CAWM", "WMP", "CWA") if t != saved.item.track)
    mine = shingles(saved.item.stem)
    out = []
    for stored in pool_items(session, tracks=others, pool="exam", item_id=item_id):
        b = stored.bank_item
        score = checks.jaccard(mine, stored.shingles)
        if score >= checks.NEAR_DUPLICATE:
            message = f"stem {score:.2f} similar to {b.item.id} ({b.item.track}'s exam pool)"
            out.append(_finding(saved.item.track, "cross-track-duplicate", message, policy))
    return out
