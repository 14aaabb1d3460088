"""The credentials layer's side of exams' ports (app.exams.ports), built once per application
by create_app and once per run by the sweep, and its job kind: the exam.passed job that a
passing result records in its own transaction (app.exams.closing.finish)."""

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.core import db, jobs
from app.core.clock import Clock
from app.core.config import Settings
from app.credentials import queries, service
from app.credentials.models import Certificate
from app.exams import service as exams
from app.exams.ports import HeldCertificate, Ports


def exam_ports(settings: Settings, clock: Clock, runner: jobs.Runner) -> Ports:
    """Ports whose calls read the clock when they are made; a pass runs its job on runner."""

    def certified_tracks(session: Session, user_id: int, /) -> set[str]:
        return service.certified_tracks(session, user_id, now=clock())

    def on_exam_passed(session: Session, attempt_id: int, /, **passed: Any) -> Any:
        return record_pass(session, attempt_id, runner=runner, now=clock(), **passed)

    def held_certificates(session: Session, user_id: int, /) -> dict[str, HeldCertificate]:
        return queries.held_certificates(session, user_id, now=clock())

    return Ports(
        held_certificates=held_certificates,
        certified_tracks=certified_tracks,
        on_exam_passed=on_exam_passed,
        certificate_of=queries.certificate_of_attempt,
    )


@jobs.handler(exams.EXAM_PASSED, lease_seconds=120, max_tries=10, backoff_seconds=30)
def issue_for_passed_attempt(ctx: jobs.Context) -> dict:
    """Issue (or queue for approval) the certificate of a passed attempt; idempotent."""
    p = ctx.payload
    passed_at = datetime.fromisoformat(p["passed_at"]) if p.get("passed_at") else None
    cert = service.on_exam_passed(
        ctx.session,
        p["attempt_id"],
        settings=ctx.settings,
        now=ctx.now(),
        user_id=p.get("user_id"),
        track=p.get("track"),
        passed_at=passed_at,
    )
    return {"certificate": cert.number if cert is not None else None}


def record_pass(
    session: Session, attempt_id: int, *, runner: jobs.Runner, now: datetime, **passed: Any
) -> Certificate | None:
    """What a pass does once its result is committed: run the attempt's exam.passed job now
    (queued first when the result's transaction did not, as for an attempt closed before jobs
    existed; passed: user_id, track, passed_at when the caller knows them), so the candidate
    sees the certificate at once; a crash leaves the job to a runner. Returns the attempt's
    certificate, if it has one. Commits."""
    key = exams.passed_key(attempt_id)
    if jobs.find(session, key) is None:
        payload = {"attempt_id": attempt_id, **passed}
        if payload.get("passed_at") is not None:
            payload["passed_at"] = payload["passed_at"].isoformat()
        jobs.enqueue(session, exams.EXAM_PASSED, payload, at=now, key=key)
    db.commit(session)
    runner.run_key(key)
    return session.exec(select(Certificate).where(Certificate.attempt_id == attempt_id)).first()
