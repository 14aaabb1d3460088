"""background jobs: the one table of app.core.jobs (durable, leased, retried, dead-lettered)

Revision ID: 89141abe85f6
Revises: e4c1a9d07b52
Create Date: 2026-12-06 09:37:06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "89141abe85f6"
down_revision: str | None = "e4c1a9d07b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", TEXT(length=80), nullable=False),
        sa.Column("key", TEXT(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", TEXT(length=20), nullable=False),
        sa.Column("run_after", WHEN(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("lease_token", TEXT(length=32), nullable=True),
        sa.Column("leased_until", WHEN(), nullable=True),
        sa.Column("owner", TEXT(length=120), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("progress_note", TEXT(length=200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("last_error", TEXT(length=2000), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("started_at", WHEN(), nullable=True),
        sa.Column("finished_at", WHEN(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sa.UniqueConstraint("key", name=op.f("uq_job_key")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_due", ["status", "run_after"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_kind"))
        batch_op.drop_index("ix_job_due")
    op.drop_table("job")
