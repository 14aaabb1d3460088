"""Results keep their scale: exam_attempt.scale_version, cut_theta and cut_score.

Written once, when the attempt closes, next to scaled_score: the version of the track's scale
the score was reported on, the cut that applied and the cut's value on that scale. Results
closed before this revision keep NULL (they were reported as 500 + 100 (theta - cut)).

Revision ID: 3f8a61c2d7e4
Revises: a19f4c7e2d01
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f8a61c2d7e4"
down_revision: str | None = "a19f4c7e2d01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("scale_version", "cut_theta", "cut_score")


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of the table, which would drop its immutability triggers).
    op.add_column("exam_attempt", sa.Column("scale_version", sa.String(length=40), nullable=True))
    op.add_column("exam_attempt", sa.Column("cut_theta", sa.Float(), nullable=True))
    op.add_column("exam_attempt", sa.Column("cut_score", sa.Integer(), nullable=True))


def downgrade() -> None:
    for name in reversed(COLUMNS):  # ALTER TABLE DROP COLUMN: SQLite 3.35+ and PostgreSQL
        op.execute(f"ALTER TABLE exam_attempt DROP COLUMN {name}")
