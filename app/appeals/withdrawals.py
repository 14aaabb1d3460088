"""Withdrawing a faulty item and rescoring every attempt that saw it, as a background job.

start_withdrawal records the run and queues its job in one commit. The job withdraws the item
from the pools (itembank.withdraw_item), then rescores each closed attempt whose log holds any
version of it, commits every few attempts (with progress), and lists the decisions that changed;
each changed certificate follows in the same job. A job that dies is run again: the item stays
withdrawn, attempts already rescored by this run are skipped.
"""

from sqlmodel import Session, select

from app.accounts.models import User
from app.appeals.models import WithdrawalRun
from app.appeals.service import CERTIFICATE_JOB
from app.core import audit, db, jobs, mail
from app.core.clock import to_db
from app.core.config import Settings
from app.core.errors import Conflict, InvalidInput, NotFound
from app.credentials import decisions as certificates
from app.exams import service as exams
from app.exams.models import ExamDecision
from app.itembank import service as itembank

JOB = "appeals.withdraw_item"
BATCH = 50


def start_withdrawal(
    *, session: Session, admin: User, code: str, reason: str, now
) -> WithdrawalRun:
    """Queue the withdrawal of a faulty item and the rescoring of every attempt that saw it."""
    reason = reason.strip()
    if not 10 <= len(reason) <= 2000:
        raise InvalidInput("Say why the item is withdrawn (10 to 2000 characters).")
    item = itembank.item_by_code(session, code)
    busy = session.exec(
        select(WithdrawalRun.id).where(
            WithdrawalRun.item_code == item.code, WithdrawalRun.status != "failed"
        )
    ).first()
    if busy is not None:
        raise Conflict(f"Item {item.code} is already withdrawn or being withdrawn (run {busy}).")
    run = WithdrawalRun(
        item_code=item.code, reason=reason, requested_by=admin.id, requested_at=to_db(now)
    )
    session.add(run)
    session.flush()
    jobs.enqueue(session, JOB, {"run_id": run.id}, at=now, key=f"withdrawal:{run.id}")
    audit.record(
        session,
        action="appeal.withdrawal_requested",
        at=now,
        actor_id=admin.id,
        subject=f"item:{item.code}",
        data={"run": run.id, "reason": reason},
    )
    db.commit(session)
    return run


def get_run(session: Session, run_id: int) -> WithdrawalRun:
    run = session.get(WithdrawalRun, run_id, populate_existing=True)
    if run is None:
        raise NotFound("There is no such withdrawal.")
    return run


def runs(session: Session, *, limit: int = 50) -> list[WithdrawalRun]:
    return list(session.exec(select(WithdrawalRun).order_by(WithdrawalRun.id.desc()).limit(limit)))


def _withdrawn_versions(session: Session, run: WithdrawalRun, now) -> list[int]:
    item = itembank.item_by_code(session, run.item_code)
    try:
        _item, versions = itembank.withdraw_item(
            session, code=run.item_code, reason=run.reason, actor_id=run.requested_by, now=now
        )
    except Conflict:  # withdrawn by an earlier run of this job
        versions = itembank.versions_of(session, item.id)
    return versions


def _done_by_run(session: Session, source: str) -> set[int]:
    rows = session.exec(select(ExamDecision.attempt_id).where(ExamDecision.source == source))
    return set(rows.all())


def _change(session, attempt_id: int, decision: ExamDecision) -> dict:
    attempt = exams.attempt_by_id(session, attempt_id)
    user = session.get(User, attempt.user_id)
    return {
        "attempt_id": attempt_id,
        "email": user.email,
        "track": attempt.track,
        "before": decision.previous_passed,
        "after": decision.passed,
        "score_before": attempt.scaled_score,
        "score_after": decision.scaled_score,
    }


def run_withdrawal(ctx: jobs.Context) -> dict:
    """The job: withdraw, rescore every affected attempt, report what changed."""
    session, now = ctx.session, ctx.now()
    run = get_run(session, int(ctx.payload["run_id"]))
    run.status = "running"
    versions = _withdrawn_versions(session, run, now)
    source = f"withdrawal {run.id}"
    affected = exams.attempts_that_saw(session, versions)
    done = _done_by_run(session, source)
    changes = list(run.changes)
    for k, attempt_id in enumerate(affected, start=1):
        if attempt_id in done:
            continue
        try:
            decision = exams.rescore(
                session,
                attempt_id=attempt_id,
                exclude=versions,
                reason=run.reason,
                source=source,
                actor_id=run.requested_by,
                now=now,
            )
        except Conflict:  # voided: nothing to rescore
            continue
        if decision.passed != decision.previous_passed:
            changes.append(_change(session, attempt_id, decision))
            _tell(session, changes[-1], run, now)
            jobs.enqueue(
                session,
                CERTIFICATE_JOB,
                {"decision_id": decision.id},
                at=now,
                key=f"decision:{decision.id}",
            )
        run.changes, run.attempts = list(changes), k
        session.add(run)
        if k % BATCH == 0:
            ctx.progress(k / len(affected), f"{k} of {len(affected)} attempts rescored")
    run.status, run.attempts, run.finished_at = "done", len(affected), to_db(now)
    session.add(run)
    audit.record(
        session,
        action="appeal.withdrawal_done",
        at=now,
        actor_id=run.requested_by,
        subject=f"item:{run.item_code}",
        data={"run": run.id, "attempts": len(affected), "changed": len(changes)},
    )
    db.commit(session)
    return {"attempts": len(affected), "changed": len(changes)}


def _tell(session: Session, change: dict, run: WithdrawalRun, now) -> None:
    verdict = "pass" if change["after"] else "fail"
    mail.queue(
        session,
        to=change["email"],
        subject="Your exam result has been rescored",
        kind="rescore",
        at=now,
        body=(
            f"A question of your {change['track']} exam (attempt {change['attempt_id']}) "
            f"was found faulty and withdrawn: {run.reason}\n\nYour attempt was scored again "
            f"without it. Your result now stands as a {verdict} with a scaled score of "
            f"{change['score_after']}."
        ),
    )


def follow_certificate(ctx: jobs.Context) -> dict:
    """The job after a decision: the attempt's certificate follows it."""
    session = ctx.session
    decision = session.get(ExamDecision, int(ctx.payload["decision_id"]))
    if decision is None:
        return {"skipped": "no such decision"}
    attempt = exams.attempt_by_id(session, decision.attempt_id)
    settings: Settings = ctx.settings
    verb = "Voided" if decision.kind == "void" else "Rescored"
    reason = f"{verb} ({decision.source}): {decision.reason}"
    cert = certificates.follow_decision(
        session=session,
        settings=settings,
        attempt_id=attempt.id,
        user_id=attempt.user_id,
        track=attempt.track,
        passed=bool(decision.kind == "rescore" and decision.passed),
        reason=reason[:500],
        actor_id=decision.decided_by,
        now=ctx.now(),
    )
    return {"certificate": cert.number if cert else None, "status": cert.status if cert else None}


def register() -> None:
    """Register the appeals' job kinds (idempotent)."""
    jobs.handler(JOB, lease_seconds=600)(run_withdrawal)
    jobs.handler(CERTIFICATE_JOB, lease_seconds=120)(follow_certificate)


register()
