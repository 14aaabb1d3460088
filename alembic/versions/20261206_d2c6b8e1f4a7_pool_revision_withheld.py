"""pool_revision.withheld: version ids a calibration review retired, which later bank loads
leave out (app/itembank/pools.py carry_calibrated).

Revision ID: d2c6b8e1f4a7
Revises: d3f8b2a6c1e4
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d2c6b8e1f4a7"
down_revision: str | None = "d3f8b2a6c1e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN (no table copy: pool_revision is referenced by other tables and itself)
    op.add_column(
        "pool_revision", sa.Column("withheld", sa.JSON(), nullable=False, server_default="[]")
    )


def downgrade() -> None:
    op.drop_column("pool_revision", "withheld")
