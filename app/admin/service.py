"""Read models for the administrator's console."""

import json

from sqlmodel import Session

from app.accounts import service as accounts
from app.core import audit, mail
from app.core.config import Settings


def audit_page(session: Session, *, action: str = "", limit: int = 100, offset: int = 0):
    """Entries for display, with their data decoded, and the user names of the actors."""
    entries = audit.recent(session, limit=limit, offset=offset, action=action)
    names = accounts.user_names(session, {e.actor_id for e in entries if e.actor_id})
    rows = []
    for e in entries:
        rows.append(
            {
                "seq": e.seq,
                "at": e.at,
                "actor_id": e.actor_id,
                "actor": names.get(e.actor_id, f"user {e.actor_id}") if e.actor_id else "system",
                "action": e.action,
                "subject": e.subject,
                "data": json.loads(e.data or "{}"),
                "hash": e.hash,
            }
        )
    return rows


def verify_audit(session: Session, settings: Settings) -> audit.ChainReport:
    """The chain from its latest checkpoint on (the whole walk is `wmi audit verify`'s)."""
    return audit.verify_recent(session, settings)


def outbox(session: Session, *, limit: int = 100):
    return mail.list_messages(session, limit=limit)


def users(session: Session, *, q: str = "", limit: int = 50, offset: int = 0):
    return accounts.search_users(session, q=q, limit=limit, offset=offset)


def user_email(session: Session, user_id: int) -> str:
    return accounts.get_user(session, user_id).email
