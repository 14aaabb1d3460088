"""drop ix_exam_response_attempt_id: the unique (attempt_id, position) index already serves
every lookup by attempt, so each answer wrote one B-tree for nothing (issue 22)

Revision ID: a7c3e9b1d5f2
Revises: e5b7c9d1a3f8
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a7c3e9b1d5f2"
down_revision: str | None = "e5b7c9d1a3f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_exam_response_attempt_id", table_name="exam_response")


def downgrade() -> None:
    op.create_index("ix_exam_response_attempt_id", "exam_response", ["attempt_id"])
