"""Pool revisions: pool_revision (a track's pool with its derived exposure control),
track_pool (the revision in force per track) and exam_attempt.pool_revision_id (the revision
an attempt froze; NULL for attempts started before).

Revision ID: 563397aa7b60
Revises: b5e2f0a7c3d9
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "563397aa7b60"
down_revision: str | None = "b5e2f0a7c3d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_exam_attempt_pool_revision_id_pool_revision"
INDEX = "ix_exam_attempt_pool_revision_id"


def upgrade() -> None:
    op.create_table(
        "pool_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("calibrated", sa.JSON(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("base_revision_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("auto_activate", sa.Boolean(), nullable=False),
        sa.Column("exposure_target", sa.Float(), nullable=True),
        sa.Column("exposure", sa.JSON(), nullable=True),
        sa.Column("exposure_report", sa.JSON(), nullable=True),
        sa.Column("exposure_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["base_revision_id"], ["pool_revision.id"],
            name=op.f("fk_pool_revision_base_revision_id_pool_revision"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"],
            name=op.f("fk_pool_revision_created_by_user_account"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_revision")),
        sa.UniqueConstraint("track", "digest", name=op.f("uq_pool_revision_track")),
    )
    op.create_index(op.f("ix_pool_revision_track"), "pool_revision", ["track"], unique=False)
    op.create_table(
        "track_pool",
        sa.Column("track", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=False),
        sa.Column("activated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("activated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activated_by"], ["user_account.id"],
            name=op.f("fk_track_pool_activated_by_user_account"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["revision_id"], ["pool_revision.id"],
            name=op.f("fk_track_pool_revision_id_pool_revision"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("track", name=op.f("pk_track_pool")),
    )
    # exam_attempt keeps its immutability triggers: a plain ADD COLUMN, never a batch copy
    # (SQLite takes the foreign key inline, PostgreSQL as a constraint).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE exam_attempt ADD COLUMN pool_revision_id INTEGER CONSTRAINT {FK} "
            "REFERENCES pool_revision (id)"
        )
    else:
        op.add_column("exam_attempt", sa.Column("pool_revision_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "exam_attempt", "pool_revision", ["pool_revision_id"], ["id"])
    op.create_index(INDEX, "exam_attempt", ["pool_revision_id"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="exam_attempt")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FK, "exam_attempt", type_="foreignkey")
    op.execute("ALTER TABLE exam_attempt DROP COLUMN pool_revision_id")
    op.drop_table("track_pool")
    op.drop_index(op.f("ix_pool_revision_track"), table_name="pool_revision")
    op.drop_table("pool_revision")
