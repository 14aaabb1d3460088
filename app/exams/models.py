"""Exam tables: waivers, accommodations, attempts and their immutable response logs."""

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class ExamWaiver(SQLModel, table=True):
    """An administrator's prerequisite waiver for one user and track; withdrawn, never deleted."""

    __tablename__ = "exam_waiver"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    track: str = Field(max_length=8)
    reason: str = Field(max_length=500)
    granted_by: int = Field(foreign_key="user_account.id")
    granted_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_by: int | None = Field(default=None, foreign_key="user_account.id")
    withdraw_reason: str = Field(default="", max_length=500)


class Accommodation(SQLModel, table=True):
    """An extra-time factor granted to a candidate; applies to every later attempt."""

    __tablename__ = "exam_accommodation"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    time_factor: float
    reason: str = Field(max_length=500)
    granted_by: int = Field(foreign_key="user_account.id")
    granted_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_by: int | None = Field(default=None, foreign_key="user_account.id")
    withdraw_reason: str = Field(default="", max_length=500)


class ExamPool(SQLModel, table=True):
    """A frozen item pool: the versions, domains and parameters attempts are adapted on.

    Content-addressed (digest of the items) and shared by every attempt that starts on the same
    state of the bank, so an attempt row stays small (it is rewritten at every answer) and a
    pool of several hundred items is stored once, not once per attempt. Never changed.
    """

    __tablename__ = "exam_pool"

    id: int | None = Field(default=None, primary_key=True)
    track: str = Field(max_length=8, index=True)
    digest: str = Field(max_length=64, unique=True)
    items: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime


class ExamAttempt(SQLModel, table=True):
    """One sitting: the frozen policy and pool (by reference), the server clock, the pending
    item, the result.

    step counts accepted responses; every write that moves the attempt on is a conditional
    UPDATE on (id, step), so two requests racing on one attempt cannot both win. open_slot is
    "<user>:<track>" while the attempt is open and NULL afterwards: a unique column that keeps
    one open attempt per user and track on SQLite and PostgreSQL alike.
    """

    __tablename__ = "exam_attempt"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    track: str = Field(max_length=8, index=True)
    status: str = Field(default="open", max_length=10, index=True)  # open | finished | expired
    open_slot: str | None = Field(default=None, max_length=40, unique=True)
    started_at: datetime
    deadline_at: datetime = Field(index=True)
    time_factor: float = 1.0
    policy: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    pool_id: int = Field(foreign_key="exam_pool.id", index=True)
    # The pool revision the attempt started on (its exposure control); NULL for attempts that
    # started before revisions existed or while the track had none in force.
    pool_revision_id: int | None = Field(default=None, foreign_key="pool_revision.id", index=True)
    state: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    step: int = 0
    pending_item_id: int | None = Field(default=None, foreign_key="item_version.id")
    pending_token: str | None = Field(default=None, max_length=40)
    pending_presented_at: datetime | None = None
    finished_at: datetime | None = None
    end_reason: str | None = Field(default=None, max_length=40)
    passed: bool | None = None
    scaled_score: int | None = None
    # The scale the result was reported on, the cut applied and its value on that scale; NULL
    # for results reported before scales had versions (500 + 100 (theta - cut), cut at 500).
    scale_version: str | None = Field(default=None, max_length=40)
    cut_theta: float | None = None
    cut_score: int | None = None
    result: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # The version of the candidate agreement accepted before the clock started
    # (app/exams/agreement.py); NULL for attempts started before the agreement existed.
    agreement: str | None = Field(default=None, max_length=20)


class ExamResponse(SQLModel, table=True):
    """One accepted answer; written once, never changed."""

    __tablename__ = "exam_response"
    # The unique (attempt_id, position) index serves every lookup by attempt: no index of its
    # own on attempt_id (one B-tree fewer written per answer).
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="exam_attempt.id")
    position: int
    item_version_id: int = Field(foreign_key="item_version.id", index=True)
    token: str = Field(max_length=40)
    answer: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    correct: bool
    presented_at: datetime
    answered_at: datetime


class ExamDecision(SQLModel, table=True):
    """A later decision on a closed attempt that supersedes its result: a rescore (the stored
    response log scored again without withdrawn items) or a void (the attempt no longer
    counts; the candidate may retake it at once). The attempt's own result is never changed;
    the newest decision is the one in force. Never changed itself."""

    __tablename__ = "exam_decision"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="exam_attempt.id", index=True)
    kind: str = Field(max_length=10)  # rescore | void
    passed: bool | None = None
    scaled_score: int | None = None
    result: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    excluded: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    previous_passed: bool | None = None
    reason: str = Field(max_length=2000)
    source: str = Field(max_length=100)  # e.g. "appeal 4", "withdrawal 2"
    decided_by: int = Field(foreign_key="user_account.id")
    decided_at: datetime
