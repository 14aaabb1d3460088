"""Tables owned by the core: the audit log and the mail outbox."""

from datetime import datetime

from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    """One append-only, hash-chained record of something that happened."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    at: datetime
    actor_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=80, index=True)
    subject: str = Field(default="", max_length=200)
    data: str = Field(default="{}")
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The single row that serialises appends and remembers the chain's tip."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    last_hash: str = Field(default="0" * 64, max_length=64)


class OutboxMessage(SQLModel, table=True):
    """An e-mail waiting to be sent (or, in development, printed and kept for administrators)."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    to_address: str = Field(max_length=320, index=True)
    subject: str = Field(max_length=200)
    body: str
    kind: str = Field(default="general", max_length=40)
    status: str = Field(default="pending", max_length=20, index=True)
    sent_at: datetime | None = None
    error: str = Field(default="", max_length=500)
