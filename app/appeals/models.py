"""Appeal and complaint tables, item flags, and runs that withdraw an item and rescore."""

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class Case(SQLModel, table=True):
    """An appeal against a result (attempt_id set) or a complaint about the process.

    status: open -> decided. outcome: dismissed | rescored | voided (appeals), upheld |
    not_upheld (complaints). Reviewed by an administrator who is not the person who raised it.
    """

    __tablename__ = "appeal_case"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # appeal | complaint
    user_id: int = Field(foreign_key="user_account.id", index=True)
    attempt_id: int | None = Field(default=None, foreign_key="exam_attempt.id", index=True)
    subject: str = Field(default="", max_length=200)
    grounds: str = Field(max_length=5000)
    status: str = Field(default="open", max_length=10, index=True)
    submitted_at: datetime
    outcome: str | None = Field(default=None, max_length=12)
    reasons: str = Field(default="", max_length=5000)
    decision_id: int | None = Field(default=None, foreign_key="exam_decision.id")
    decided_by: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = None


class ItemFlag(SQLModel, table=True):
    """A candidate's report, right after an exam, that one item of their attempt was faulty."""

    __tablename__ = "item_flag"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="exam_attempt.id", index=True)
    user_id: int = Field(foreign_key="user_account.id")
    position: int
    item_version_id: int = Field(foreign_key="item_version.id", index=True)
    comment: str = Field(max_length=2000)
    flagged_at: datetime


class WithdrawalRun(SQLModel, table=True):
    """Withdrawing a faulty item and rescoring every attempt that saw it (a background job):
    its progress and the report of the decisions that changed."""

    __tablename__ = "withdrawal_run"

    id: int | None = Field(default=None, primary_key=True)
    item_code: str = Field(max_length=20)
    reason: str = Field(max_length=2000)
    status: str = Field(default="queued", max_length=10)  # queued | running | done | failed
    requested_by: int = Field(foreign_key="user_account.id")
    requested_at: datetime
    finished_at: datetime | None = None
    attempts: int = 0
    changes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
