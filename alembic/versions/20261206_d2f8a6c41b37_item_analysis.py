"""item analysis: stored runs of a track's item statistics (issue 16, app/psychops/snapshots.py)

Revision ID: d2f8a6c41b37
Revises: 8090bb68a341
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "d2f8a6c41b37"
down_revision: str | None = "8090bb68a341"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "item_analysis",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track", TEXT(length=8), nullable=False),
        sa.Column("revision_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("last_attempt_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("computed_at", WHEN(), nullable=False),
        sa.ForeignKeyConstraint(
            ["revision_id"],
            ["pool_revision.id"],
            name=op.f("fk_item_analysis_revision_id_pool_revision"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_analysis")),
    )
    op.create_index(op.f("ix_item_analysis_track"), "item_analysis", ["track"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_item_analysis_track"), table_name="item_analysis")
    op.drop_table("item_analysis")
