"""webhook_endpoint secrets sealed with the key-encryption key: `secret` and `previous_secret`
become `sealed_secret` and `sealed_previous_secret`, and every stored secret is sealed
(app/core/sealing.py); the downgrade opens them again.

Revision ID: f3a9c7e1b5d4
Revises: e5b7a3c9d1f2
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "f3a9c7e1b5d4"
down_revision: str | None = "e5b7a3c9d1f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("secret", "sealed_secret", False), ("previous_secret", "sealed_previous_secret", True))


def _rename(sealed: bool) -> None:
    with op.batch_alter_table("webhook_endpoint") as batch:
        for plain, sealed_name, nullable in COLUMNS:
            old, new = (plain, sealed_name) if sealed else (sealed_name, plain)
            batch.alter_column(
                old,
                new_column_name=new,
                existing_type=sa.String(length=100 if sealed else 300),
                type_=sa.String(length=300 if sealed else 100),
                existing_nullable=nullable,
            )


def _convert(seal: bool) -> None:
    """Seal (or open) every stored secret with the settings' key-encryption key."""
    bind = op.get_bind()
    names = "sealed_secret, sealed_previous_secret"
    rows = bind.execute(sa.text(f"SELECT id, {names} FROM webhook_endpoint")).all()
    if not rows:
        return
    from app.core import sealing, webhooks
    from app.core.config import get_settings

    ring = sealing.keyring(context.config.attributes.get("settings") or get_settings())

    def convert(value: str | None, endpoint_id: int) -> str | None:
        if value is None or value.startswith(sealing.PREFIX) == seal:
            return value
        if seal:
            return ring.seal(value.encode(), purpose=webhooks.PURPOSE)
        what = f"The secret of webhook endpoint {endpoint_id}"
        return ring.open(value, purpose=webhooks.PURPOSE, what=what).decode()

    for endpoint_id, current, previous in rows:
        bind.execute(
            sa.text(
                "UPDATE webhook_endpoint SET sealed_secret = :c, sealed_previous_secret = :p "
                "WHERE id = :i"
            ),
            {"c": convert(current, endpoint_id), "p": convert(previous, endpoint_id), "i": endpoint_id},
        )


def upgrade() -> None:
    _rename(sealed=True)
    _convert(seal=True)


def downgrade() -> None:
    _convert(seal=False)
    _rename(sealed=False)
