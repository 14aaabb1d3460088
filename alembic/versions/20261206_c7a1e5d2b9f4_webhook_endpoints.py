"""webhook endpoints: receivers of signed webhooks (deliveries are background jobs)

Revision ID: c7a1e5d2b9f4
Revises: 563397aa7b60
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c7a1e5d2b9f4"
down_revision: str | None = "563397aa7b60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", TEXT(length=500), nullable=False),
        sa.Column("description", TEXT(length=200), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", TEXT(length=100), nullable=False),
        sa.Column("previous_secret", TEXT(length=100), nullable=True),
        sa.Column("previous_until", WHEN(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )


def downgrade() -> None:
    op.drop_table("webhook_endpoint")
