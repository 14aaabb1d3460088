"""Tables owned by the core: the audit log, the mail outbox and background jobs."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
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
    # a reset or invitation link, sealed with a key derived from WMI_SECRET_KEY, erased once
    # the message is sent; the body holds mail.WITHHELD in its place (issue 15, F-06)
    sealed: str | None = None


class Job(SQLModel, table=True):
    """A unit of background work (app.core.jobs): enqueued in the caller's transaction, run at
    least once by whichever runner claims it, retried with backoff, dead after max_tries."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "status", "run_after"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=80, index=True)
    key: str | None = Field(default=None, max_length=200, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="queued", max_length=20)
    run_after: datetime
    tries: int = 0
    max_tries: int = 5
    lease_token: str | None = Field(default=None, max_length=32)
    leased_until: datetime | None = None
    owner: str = Field(default="", max_length=120)
    cancel_requested: bool = False
    progress: float = 0.0
    progress_note: str = Field(default="", max_length=200)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    last_error: str = Field(default="", max_length=2000)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class WebhookEndpoint(SQLModel, table=True):
    """A receiver of signed webhooks (app.core.webhooks), registered by an administrator.

    The secret signs every delivery (Standard Webhooks, HMAC-SHA256); after a rotation the
    previous one also signs until previous_until, so a receiver can switch without a gap. Both
    are stored sealed with the key-encryption key (app/core/sealing.py), never in clear."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=200)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sealed_secret: str = Field(max_length=300)
    sealed_previous_secret: str | None = Field(default=None, max_length=300)
    previous_until: datetime | None = None
    active: bool = True
    created_at: datetime
    created_by: int | None = None
