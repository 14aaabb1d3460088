"""Item-bank tables: items, their immutable versions, pool snapshots and practice responses."""

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class Item(SQLModel, table=True):
    __tablename__ = "item"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    track: str = Field(max_length=8, index=True)
    pool: str = Field(max_length=10, index=True)
    domain: str = Field(max_length=8)
    module: str = Field(max_length=8, index=True)
    status: str = Field(max_length=12)
    current_version_id: int | None = None


class ItemVersion(SQLModel, table=True):
    """The words, key and parameters of an item at one version; delivered versions never change."""

    __tablename__ = "item_version"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    version: int
    digest: str = Field(max_length=64)
    type: str = Field(max_length=10)
    level: str = Field(max_length=12)
    stem: str
    options: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    key: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sources: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    difficulty: int
    a: float
    b: float
    c: float
    provisional: bool = True
    created_at: datetime
    first_delivered_at: datetime | None = None


class PracticeResponse(SQLModel, table=True):
    __tablename__ = "practice_response"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    item_version_id: int = Field(foreign_key="item_version.id", index=True)
    track: str = Field(max_length=8, index=True)
    module: str = Field(max_length=8)
    answer: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    correct: bool
    answered_at: datetime


class BankRevision(SQLModel, table=True):
    """One row counting loads of the item banks: readers that cache pool snapshots compare it.

    Items and their versions change only through `wmi bank load` (itembank.load_banks), which
    bumps the revision in the same transaction.
    """

    __tablename__ = "item_bank_revision"

    id: int = Field(default=1, primary_key=True)
    revision: int = 0
