"""Exam records immutable: the response log refuses UPDATE and DELETE; a closed attempt (its
result, status, timestamps) refuses UPDATE and any attempt refuses DELETE.

The application never changes these rows; the triggers make the database refuse it too, so
that a bug, a hand-run statement or a later data migration cannot rewrite a candidate's record
unnoticed. A migration that must change them drops the trigger for its own transaction.

Revision ID: e4c1a9d07b52
Revises: 7b3e0c4d2a11
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e4c1a9d07b52"
down_revision: str | None = "7b3e0c4d2a11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (trigger, table, event, condition): the condition in SQL over OLD, or None for every row.
RULES = [
    ("exam_response_no_update", "exam_response", "UPDATE", None),
    ("exam_response_no_delete", "exam_response", "DELETE", None),
    ("exam_attempt_closed_no_update", "exam_attempt", "UPDATE", "OLD.status <> 'open'"),
    ("exam_attempt_no_delete", "exam_attempt", "DELETE", None),
]
MESSAGE = "exam records are immutable: {table} refuses {event}"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(
            "CREATE FUNCTION exam_record_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'exam records are immutable: % refuses %', "
            "TG_TABLE_NAME, TG_OP; END $$"
        )
    for name, table, event, condition in RULES:
        when = f" WHEN ({condition})" if condition else ""
        if postgres:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW{when} "
                "EXECUTE FUNCTION exam_record_immutable()"
            )
        else:
            message = MESSAGE.format(table=table, event=event)
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW{when} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table, _event, _condition in RULES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS exam_record_immutable()")
