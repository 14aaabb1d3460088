"""Every table of the application, so the metadata is complete (Alembic, tests)."""

from app.accounts.models import ApiToken, LoginAttempt, PasswordReset, User  # noqa: F401
from app.core.models import AuditEntry, AuditHead, OutboxMessage  # noqa: F401
from app.courses.models import Lesson, LessonProgress, LessonVersion, Module, Track  # noqa: F401
from app.credentials.models import (  # noqa: F401
    Certificate,
    CertificateReminder,
    CeuActivity,
    StatusList,
)
from app.exams.models import (  # noqa: F401
    Accommodation,
    ExamAttempt,
    ExamPool,
    ExamResponse,
    ExamWaiver,
)
from app.itembank.models import BankRevision, Item, ItemVersion, PracticeResponse  # noqa: F401
