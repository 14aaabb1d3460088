"""item versions carry their fact tag (question_banks/facts.yaml): items of one fact are enemies

Existing versions get NULL until the next `wmi bank load`, which fills the tag in place (it is
not part of what a candidate sees, so it makes no new version).

Revision ID: a19f4c7e2d01
Revises: 8ed1d0d79456
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a19f4c7e2d01"
down_revision: str | None = "8ed1d0d79456"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_version", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fact", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_item_version_fact"), ["fact"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("item_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_version_fact"))
        batch_op.drop_column("fact")
