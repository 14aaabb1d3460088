"""Credential tables: certificates, the signing keys, the revocation status list, CEU activities,
reminders."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class CertificateStatus(StrEnum):
    pending = "pending"  # a pass awaiting an administrator's approval
    active = "active"  # issued; expired once expires_at has passed
    revoked = "revoked"
    superseded = "superseded"  # replaced by a renewal


class Certificate(SQLModel, table=True):
    """One certificate and, once issued, its signed Open Badges 3.0 credential."""

    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("status_list_id", "status_index"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True, index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    track: str = Field(max_length=8, index=True)
    # the exam attempt it came from; a plain integer so credentials need not import exams models
    attempt_id: int | None = Field(default=None, unique=True)
    route: str = Field(default="exam", max_length=20)  # exam | ceu | reexam
    status: str = Field(default=CertificateStatus.pending.value, max_length=12, index=True)
    holder_name: str = Field(max_length=200)
    earned_at: datetime
    issued_at: datetime | None = None
    expires_at: datetime | None = Field(default=None, index=True)
    status_list_id: int | None = Field(default=None, foreign_key="status_list.id")
    status_index: int | None = None
    verification_method: str = Field(default="", max_length=300)
    credential: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    issued_by: int | None = Field(default=None, foreign_key="user_account.id")
    revoked_at: datetime | None = None
    revoked_by: int | None = Field(default=None, foreign_key="user_account.id")
    revocation_reason: str = Field(default="", max_length=500)  # public: verifiers read it
    # For administrators only (never on the verification page, the credential or the mail).
    revocation_note: str = Field(
        default="", max_length=1000, sa_column_kwargs={"server_default": ""}
    )
    superseded_at: datetime | None = None
    superseded_by_id: int | None = Field(default=None, foreign_key="certificate.id")
    created_at: datetime


class StatusList(SQLModel, table=True):
    """A Bitstring Status List (revocation) and its current signed credential."""

    __tablename__ = "status_list"

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(default="revocation", max_length=20)
    size: int
    bits: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    credential: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime


class SigningKey(SQLModel, table=True):
    """One of the issuer's Ed25519 signing keys (app/credentials/did.py), shared by every host.

    `id` is the key's number (1, 2, ...; the newest signs): a host that rotates takes the next
    one, and the primary key settles two hosts racing for it. The private key is sealed with the
    key-encryption key (app/core/sealing.py), bound to the public key it belongs with. Rows are
    only ever added (a re-wrap rewrites `sealed_private_key`, never the key), so the number of
    rows tells a host whether its cached keys are current."""

    __tablename__ = "signing_key"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    public_key: str = Field(max_length=100, unique=True)  # Multikey publicKeyMultibase, z6Mk...
    sealed_private_key: str = Field(max_length=300)
    origin: str = Field(default="generated", max_length=100)  # or "imported key-0001.pem"
    created_at: datetime


class CeuActivity(SQLModel, table=True):
    """A continuing-education activity a certificant logged towards renewal."""

    __tablename__ = "ceu_activity"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    track: str = Field(max_length=8, index=True)
    # the certificate whose renewal cycle the activity counts towards
    certificate_id: int = Field(foreign_key="certificate.id", index=True)
    provider: str = Field(max_length=200)
    activity_date: date
    units: float
    category: str = Field(max_length=40)
    note: str = Field(default="", max_length=1000)
    created_at: datetime


class CertificateReminder(SQLModel, table=True):
    """An expiry reminder queued for a certificate; the unique pair keeps each to one."""

    __tablename__ = "certificate_reminder"
    __table_args__ = (UniqueConstraint("certificate_id", "days_before"),)

    id: int | None = Field(default=None, primary_key=True)
    certificate_id: int = Field(foreign_key="certificate.id", index=True)
    days_before: int
    sent_at: datetime
