"""The item authoring workbench: write, review and move items through their lifecycle.

Lifecycle (docs/AUTHORING.md): draft -> review -> approved -> pretest -> operational, and
retired. Every change of an item's words or tags is a new version (versions never change,
delivered or not); every move is an `item_transition` row and an audit entry. The rules:

- authors and administrators write, submit, review and comment; learners and panelists nothing;
- approving needs a reviewer who neither wrote the version under review nor submitted it;
- only administrators put items into (or take them out of) the pretest and operational pools,
  and each such move records a pool revision as a bank load does (pools.record_bank_revisions);
- an item in a pool (pretest, operational) or retired is not edited: an administrator returns it
  to draft first ("revise"), and the edit then makes a new version; the delivered one stays;
- an item the workbench touched is owned by the database: `wmi bank load` no longer replaces
  it with an older file version (service.load_banks reports it instead).
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.core import audit, db
from app.core.clock import to_db
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.itembank import authoring_checks as checking
from app.itembank import authoring_pool as pool_rules
from app.itembank import lookup, pools, service
from app.itembank.authoring_checks import Draft, FieldFinding
from app.itembank.models import (
    BankRevision,
    Item,
    ItemComment,
    ItemTransition,
    ItemVersion,
)

STATUSES = ("draft", "review", "approved", "pretest", "operational", "retired")
LIVE = ("pretest", "operational")  # statuses candidates can be given
EDITABLE = ("draft", "review", "approved")
WORKBENCH = "workbench"


@dataclass(frozen=True)
class Move:
    sources: tuple[str, ...]
    target: str
    label: str
    admin: bool = False  # only administrators (pool moves)
    needs_comment: bool = False


MOVES = {
    "submit": Move(("draft",), "review", "Submit for review"),
    "approve": Move(("review",), "approved", "Approve"),
    "reject": Move(("review",), "draft", "Return to the author", needs_comment=True),
    "pretest": Move(("approved",), "pretest", "Put into the pretest pool", admin=True),
    "operational": Move(
        ("approved", "pretest"), "operational", "Put into the operational pool", admin=True
    ),
    "retire": Move(("draft", "review", "approved", "pretest", "operational"), "retired", "Retire"),
    "revise": Move(
        ("pretest", "operational", "retired"), "draft", "Return to draft for revision", admin=True
    ),
}


class InvalidItem(InvalidInput):
    """The item breaks the bank's schema or rules; `findings` name the fields."""

    code = "invalid_item"

    def __init__(self, message: str, findings: list[FieldFinding]) -> None:
        super().__init__(message, extra={"findings": [f.as_dict() for f in findings]})
        self.findings = findings


@dataclass(frozen=True)
class Roots:
    """Where the rules' context lives (Settings.content_dir, Settings.banks_dir)."""

    content: Path
    banks: Path


def require_author(user: User) -> None:
    if user.role not in (Role.author, Role.admin):
        raise Forbidden("Only authors and administrators work on items.")


def is_admin(user: User) -> bool:
    return user.role == Role.admin


def get(session: Session, code: str) -> tuple[Item, ItemVersion]:
    item = session.exec(select(Item).where(Item.code == code.strip().upper())).first()
    if item is None or item.current_version_id is None:
        raise NotFound(f"There is no item {code.strip().upper()[:30]}.")
    version = session.get(ItemVersion, item.current_version_id)
    return item, version


delivered = lookup.delivered  # shown to a candidate (exam or practice)


def draft_of(item: Item, version: ItemVersion) -> Draft:
    """The current version as the author's form sees it."""
    return Draft(
        track=item.track,
        pool=item.pool if item.pool in checking.EDITABLE_POOLS else "exam",
        domain=item.domain,
        module=item.module,
        level=version.level,
        type=version.type,
        fact=version.fact or "",
        stem=version.stem,
        options=[checking.OptionIn(**o) for o in version.options],
        key=list(version.key),
        sources=list(version.sources),
        difficulty=version.difficulty,
    )


def findings(
    session: Session, item: Item, version: ItemVersion, roots: Roots
) -> list[FieldFinding]:
    """The current version's findings under today's rules (shown beside the fields)."""
    ctx = checking.context(roots.content, roots.banks)
    draft = draft_of(item, version)
    parsed, problems = checking.schema_findings(
        draft, code=item.code, version=version.version, facts=ctx.facts
    )
    if parsed is None:
        return problems
    return _rule_findings(session, parsed, pool=draft.pool, ctx=ctx, item_id=item.id)


def _rule_findings(session, parsed, *, pool: str, ctx, item_id) -> list[FieldFinding]:
    """The item's own rules, then the pool-wide ones that concern it (authoring_pool)."""
    return checking.rule_findings(
        session, parsed, pool=pool, ctx=ctx, item_id=item_id
    ) + pool_rules.pool_findings(session, parsed, pool=pool, ctx=ctx, item_id=item_id)


def _validated(session, draft: Draft, *, code: str, version: int, roots: Roots, item_id=None):
    ctx = checking.context(roots.content, roots.banks)
    parsed, problems = checking.schema_findings(draft, code=code, version=version, facts=ctx.facts)
    if parsed is None:
        raise InvalidItem("The item is not valid: see the findings beside the fields.", problems)
    return parsed, _rule_findings(session, parsed, pool=draft.pool, ctx=ctx, item_id=item_id)


def _next_code(session: Session, track: str, domain: str) -> str:
    prefix = f"{track}-{domain.upper()}-"
    codes = session.exec(select(Item.code).where(Item.code.startswith(prefix))).all()
    numbers = [int(c[len(prefix) :]) for c in codes if c[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def _version_row(item: Item, parsed, number: int, user: User, now, like=None) -> ItemVersion:
    """A new version from a validated item; parameters from `like` when the words and key did
    not change (a tag edit keeps calibrated parameters), provisional ones otherwise."""
    row = service.new_version(item, parsed, number, now, created_by=user.id)
    if like is not None and like.digest == row.digest:
        row.a, row.b, row.c, row.provisional = like.a, like.b, like.c, like.provisional
    else:
        row.provisional = True
    return row


def create(session: Session, *, user: User, draft: Draft, roots: Roots, now: datetime) -> Item:
    """A new draft item at version 1 (commits). Schema problems refuse it (InvalidItem);
    rule findings are kept for the page and block only its submission."""
    require_author(user)
    if draft.pool == "pretest" and not is_admin(user):
        draft = draft.model_copy(update={"pool": "exam"})
    code = _next_code(session, draft.track, draft.domain)
    parsed, _ = _validated(session, draft, code=code, version=1, roots=roots)
    item = Item(
        code=code,
        track=draft.track,
        pool=draft.pool,
        domain=parsed.domain,
        module=parsed.module,
        status="draft",
        owner=WORKBENCH,
    )
    session.add(item)
    try:
        session.flush()
    except IntegrityError as exc:
        db.rollback(session)
        raise Conflict(f"Item {code} was created meanwhile; save again.") from exc
    version = _version_row(item, parsed, 1, user, now)
    session.add(version)
    session.flush()
    item.current_version_id = version.id
    session.add(item)
    audit.record(
        session,
        action="itembank.item_created",
        at=now,
        actor_id=user.id,
        subject=f"item:{code}",
        data={"version": 1, "track": item.track},
    )
    db.commit(session)
    return item


def _same(item: Item, version: ItemVersion, parsed, pool: str) -> bool:
    return (
        version.digest == parsed.content_digest()
        and (version.level, version.fact, list(version.sources), version.difficulty)
        == (parsed.level, parsed.fact, list(parsed.sources), parsed.difficulty)
        and item.pool == pool
    )


def update_item(
    session: Session,
    *,
    user: User,
    code: str,
    draft: Draft,
    roots: Roots,
    now: datetime,
    base_version: int | None = None,
) -> tuple[Item, ItemVersion, bool]:
    """Save an edit as a new version (commits): (item, current version, whether one was
    made). An item under review or approved goes back to draft; one in a pool or retired is
    refused (Conflict) until an administrator revises it. base_version: the version the
    author edited; another save since then is a Conflict, not a silent overwrite."""
    require_author(user)
    item, current = get(session, code)
    if item.status not in EDITABLE:
        raise Conflict(
            f"{item.code} is {item.status}: its version {current.version} stays as it is. An "
            "administrator returns it to draft first; your edit then makes a new version."
        )
    if base_version is not None and base_version != current.version:
        raise Conflict(
            f"{item.code} changed since you opened it (now version {current.version}, you "
            f"edited version {base_version}). Open it again and redo your change."
        )
    if draft.track != item.track:
        raise InvalidItem(
            "An item keeps its track.",
            [
                FieldFinding(
                    "track",
                    "schema",
                    f"This item belongs to {item.track}; create a new item instead.",
                )
            ],
        )
    if draft.pool == "pretest" and item.pool != "pretest" and not is_admin(user):
        raise Forbidden("Only administrators assign items to the pretest pool.")
    parsed, _ = _validated(
        session, draft, code=item.code, version=current.version + 1, roots=roots, item_id=item.id
    )
    if _same(item, current, parsed, draft.pool):
        return item, current, False
    version = _version_row(item, parsed, current.version + 1, user, now, like=current)
    session.add(version)
    session.flush()
    before = item.status
    item.current_version_id, item.pool, item.owner = version.id, draft.pool, WORKBENCH
    item.domain, item.module, item.status = parsed.domain, parsed.module, "draft"
    session.add(item)
    if before != "draft":
        _transition_row(session, item, version.version, "edit", before, user, None, now)
    audit.record(
        session,
        action="itembank.item_edited",
        at=now,
        actor_id=user.id,
        subject=f"item:{item.code}",
        data={
            "version": version.version,
            "from_version": current.version,
            "status": [before, item.status],
        },
    )
    db.commit(session)
    return item, version, True


def _transition_row(session, item, number, action, before, user, comment, now) -> None:
    session.add(
        ItemTransition(
            item_id=item.id,
            version=number,
            action=action,
            from_status=before,
            to_status=item.status,
            pool=item.pool,
            actor_id=user.id,
            comment=comment,
            at=to_db(now),
        )
    )


def _authors_of_review(session: Session, item: Item, version: ItemVersion) -> set[int]:
    """Who may not approve: the writer of the version and whoever submitted it."""
    submitter = session.exec(
        select(ItemTransition.actor_id)
        .where(ItemTransition.item_id == item.id, ItemTransition.action == "submit")
        .order_by(ItemTransition.id.desc())
    ).first()
    return {u for u in (version.created_by, submitter) if u is not None}


def transition(
    session: Session,
    *,
    user: User,
    code: str,
    action: str,
    now: datetime,
    roots: Roots,
    comment: str | None = None,
    pool: str | None = None,
) -> Item:
    """Move an item (commits); every refusal says why and changes nothing."""
    require_author(user)
    move = MOVES.get(action)
    if move is None:
        raise InvalidInput(f"Unknown action '{action[:20]}': use one of {', '.join(MOVES)}.")
    item, version = get(session, code)
    before = item.status
    if before not in move.sources:
        raise Conflict(
            f"{item.code} is {before}; '{move.label}' needs it to be {' or '.join(move.sources)}."
        )
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > 4000:
        raise InvalidInput("Keep the comment under 4000 characters.")
    if move.needs_comment and comment is None:
        raise InvalidInput("Say what the author should change: a comment is required.")
    if (move.admin or before in LIVE) and not is_admin(user):
        raise Forbidden(f"Only administrators can {move.label.lower()} ({item.code} is {before}).")
    if action == "approve" and user.id in _authors_of_review(session, item, version):
        raise Forbidden("You wrote or submitted this version: another reviewer must approve it.")
    if action in ("submit", "approve"):
        blocking = [f for f in findings(session, item, version, roots) if f.blocking]
        if blocking:
            raise InvalidItem(f"{item.code} has {len(blocking)} problem(s) to fix first.", blocking)
    if action == "operational":
        target = pool or (item.pool if item.pool in ("exam", "practice") else "exam")
        if target not in ("exam", "practice"):
            raise InvalidInput("The operational pool is 'exam' or 'practice'.")
        item.pool = target
    elif action == "pretest":
        item.pool = "pretest"
    item.status, item.owner = move.target, WORKBENCH
    session.add(item)
    _transition_row(session, item, version.version, action, before, user, comment, now)
    session.flush()
    if before in LIVE or item.status in LIVE:
        _pools_changed(session, item, action, user, now)
    audit.record(
        session,
        action="itembank.item_transition",
        at=now,
        actor_id=user.id,
        subject=f"item:{item.code}",
        data={
            "action": action,
            "from": before,
            "to": item.status,
            "version": version.version,
            "pool": item.pool,
            "comment": comment,
        },
    )
    db.commit(session)
    return item


def _pools_changed(session: Session, item: Item, action: str, user: User, now) -> None:
    """The delivered set changed: the cached pool snapshots are read again (bank revision),
    and the exam and pretest pools get a new revision, derived and put in force as a bank
    load's is."""
    session.execute(
        update(BankRevision).where(BankRevision.id == 1).values(revision=BankRevision.revision + 1)
    )
    pools.record_bank_revisions(
        session, now=now, source=f"workbench: {item.code} {action}", actor_id=user.id
    )


def add_comment(
    session: Session, *, user: User, code: str, body: str, now: datetime
) -> ItemComment:
    require_author(user)
    body = body.strip()
    if not body:
        raise InvalidInput("Write a comment first.")
    if len(body) > 4000:
        raise InvalidInput("Keep the comment under 4000 characters.")
    item, version = get(session, code)
    row = ItemComment(
        item_id=item.id,
        version=version.version,
        author_id=user.id,
        body=body,
        created_at=to_db(now),
    )
    session.add(row)
    audit.record(
        session,
        action="itembank.item_comment",
        at=now,
        actor_id=user.id,
        subject=f"item:{item.code}",
        data={"version": version.version},
    )
    db.commit(session)
    return row


def allowed_moves(item: Item, user: User) -> list[tuple[str, Move]]:
    """The moves to offer this user on this item's page (the service still decides)."""
    return [
        (name, m)
        for name, m in MOVES.items()
        if item.status in m.sources and (is_admin(user) or not (m.admin or item.status in LIVE))
    ]
