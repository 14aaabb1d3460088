"""signing_key: the issuer's Ed25519 signing keys in the database, each private key sealed with
the key-encryption key of the settings (app/credentials/keystore.py). Keys that earlier versions
kept in var/credential_keys are imported by the first start, not here; the downgrade writes
the keys back there.

Revision ID: e5b7a3c9d1f2
Revises: e5a1c9d4b7f2
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

revision: str = "e5b7a3c9d1f2"
down_revision: str | None = "e5a1c9d4b7f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
WHEN = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("public_key", TEXT(length=100), nullable=False),
        sa.Column("sealed_private_key", TEXT(length=300), nullable=False),
        sa.Column("origin", TEXT(length=100), nullable=False),
        sa.Column("created_at", WHEN(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_key")),
        sa.UniqueConstraint("public_key", name=op.f("uq_signing_key_public_key")),
    )


def downgrade() -> None:
    """The keys go back to var/credential_keys/key-NNNN.pem, where the earlier versions read
    them (opened with the settings' key-encryption key), before the table goes."""
    rows = op.get_bind().execute(
        sa.text("SELECT id, public_key, sealed_private_key FROM signing_key ORDER BY id")
    ).all()
    if rows:
        from app.core.config import get_settings
        from app.credentials import keystore

        settings = context.config.attributes.get("settings") or get_settings()
        keystore.export_files(settings, [tuple(row) for row in rows])
    op.drop_table("signing_key")
