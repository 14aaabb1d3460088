"""sign-in throttle per account and address (issue 15, F-02/F-03): attempts record the
known-device digest and whether the throttle refused them; accounts remember when a password
reset cleared their failures. Sessions kept on the server (F-04): user_session; cookies
signed before this revision no longer sign anyone in (sign in again once). Outbox messages
keep a reset or invitation link sealed until sent (F-06): outbox_message.sealed

Revision ID: 5b1e0c7d9a21
Revises: c7a1e5d2b9f4
Create Date: 2026-12-06
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5b1e0c7d9a21"
down_revision: str | None = "c7a1e5d2b9f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "device",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("refused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.add_column(
        "user_account",
        sa.Column("signin_cleared_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    _withhold_sent_links()
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_user_session_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)


LINK = re.compile(r"\S*/password/reset\?token=[\w\-]+")
WITHHELD = "[link withheld: it is sent to the recipient only]"  # app.core.mail.WITHHELD


def _withhold_sent_links() -> None:
    """Links in messages already sent or printed leave the outbox page (pending ones must
    still be sent as they are)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, body FROM outbox_message WHERE status <> 'pending' "
            "AND body LIKE '%/password/reset?token=%'"
        )
    ).all()
    for id_, body in rows:
        conn.execute(
            sa.text("UPDATE outbox_message SET body = :body WHERE id = :id"),
            {"body": LINK.sub(WITHHELD, body), "id": id_},
        )


def downgrade() -> None:
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))
    op.drop_table("user_session")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("sealed")
    # not a batch: SQLite would copy user_account, which other tables' rows refer to; it drops
    # a column in place since 3.35
    op.drop_column("user_account", "signin_cleared_at")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_column("refused")
        batch_op.drop_column("device")
