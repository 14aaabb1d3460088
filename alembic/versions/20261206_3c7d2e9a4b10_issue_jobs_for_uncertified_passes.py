"""issue jobs for uncertified passes: an exam.passed job for every passed attempt that has no
certificate (the repair of F-01 for passes recorded before issuance became a job)

Revision ID: 3c7d2e9a4b10
Revises: 3f8a61c2d7e4
Create Date: 2026-12-06 10:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c7d2e9a4b10"
down_revision: str | None = "3f8a61c2d7e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# due since 2000: at once, whichever clock the runner reads
INSERT = """
INSERT INTO job (kind, key, payload, status, run_after, tries, max_tries, owner,
                 cancel_requested, progress, progress_note, last_error, created_at)
SELECT 'exam.passed', 'exam.passed:' || a.id, {payload}, 'queued', {due}, 0, 10, '',
       {false}, 0, '', '', {now}
FROM exam_attempt a
WHERE a.passed = {true}
  AND NOT EXISTS (SELECT 1 FROM certificate c WHERE c.attempt_id = a.id)
  AND NOT EXISTS (SELECT 1 FROM job j WHERE j.key = 'exam.passed:' || a.id)
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        sql = INSERT.format(
            payload="json_build_object('attempt_id', a.id)",
            now="CURRENT_TIMESTAMP",
            due="TIMESTAMP WITH TIME ZONE '2000-01-01 00:00:00+00'",
            true="true",
            false="false",
        )
    else:
        sql = INSERT.format(
            payload="json_object('attempt_id', a.id)",
            now="strftime('%Y-%m-%d %H:%M:%f000', 'now')",
            due="'2000-01-01 00:00:00.000000'",
            true="1",
            false="0",
        )
    op.execute(sql)


def downgrade() -> None:
    """Nothing to undo: the jobs are ordinary work (the job table goes with 89141abe85f6)."""
