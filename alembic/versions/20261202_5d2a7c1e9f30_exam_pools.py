"""exam pools: frozen item pools stored once and referenced by attempts

An attempt used to carry its whole frozen pool (several hundred items as JSON) in its own row,
which SQLite and PostgreSQL rewrite at every answer. Pools move to exam_pool, content-addressed
by digest and shared by the attempts that started on the same state of the bank.

Revision ID: 5d2a7c1e9f30
Revises: a9e403cbe036
Create Date: 2026-12-02 05:00:00
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "5d2a7c1e9f30"
down_revision: str | None = "a9e403cbe036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

attempts = sa.table(
    "exam_attempt",
    sa.column("id", sa.Integer),
    sa.column("track", sa.String),
    sa.column("pool", sa.JSON),
    sa.column("pool_id", sa.Integer),
)
pools = sa.table(
    "exam_pool",
    sa.column("id", sa.Integer),
    sa.column("track", sa.String),
    sa.column("digest", sa.String),
    sa.column("items", sa.JSON),
    sa.column("created_at", sa.DateTime),
)


def digest(items: list) -> str:
    """The same digest as app.exams.service.pool_digest (kept here: migrations are frozen)."""
    text = json.dumps(items, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def upgrade() -> None:
    op.create_table(
        "exam_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("track", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_pool")),
        sa.UniqueConstraint("digest", name=op.f("uq_exam_pool_digest")),
    )
    with op.batch_alter_table("exam_pool", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_pool_track"), ["track"], unique=False)
    with op.batch_alter_table("exam_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pool_id", sa.Integer(), nullable=True))

    conn = op.get_bind()
    ids: dict[str, int] = {}
    now = datetime.now(UTC)
    for row in conn.execute(sa.select(attempts.c.id, attempts.c.track, attempts.c.pool)):
        d = digest(row.pool)
        if d not in ids:
            conn.execute(
                pools.insert().values(track=row.track, digest=d, items=row.pool, created_at=now)
            )
            ids[d] = conn.execute(sa.select(pools.c.id).where(pools.c.digest == d)).scalar_one()
        conn.execute(attempts.update().where(attempts.c.id == row.id).values(pool_id=ids[d]))

    with op.batch_alter_table("exam_attempt", schema=None) as batch_op:
        batch_op.alter_column("pool_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_exam_attempt_pool_id"), ["pool_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_exam_attempt_pool_id_exam_pool"), "exam_pool", ["pool_id"], ["id"]
        )
        batch_op.drop_column("pool")


def downgrade() -> None:
    with op.batch_alter_table("exam_attempt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pool", sa.JSON(), nullable=True))
    conn = op.get_bind()
    for pool_id, items in conn.execute(sa.select(pools.c.id, pools.c["items"])):
        conn.execute(attempts.update().where(attempts.c.pool_id == pool_id).values(pool=items))
    with op.batch_alter_table("exam_attempt", schema=None) as batch_op:
        batch_op.alter_column("pool", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint(
            batch_op.f("fk_exam_attempt_pool_id_exam_pool"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_exam_attempt_pool_id"))
        batch_op.drop_column("pool_id")
    with op.batch_alter_table("exam_pool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_pool_track"))
    op.drop_table("exam_pool")
