"""Read models for the administrator's console."""

import json

from sqlmodel import Session

from app.accounts import service as accounts
from app.core import audit, mail


def audit_page(session: Session, *, action: str = "", limit: int = 100, offset: int = 0):
    """Entries for display, with their data decoded, and the user names of the actors."""
    entries = audit.recent(session, limit=limit, offset=offset, action=action)
    rows = []
    for e in entries:
        rows.append(
            {
                "seq": e.seq,
                "at": e.at,
                "actor_id": e.actor_id,
                "action": e.action,
                "subject": e.subject,
                "data": json.loads(e.data or "{}"),
                "hash": e.hash,
            }
        )
    return rows


def verify_audit(session: Session) -> audit.ChainReport:
    return audit.verify(session)


def outbox(session: Session, *, limit: int = 100):
    return mail.list_messages(session, limit=limit)


def users(session: Session, *, q: str = "", limit: int = 50, offset: int = 0):
    return accounts.search_users(session, q=q, limit=limit, offset=offset)
