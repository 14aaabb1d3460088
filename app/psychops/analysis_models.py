"""Stored item analyses: one row per run of the analysis of a track (app/psychops/snapshots.py)."""

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class ItemAnalysis(SQLModel, table=True):
    """The item statistics of a track over the responses of its closed attempts up to
    `last_attempt_id`, fitted against the parameters in force when it ran (`revision_id`).

    items: one ItemStats.to_dict() per item version; summary: the quintiles' mean thetas, the
    thresholds and minimum applied, the time the computation took. Never changed.
    """

    __tablename__ = "item_analysis"

    id: int | None = Field(default=None, primary_key=True)
    track: str = Field(max_length=8, index=True)
    revision_id: int | None = Field(default=None, foreign_key="pool_revision.id")
    attempts: int
    responses: int
    last_attempt_id: int = 0
    items: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_at: datetime
