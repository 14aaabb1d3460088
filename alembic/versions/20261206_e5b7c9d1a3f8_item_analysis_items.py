"""item analysis items: one row per item version of an analysis, with its page's charts drawn
ahead (issue 16: the item list reads only the columns it shows, an item page one row)

Revision ID: e5b7c9d1a3f8
Revises: f3a9c7e1b5d4
Create Date: 2026-12-06
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "e5b7c9d1a3f8"
down_revision: str | None = "f3a9c7e1b5d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sqlmodel.sql.sqltypes.AutoString
COLUMNS = ("n", "omit_rate", "p", "r_theta", "median_seconds", "rmsd", "sx2", "sx2_df", "sx2_p")


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    table = op.create_table(
        "item_analysis_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("analysis_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("item", TEXT(length=64), nullable=False),
        sa.Column("pretest", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("omit_rate", sa.Float(), nullable=False),
        sa.Column("p", sa.Float(), nullable=False),
        sa.Column("r_theta", sa.Float(), nullable=True),
        sa.Column("median_seconds", sa.Float(), nullable=False),
        sa.Column("rmsd", sa.Float(), nullable=True),
        sa.Column("sx2", sa.Float(), nullable=True),
        sa.Column("sx2_df", sa.Integer(), nullable=True),
        sa.Column("sx2_p", sa.Float(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("charts", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["analysis_id"], ["item_analysis.id"],
            name=op.f("fk_item_analysis_item_analysis_id_item_analysis"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_analysis_item")),
        sa.UniqueConstraint(
            "analysis_id", "version", name=op.f("uq_item_analysis_item_analysis_id")
        ),
    )
    op.create_index(
        op.f("ix_item_analysis_item_analysis_id"), "item_analysis_item", ["analysis_id"]
    )
    bind = op.get_bind()
    for analysis_id, items in bind.execute(sa.text("SELECT id, items FROM item_analysis")).all():
        rows = [{"analysis_id": analysis_id, "version": d["version"], "item": d["item"],
                 "pretest": bool(d["pretest"]), **{k: d.get(k) for k in COLUMNS},
                 "flags": list(d["flags"]), "stats": d}
                for d in _json(items)]  # fmt: skip
        if rows:
            op.bulk_insert(table, rows)
    with op.batch_alter_table("item_analysis") as batch_op:
        batch_op.drop_column("items")


def downgrade() -> None:
    with op.batch_alter_table("item_analysis") as batch_op:
        batch_op.add_column(sa.Column("items", sa.JSON(), nullable=False, server_default="[]"))
    bind = op.get_bind()
    items: dict[int, list] = {}
    query = "SELECT analysis_id, stats FROM item_analysis_item ORDER BY analysis_id, id"
    for analysis_id, stats in bind.execute(sa.text(query)).all():
        items.setdefault(analysis_id, []).append(_json(stats))
    for analysis_id, values in items.items():
        bind.execute(sa.text("UPDATE item_analysis SET items = :items WHERE id = :id"),
                     {"items": json.dumps(values), "id": analysis_id})  # fmt: skip
    op.drop_index(op.f("ix_item_analysis_item_analysis_id"), table_name="item_analysis_item")
    op.drop_table("item_analysis_item")
