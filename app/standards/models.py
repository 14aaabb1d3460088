"""Standard-setting tables: a study, its items, panel, rounds and ratings."""

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Study(SQLModel, table=True):
    """A modified-Angoff study of one track.

    status: draft (items and panel being chosen) -> open (round current_round taking ratings)
    -> closed (that round closed; the next opens, or the study is approved) -> approved;
    cancelled at any point before approval. The approved cut is recorded as a track_cut.
    """

    __tablename__ = "standard_study"

    id: int | None = Field(default=None, primary_key=True)
    track: str = Field(max_length=8, index=True)
    title: str = Field(max_length=200)
    status: str = Field(default="draft", max_length=12)
    rounds_planned: int = 2
    current_round: int = 0
    min_panelists: int = 3
    created_by: int = Field(foreign_key="user_account.id")
    created_at: datetime
    approved_raw_cut: float | None = None
    approved_theta: float | None = None
    effective_at: datetime | None = None
    approved_by: int | None = Field(default=None, foreign_key="user_account.id")
    approved_at: datetime | None = None
    decision_note: str = Field(default="", max_length=2000)
    track_cut_id: int | None = Field(default=None, foreign_key="track_cut.id")


class StudyItem(SQLModel, table=True):
    """An item version the panel rates, in presentation order."""

    __tablename__ = "standard_study_item"
    __table_args__ = (UniqueConstraint("study_id", "item_version_id"),)

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="standard_study.id", index=True)
    position: int
    item_version_id: int = Field(foreign_key="item_version.id")


class StudyPanelist(SQLModel, table=True):
    __tablename__ = "standard_panelist"
    __table_args__ = (UniqueConstraint("study_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="standard_study.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    added_at: datetime
    invited: bool = False


class StudyRound(SQLModel, table=True):
    __tablename__ = "standard_round"
    __table_args__ = (UniqueConstraint("study_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="standard_study.id", index=True)
    number: int
    opened_at: datetime
    closed_at: datetime | None = None


class StudyRating(SQLModel, table=True):
    """A panelist's rating of an item in a round: the percentage (0-100) of minimally competent
    candidates who would answer it correctly. Changeable while the round is open."""

    __tablename__ = "standard_rating"
    __table_args__ = (UniqueConstraint("study_id", "round", "user_id", "item_version_id"),)

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="standard_study.id", index=True)
    round: int
    user_id: int = Field(foreign_key="user_account.id")
    item_version_id: int = Field(foreign_key="item_version.id")
    value: float
    updated_at: datetime
