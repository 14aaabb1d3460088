"""Account tables."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class Role(StrEnum):
    learner = "learner"
    author = "author"
    panelist = "panelist"  # rates items in standard-setting studies
    admin = "admin"


class UserBase(SQLModel):
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    role: str = Field(default=Role.learner.value, max_length=20)
    is_active: bool = True


class User(UserBase, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=200)
    session_version: int = 1
    created_at: datetime
    # failed sign-ins before this moment no longer count (set by a successful password reset)
    signin_cleared_at: datetime | None = None
    # An IANA zone name ("Europe/Paris"): dates and times are stored in UTC and shown in it.
    time_zone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    # False from a sign-up until its e-mail link is followed: such an account cannot sign in.
    # Accounts made otherwise (invitations, the CLI, before sign-up confirmed) are confirmed.
    confirmed: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class UserSession(SQLModel, table=True):
    """A signed-in browser: the session cookie carries a random id whose digest is kept here,
    and the cookie signs its holder in only while this row is not ended (sign-out ends it)."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    ended_at: datetime | None = None


class LinkPurpose(StrEnum):
    reset = "reset"  # choose a password (a reset, an invitation, an attempted sign-up)
    confirm = "confirm"  # confirm a sign-up's e-mail address


class PasswordReset(SQLModel, table=True):
    """A mailed single-use link (only its token's digest): to choose a password, or to confirm
    a sign-up (purpose)."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    purpose: str = Field(
        default=LinkPurpose.reset.value, max_length=20, sa_column_kwargs={"server_default": "reset"}
    )


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt. Recorded (as a failure) before the password is checked, so that
    concurrent attempts count each other; then marked a success, or refused by the throttle
    (a refused attempt checked no password and counts for nothing)."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, index=True)
    ip: str = Field(default="", max_length=64, index=True)
    device: str = Field(default="", max_length=64)  # digest of a known-device cookie's id
    at: datetime = Field(index=True)
    success: bool = False
    refused: bool = False


class MailRequest(SQLModel, table=True):
    """A request that mails a link (a sign-up or a password reset), kept for an hour to limit
    them per e-mail address and per client address, whether or not an account exists."""

    __tablename__ = "mail_request"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    email: str = Field(max_length=320, index=True)
    ip: str = Field(default="", max_length=64, index=True)
    at: datetime = Field(index=True)


class OidcLink(SQLModel, table=True):
    """An account's identity at an OpenID Provider: the provider's issuer and the subject it
    names the person by (never the e-mail address, which can change hands)."""

    __tablename__ = "oidc_link"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    provider: str = Field(max_length=40)  # the configured name when it was linked
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    email: str = Field(max_length=320)  # what the provider said when it was linked
    created_at: datetime
    last_signin_at: datetime | None = None


class OidcFlow(SQLModel, table=True):
    """One sign-in at a provider, from the button to the callback (only the state's digest):
    used once, within settings.oidc_flow_seconds. When the provider's verified address is
    that of an existing account, the identity waits here for the person to confirm the link."""

    __tablename__ = "oidc_flow"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True)
    provider: str = Field(max_length=40)
    nonce: str = Field(max_length=100)
    code_verifier: str = Field(max_length=200)
    next_url: str = Field(default="/dashboard", max_length=500)
    created_at: datetime = Field(index=True)
    used_at: datetime | None = None
    # the identity awaiting confirmation (set by the callback), and when it was linked
    issuer: str = Field(default="", max_length=500)
    subject: str = Field(default="", max_length=255)
    email: str = Field(default="", max_length=320)
    linked_at: datetime | None = None


class SsoDomain(SQLModel, table=True):
    """An e-mail domain whose people sign in only through an OpenID Provider: password sign-in
    and sign-up are refused for its addresses."""

    __tablename__ = "sso_domain"

    id: int | None = Field(default=None, primary_key=True)
    domain: str = Field(max_length=253, unique=True)
    provider: str = Field(max_length=40)
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
