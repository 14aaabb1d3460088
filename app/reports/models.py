"""Report facts: one row per closed attempt (and its domain labels), derived from the exam
records and the decisions on them, so that every report is a GROUP BY over small columns.

A cache, not a record: app/reports/facts.py adds the facts of newly closed attempts and
rewrites those whose decision in force changed (a rescore or a void); nothing else writes here.
"""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class AttemptFact(SQLModel, table=True):
    __tablename__ = "report_attempt_fact"
    __table_args__ = (Index("ix_report_attempt_fact_track_month", "track", "month"),)

    attempt_id: int = Field(primary_key=True, foreign_key="exam_attempt.id")
    user_id: int = Field(foreign_key="user_account.id")
    track: str = Field(max_length=8)
    month: str = Field(max_length=7)  # YYYY-MM of the end of the attempt (UTC)
    finished_at: datetime
    first: bool  # the candidate's first attempt on the track
    voided: bool = False
    passed: bool | None = None  # in force (after any rescore); None once voided
    scaled_score: int | None = None
    seconds_used: int
    seconds_allowed: int
    expired: bool = False
    decision_id: int | None = None  # the decision the fact reflects


class DomainFact(SQLModel, table=True):
    __tablename__ = "report_domain_fact"
    __table_args__ = (Index("ix_report_domain_fact_track_month", "track", "month"),)

    attempt_id: int = Field(primary_key=True, foreign_key="exam_attempt.id")
    domain: str = Field(primary_key=True, max_length=8)
    track: str = Field(max_length=8)
    month: str = Field(max_length=7)
    label: str = Field(max_length=8)  # below | unclear | above | none (near: before 12/2026)


class Rollup(SQLModel, table=True):
    """Counts of the facts per (kind, track, month, a, b), kept exact by facts.refresh (a new
    fact adds its contributions, a changed decision moves them), so that a report over 100,000
    attempts sums a few thousand rows. kind and keys: attempt (first 1/0, pass/fail/void),
    score (20-point band, pass/fail), time (tenth of the time used, expired/ended), domain
    (domain code, below/near/above)."""

    __tablename__ = "report_rollup"

    kind: str = Field(primary_key=True, max_length=8)
    track: str = Field(primary_key=True, max_length=8)
    month: str = Field(primary_key=True, max_length=7)
    a: str = Field(primary_key=True, max_length=12)
    b: str = Field(primary_key=True, max_length=8)
    n: int = 0
