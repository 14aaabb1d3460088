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
    status: str = Field(max_length=12)  # draft, review, approved, pretest, operational, retired
    current_version_id: int | None = None
    # "files": question_banks/ owns the item (a load may replace its version); "workbench":
    # authored or moved in the platform, a load only replaces it with a higher file version
    owner: str = Field(default="files", max_length=10, sa_column_kwargs={"server_default": "files"})


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
    fact: str | None = Field(default=None, max_length=48, index=True)  # question_banks/facts.yaml
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
    # None: a file. No foreign key: a column added to item_version (referenced by every
    # response) must be added and dropped in place on SQLite, where a rebuild trips its references.
    created_by: int | None = None


class ItemComment(SQLModel, table=True):
    """A reviewer's or author's remark on an item (at the version then current)."""

    __tablename__ = "item_comment"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    version: int
    author_id: int = Field(foreign_key="user_account.id")
    body: str = Field(max_length=4000)
    created_at: datetime


class ItemTransition(SQLModel, table=True):
    """One move of an item through its lifecycle (also in the audit log)."""

    __tablename__ = "item_transition"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    version: int
    action: str = Field(max_length=16)
    from_status: str = Field(max_length=12)
    to_status: str = Field(max_length=12)
    pool: str = Field(max_length=10)
    actor_id: int = Field(foreign_key="user_account.id")
    comment: str | None = Field(default=None, max_length=4000)
    at: datetime


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


class ItemWithdrawal(SQLModel, table=True):
    """An item taken out of the exam pools (found faulty): new attempts never get it, and the
    attempts that saw it are rescored without it. Survives bank reloads."""

    __tablename__ = "item_withdrawal"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    reason: str = Field(max_length=2000)
    withdrawn_by: int = Field(foreign_key="user_account.id")
    withdrawn_at: datetime


class PoolRevision(SQLModel, table=True):
    """One state of a track's exam pool: the item versions, their parameters, and the exposure
    control derived for them by simulation. Attempts freeze the revision they start on.

    items: the pool as attempts freeze it (version id, item id, a, b, c, domain, fact, pretest).
    calibrated: version ids whose parameters came from a calibration (a bank load keeps them,
    and a promotion of a pretest item to operational with them). withheld: version ids a
    calibration review retired (a bank load leaves them out until the item has a new version).
    exposure: the CatPolicy fields the exposure derivation sets, in CatPolicy.to_dict form
    (today {"sh_exposure": ...}; opaque here), set once by the derivation job and never
    changed; a revision is activated only once it has one. exposure_report: how it was derived
    and what the check simulation measured.
    """

    __tablename__ = "pool_revision"
    __table_args__ = (UniqueConstraint("track", "digest"),)

    id: int | None = Field(default=None, primary_key=True)
    track: str = Field(max_length=8, index=True)
    digest: str = Field(max_length=64)
    items: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    calibrated: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    withheld: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=100)  # "bank load", "calibration run 4", ...
    base_revision_id: int | None = Field(default=None, foreign_key="pool_revision.id")
    created_at: datetime
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    auto_activate: bool = False  # a bank load's revision goes live once its exposure is derived
    exposure_target: float | None = None
    exposure: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    exposure_report: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    exposure_at: datetime | None = None


class TrackPool(SQLModel, table=True):
    """The revision in force per track. Activation is one conditional UPDATE on the revision
    the administrator reviewed against (its base), so of two racing activations one wins."""

    __tablename__ = "track_pool"

    track: str = Field(max_length=8, primary_key=True)
    revision_id: int = Field(foreign_key="pool_revision.id")
    activated_at: datetime
    activated_by: int | None = Field(default=None, foreign_key="user_account.id")
