"""Every table of the application, so the metadata is complete (Alembic, tests)."""

from app.accounts.models import (  # noqa: F401
    ApiToken,
    LoginAttempt,
    MailRequest,
    OidcFlow,
    OidcLink,
    PasswordReset,
    SsoDomain,
    User,
)
from app.appeals.models import Case, ItemFlag, WithdrawalRun  # noqa: F401
from app.core.models import AuditEntry, AuditHead, Job, OutboxMessage  # noqa: F401
from app.courses.models import (  # noqa: F401
    Lesson,
    LessonProgress,
    LessonVersion,
    Module,
    Track,
    TrackCut,
)
from app.credentials.models import (  # noqa: F401
    Certificate,
    CertificateReminder,
    CeuActivity,
    SigningKey,
    StatusList,
)
from app.exams.models import (  # noqa: F401
    Accommodation,
    ExamAttempt,
    ExamDecision,
    ExamPool,
    ExamResponse,
    ExamWaiver,
)
from app.itembank.models import (  # noqa: F401
    BankRevision,
    Item,
    ItemComment,
    ItemTransition,
    ItemVersion,
    ItemWithdrawal,
    PracticeResponse,
)
from app.psychops.analysis_models import ItemAnalysis, ItemAnalysisItem  # noqa: F401
from app.psychops.models import CalibrationItem, CalibrationRun  # noqa: F401
from app.reports.models import AttemptFact, DomainFact  # noqa: F401
from app.standards.models import (  # noqa: F401
    Study,
    StudyItem,
    StudyPanelist,
    StudyRating,
    StudyRound,
)
