"""OpenID Connect sign-in (issue 21, part 1): oidc_link (an account's identity at a provider,
by issuer and subject), oidc_flow (one sign-in at a provider, from the button to the callback)
and sso_domain (e-mail domains whose people sign in only through a provider).

Revision ID: e5a1c9d4b7f2
Revises: d2c6b8e1f4a7
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "e5a1c9d4b7f2"
down_revision: str | None = "d2c6b8e1f4a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "oidc_flow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", TEXT(length=64), nullable=False),
        sa.Column("provider", TEXT(length=40), nullable=False),
        sa.Column("nonce", TEXT(length=100), nullable=False),
        sa.Column("code_verifier", TEXT(length=200), nullable=False),
        sa.Column("next_url", TEXT(length=500), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("used_at", WHEN(), nullable=True),
        sa.Column("issuer", TEXT(length=500), nullable=False),
        sa.Column("subject", TEXT(length=255), nullable=False),
        sa.Column("email", TEXT(length=320), nullable=False),
        sa.Column("linked_at", WHEN(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_flow")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_oidc_flow_state_hash")),
    )
    op.create_index(op.f("ix_oidc_flow_created_at"), "oidc_flow", ["created_at"])
    op.create_table(
        "oidc_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", TEXT(length=40), nullable=False),
        sa.Column("issuer", TEXT(length=500), nullable=False),
        sa.Column("subject", TEXT(length=255), nullable=False),
        sa.Column("email", TEXT(length=320), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("last_signin_at", WHEN(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_oidc_link_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_link")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_oidc_link_issuer")),
    )
    op.create_index(op.f("ix_oidc_link_user_id"), "oidc_link", ["user_id"])
    op.create_table(
        "sso_domain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("domain", TEXT(length=253), nullable=False),
        sa.Column("provider", TEXT(length=40), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_sso_domain_created_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_domain")),
        sa.UniqueConstraint("domain", name=op.f("uq_sso_domain_domain")),
    )


def downgrade() -> None:
    op.drop_table("sso_domain")
    op.drop_table("oidc_link")
    op.drop_table("oidc_flow")
