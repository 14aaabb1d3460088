"""Every table of the application, so the metadata is complete (Alembic, tests)."""

from app.accounts.models import ApiToken, LoginAttempt, PasswordReset, User  # noqa: F401
from app.core.models import AuditEntry, AuditHead, OutboxMessage  # noqa: F401
