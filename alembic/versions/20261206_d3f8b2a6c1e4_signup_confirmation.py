"""Sign-up confirmed by mail (issue 15, F-09): user_account.confirmed (true for every existing
account), password_reset.purpose (reset or confirm), and mail_request, the sign-up and reset
requests of the last hour by e-mail address and client address (their limit).

Revision ID: d3f8b2a6c1e4
Revises: 91e1338b4450
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "d3f8b2a6c1e4"
down_revision: str | None = "91e1338b4450"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.add_column(
        "user_account",
        sa.Column("confirmed", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "password_reset",
        sa.Column("purpose", TEXT(length=20), nullable=False, server_default="reset"),
    )
    op.create_table(
        "mail_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", TEXT(length=20), nullable=False),
        sa.Column("email", TEXT(length=320), nullable=False),
        sa.Column("ip", TEXT(length=64), nullable=False),
        sa.Column("at", WHEN(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_request")),
    )
    for column in ("email", "ip", "at"):
        op.create_index(op.f(f"ix_mail_request_{column}"), "mail_request", [column])


def downgrade() -> None:
    op.drop_table("mail_request")
    for table, name in (("password_reset", "purpose"), ("user_account", "confirmed")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
