"""Exam records and the audit log immutable without gaps (issue 15, F-11).

The row triggers of e4c1a9d07b52, 608627c481f8 and the audit migration refuse UPDATE and
DELETE, but three statements went around them:

- SQLite's `INSERT OR REPLACE` (`REPLACE INTO`) deletes the conflicting row without firing
  DELETE triggers (recursive_triggers is off, and a connection can turn it off anyway), so it
  rewrote an answer and turned a fail into a pass. A BEFORE INSERT trigger now refuses an
  insert that would collide with an existing record (by id, or by its natural key), so the
  replacing insert aborts before it deletes anything; `UPDATE OR REPLACE` cannot move an open
  attempt onto another attempt's id either.
- PostgreSQL's `TRUNCATE` fires no row triggers: a statement trigger now refuses it.
- A response could be added to a closed attempt: an insert into exam_response is refused
  unless its attempt is open (the application records the last answer before it closes the
  attempt, in the same transaction).

Revision ID: b5e2f0a7c3d9
Revises: 2ce0b0c35da6
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b5e2f0a7c3d9"
down_revision: str | None = "2ce0b0c35da6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: (trigger, table, condition over NEW that refuses the insert)
SQLITE_INSERTS = [
    (
        "exam_response_no_replace",
        "exam_response",
        "EXISTS (SELECT 1 FROM exam_response WHERE id = NEW.id "
        "OR (attempt_id = NEW.attempt_id AND position = NEW.position))",
    ),
    (
        "exam_response_open_attempt_only",
        "exam_response",
        "(SELECT status FROM exam_attempt WHERE id = NEW.attempt_id) IS NOT 'open'",
    ),
    (
        "exam_attempt_no_replace",
        "exam_attempt",
        "EXISTS (SELECT 1 FROM exam_attempt WHERE id = NEW.id "
        "OR (NEW.open_slot IS NOT NULL AND open_slot = NEW.open_slot))",
    ),
    (
        "exam_decision_no_replace",
        "exam_decision",
        "EXISTS (SELECT 1 FROM exam_decision WHERE id = NEW.id)",
    ),
    (
        "audit_entry_no_replace",
        "audit_entry",
        "EXISTS (SELECT 1 FROM audit_entry WHERE id = NEW.id OR seq = NEW.seq)",
    ),
]
TABLES = ("exam_attempt", "exam_response", "exam_decision", "audit_entry")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _postgres_up()
        return
    for name, table, condition in SQLITE_INSERTS:
        op.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW WHEN {condition} "
            f"BEGIN SELECT RAISE(ABORT, 'exam records are immutable: {table} refuses "
            "this INSERT (a replacing insert, or a response to a closed attempt)'); END"
        )
    op.execute(
        "CREATE TRIGGER exam_attempt_no_rekey BEFORE UPDATE OF id ON exam_attempt FOR EACH ROW "
        "WHEN NEW.id IS NOT OLD.id BEGIN SELECT RAISE(ABORT, "
        "'exam records are immutable: exam_attempt refuses a new id'); END"
    )


def _postgres_up() -> None:
    op.execute(
        "CREATE FUNCTION exam_response_open_attempt_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN IF (SELECT status FROM exam_attempt WHERE id = NEW.attempt_id) "
        "IS DISTINCT FROM 'open' THEN RAISE EXCEPTION "
        "'exam records are immutable: exam_response refuses a response to a closed attempt'; "
        "END IF; RETURN NEW; END $$"
    )
    op.execute(
        "CREATE TRIGGER exam_response_open_attempt_only BEFORE INSERT ON exam_response "
        "FOR EACH ROW EXECUTE FUNCTION exam_response_open_attempt_only()"
    )
    for table in TABLES:  # exam_record_immutable() names the table and TG_OP (TRUNCATE)
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION exam_record_immutable()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(
            "DROP TRIGGER IF EXISTS exam_response_open_attempt_only ON exam_response"
        )
        op.execute("DROP FUNCTION IF EXISTS exam_response_open_attempt_only()")
        return
    for name, _table, _condition in SQLITE_INSERTS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TRIGGER IF EXISTS exam_attempt_no_rekey")
