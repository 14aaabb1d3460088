"""Stored item analyses: one row per run of the analysis of a track and one row per item version
in it (app/psychops/snapshots.py)."""

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class ItemAnalysis(SQLModel, table=True):
    """The item statistics of a track over the responses of its closed attempts up to
    `last_attempt_id`, fitted against the parameters in force when it ran (`revision_id`).

    summary: the quintiles' mean thetas, the thresholds and minimum applied, the time the
    computation took. Its items are ItemAnalysisItem rows. Never changed.
    """

    __tablename__ = "item_analysis"

    id: int | None = Field(default=None, primary_key=True)
    track: str = Field(max_length=8, index=True)
    revision_id: int | None = Field(default=None, foreign_key="pool_revision.id")
    attempts: int
    responses: int
    last_attempt_id: int = 0
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_at: datetime


class ItemAnalysisItem(SQLModel, table=True):
    """One item version's statistics in an analysis: the columns the item list shows, the whole
    ItemStats.to_dict() in `stats` (for its page, the CSV and the API), and its page's charts
    drawn ahead by the charts job (`charts`: {"cut": theta, "icc"/"options"/"information":
    SVG data: URI or null}; null until drawn). Only `charts` is ever changed."""

    __tablename__ = "item_analysis_item"
    __table_args__ = (UniqueConstraint("analysis_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    analysis_id: int = Field(foreign_key="item_analysis.id", index=True)
    version: int
    item: str = Field(max_length=64)
    pretest: bool = False
    n: int = 0
    omit_rate: float = 0.0
    p: float = 0.0
    r_theta: float | None = None
    median_seconds: float = 0.0
    rmsd: float | None = None
    sx2: float | None = None
    sx2_df: int | None = None
    sx2_p: float | None = None
    flags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    stats: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    charts: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
