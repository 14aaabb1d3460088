"""Course tables: tracks, modules, lessons with their versions, and learners' progress."""

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class Track(SQLModel, table=True):
    __tablename__ = "track"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=8, unique=True)
    title: str = Field(max_length=200)
    level: str = Field(max_length=20)
    summary: str
    audience: str
    policy: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64)
    version: int = 1
    loaded_at: datetime


class Module(SQLModel, table=True):
    __tablename__ = "course_module"
    __table_args__ = (UniqueConstraint("track_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    track_id: int = Field(foreign_key="track.id", index=True)
    code: str = Field(max_length=8)
    slug: str = Field(max_length=120)
    position: int
    title: str = Field(max_length=200)
    domains: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    objectives: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    digest: str = Field(max_length=64)


class Lesson(SQLModel, table=True):
    """A lesson's stable identity; what learners' progress refers to."""

    __tablename__ = "lesson"
    __table_args__ = (UniqueConstraint("module_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    module_id: int = Field(foreign_key="course_module.id", index=True)
    slug: str = Field(max_length=120)
    position: int
    retired: bool = False


class LessonVersion(SQLModel, table=True):
    """The text of a lesson at one moment; a changed file adds a version, never edits one."""

    __tablename__ = "lesson_version"
    __table_args__ = (UniqueConstraint("lesson_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    lesson_id: int = Field(foreign_key="lesson.id", index=True)
    version: int
    digest: str = Field(max_length=64)
    title: str = Field(max_length=200)
    objectives: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    minutes: int
    sources: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    body: str
    created_at: datetime


class LessonProgress(SQLModel, table=True):
    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    lesson_id: int = Field(foreign_key="lesson.id", index=True)
    lesson_version: int
    completed_at: datetime


class TrackCut(SQLModel, table=True):
    """An approved passing standard (cut on the theta scale) for a track, from its effective
    date on: attempts started then or later use it, earlier attempts keep the cut they froze.
    Never changed; a new standard is a new row. Without a row the track file's cut applies."""

    __tablename__ = "track_cut"

    id: int | None = Field(default=None, primary_key=True)
    track: str = Field(max_length=8, index=True)
    cut_theta: float
    effective_at: datetime = Field(index=True)
    source: str = Field(max_length=200)
    note: str = Field(default="", max_length=2000)
    approved_by: int = Field(foreign_key="user_account.id")
    approved_at: datetime
