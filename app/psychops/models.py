"""Calibration runs: an administrator's request to estimate item parameters of a track from
the stored responses, the background job's result per item, and the review's decisions."""

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class CalibrationRun(SQLModel, table=True):
    """One calibration of a track against the pool revision in force when it was started.

    mode: "pretest" (fixed-parameter: operational items held at their values in the base
    revision, pretest items estimated) or "full" (every item with enough responses estimated,
    then linked back to the base revision's scale by Stocking-Lord on the operational items).
    status: queued, running, done, failed (the job's final state is read for cancelled and
    dead jobs; app/psychops/calibration_runs.py). summary: what the run measured (responses,
    iterations, convergence, latent mean and SD, linking constants). proposed_revision_id:
    the pool revision the review made of it; simulation: the review's comparison of that
    revision with the base.
    """

    __tablename__ = "calibration_run"

    id: int | None = Field(default=None, primary_key=True)
    track: str = Field(max_length=8, index=True)
    model: str = Field(max_length=8)
    mode: str = Field(max_length=12)
    min_responses: int
    base_revision_id: int = Field(foreign_key="pool_revision.id")
    job_key: str = Field(max_length=100, unique=True)
    status: str = Field(default="queued", max_length=12)
    error: str = Field(default="", max_length=2000)
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    finished_at: datetime | None = None
    proposed_revision_id: int | None = Field(default=None, foreign_key="pool_revision.id")
    simulation: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    activated_at: datetime | None = None
    activated_by: int | None = Field(default=None, foreign_key="user_account.id")


class CalibrationItem(SQLModel, table=True):
    """One item version of the run's base revision: what the run did with it.

    outcome: "estimated" (new a, b, c with standard errors and fit), "anchor" (held at its
    operational values; displacement: how far a free estimate on the fixed scale would move
    it), or "skipped" (reason given; it keeps its provisional parameters). decision: the
    review's choice: accept, keep (provisional), retire, promote (pretest to operational).
    """

    __tablename__ = "calibration_item"
    __table_args__ = (UniqueConstraint("run_id", "version_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="calibration_run.id", index=True)
    version_id: int
    item_id: int
    code: str = Field(max_length=40)
    domain: str = Field(max_length=40)
    pretest: bool
    responses: int
    outcome: str = Field(max_length=12)
    reason: str = Field(default="", max_length=300)
    old_a: float
    old_b: float
    old_c: float
    a: float | None = None
    b: float | None = None
    c: float | None = None
    se_a: float | None = None
    se_b: float | None = None
    se_c: float | None = None
    fit_p: float | None = None
    displacement_a: float | None = None
    displacement_b: float | None = None
    decision: str = Field(default="keep", max_length=12)
