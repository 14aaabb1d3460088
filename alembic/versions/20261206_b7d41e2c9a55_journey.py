"""The newcomer's journey (issue 14): the candidate agreement accepted by each attempt
(exam_attempt.agreement), each user's time zone (user_account.time_zone, UTC until set), and a
revocation's internal note kept apart from its public reason (certificate.revocation_note).

Revision ID: b7d41e2c9a55
Revises: 5b1e0c7d9a21
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d41e2c9a55"
down_revision: str | None = "5b1e0c7d9a21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("exam_attempt", "agreement"),
    ("user_account", "time_zone"),
    ("certificate", "revocation_note"),
)


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of exam_attempt, which would drop its immutability triggers).
    op.add_column("exam_attempt", sa.Column("agreement", sa.String(length=20), nullable=True))
    op.add_column(
        "user_account",
        sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"),
    )
    op.add_column(
        "certificate",
        sa.Column("revocation_note", sa.String(length=1000), nullable=False, server_default=""),
    )


def downgrade() -> None:
    for table, name in reversed(COLUMNS):  # ALTER TABLE DROP COLUMN: SQLite 3.35+ and PostgreSQL
        op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
