"""Withdrawing a faulty item from the exam pools.

The one place an item leaves the pools between bank loads: new attempts never get it, attempts
already running keep their frozen pool. (When pool revisions arrive, a withdrawal becomes a new
revision without the item; callers keep calling withdraw_item.)
"""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from app.core import audit
from app.core.clock import to_db
from app.core.errors import Conflict, NotFound
from app.itembank.models import BankRevision, Item, ItemVersion, ItemWithdrawal


def item_by_code(session: Session, code: str) -> Item:
    item = session.exec(select(Item).where(Item.code == code.strip().upper())).first()
    if item is None:
        raise NotFound(f"There is no item {code.strip().upper()}.")
    return item


def withdraw_item(
    session: Session, *, code: str, reason: str, actor_id: int, now: datetime
) -> tuple[Item, list[int]]:
    """Take the item out of the pools (helper: flushes and audits, the caller commits); the
    item and the ids of all its versions."""
    item = item_by_code(session, code)
    if session.exec(select(ItemWithdrawal.id).where(ItemWithdrawal.item_id == item.id)).first():
        raise Conflict(f"Item {item.code} has already been withdrawn.")
    session.add(
        ItemWithdrawal(
            item_id=item.id, reason=reason, withdrawn_by=actor_id, withdrawn_at=to_db(now)
        )
    )
    # the pool snapshots cached per process are read again when the revision moves
    session.execute(
        update(BankRevision).where(BankRevision.id == 1).values(revision=BankRevision.revision + 1)
    )
    audit.record(
        session,
        action="itembank.item_withdrawn",
        at=now,
        actor_id=actor_id,
        subject=f"item:{item.code}",
        data={"reason": reason},
    )
    return item, versions_of(session, item.id)


def versions_of(session: Session, item_id: int) -> list[int]:
    return list(session.exec(select(ItemVersion.id).where(ItemVersion.item_id == item_id)))


def withdrawn_ids() -> object:
    """A subquery of the withdrawn items' ids (for the pool snapshot)."""
    return select(ItemWithdrawal.item_id)
