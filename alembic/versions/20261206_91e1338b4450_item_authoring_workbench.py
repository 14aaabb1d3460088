"""Item authoring workbench (issue 20): comments, lifecycle transitions, who wrote a version,
and who owns an item (question_banks/ files or the workbench; docs/AUTHORING.md).

Revision ID: 91e1338b4450
Revises: d2f8a6c41b37
Create Date: 2026-12-06 16:05:57.310030
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "91e1338b4450"
down_revision: str | None = "d2f8a6c41b37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["item.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("item_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_comment_item_id"), ["item_id"], unique=False)

    op.create_table(
        "item_transition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("pool", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["item.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("item_transition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_transition_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "owner",
                sqlmodel.sql.sqltypes.AutoString(length=10),
                server_default="files",
                nullable=False,
            )
        )

    # in place, no foreign key: rebuilding item_version on SQLite trips the rows that reference it
    op.add_column("item_version", sa.Column("created_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("item_version", "created_by")  # in place (see upgrade)

    op.drop_column("item", "owner")  # in place: rebuilding `item` would trip its foreign keys

    with op.batch_alter_table("item_transition", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_transition_item_id"))

    op.drop_table("item_transition")
    with op.batch_alter_table("item_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_comment_item_id"))

    op.drop_table("item_comment")
