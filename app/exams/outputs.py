"""What the exam pages and the exam API show, built from the services' results: the schemas
both routers render or return (eligibility, the attempt, the result, the history)."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Request
from sqlmodel import Session

from app.core.errors import Conflict
from app.courses.models import Track
from app.exams import agreement as candidate_agreement
from app.exams import closing, results, schemas, service
from app.exams.models import ExamAttempt
from app.exams.ports import Ports
from app.exams.views import AttemptView

AttemptId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Caller = Any  # a bearer token's accounts.tokens.Caller or the session's User: .id and .role


def ports(request: Request) -> Ports:
    """What the credentials layer plugs into exams (built by create_app)."""
    return request.app.state.ports


def eligibility_out(
    session: Session, request: Request, user_id: int, track: Track, now: datetime
) -> schemas.EligibilityOut:
    e = service.eligibility_for(
        session=session, user_id=user_id, track=track.code, now=now, ports=ports(request)
    )
    exam = track.policy["exam"]
    held = ports(request).held_certificates(session, user_id).get(track.code)
    return schemas.EligibilityOut(
        held=held and schemas.HeldOut(**held.__dict__),
        track=track.code,
        title=track.title,
        eligible=e.eligible,
        reasons=e.reasons,
        available_from=e.available_from,
        open_attempt_id=e.open_attempt_id,
        attempts_last_12_months=e.attempts_last_12_months,
        max_attempts_per_12_months=e.max_attempts_per_12_months,
        time_limit_minutes=exam["time_limit_minutes"] * e.time_factor,
        min_questions=exam["min_items"] + exam["pretest_items"],
        max_questions=exam["max_items"] + exam["pretest_items"],
    )


def agreement_out() -> schemas.AgreementOut:
    return schemas.AgreementOut(
        version=candidate_agreement.VERSION, clauses=list(candidate_agreement.CLAUSES)
    )


def attempt_out(v: AttemptView) -> schemas.AttemptOut:
    a = v.attempt
    item = schemas.ItemOut(**v.item.__dict__) if v.item else None
    return schemas.AttemptOut(
        id=a.id,
        track=a.track,
        status=a.status,
        started_at=a.started_at,
        deadline_at=a.deadline_at,
        answered=v.answered,
        seconds_left=v.seconds_left,
        warning=v.warning,
        item=item,
        result_url=None if a.status == "open" else f"/api/v1/exams/attempts/{a.id}/result",
    )


def result_out(request: Request, session: Session, attempt: ExamAttempt) -> schemas.ResultOut:
    if attempt.status == "open" or attempt.result is None:
        raise Conflict("This attempt is still in progress; its result is not ready.")
    domains = [
        schemas.DomainOut(
            code=d.code,
            title=d.title,
            result=d.label,
            relative=d.relative,
            questions=d.n_items,
            correct=d.n_correct,
            expected=None if d.expected is None else round(d.expected, 1),
            level=d.level,
            level_range=d.level_range,
            study=[schemas.StudyLink(title=t, href=h) for t, h in d.lessons],
        )
        for d in results.domain_results(session, attempt)
    ]
    return schemas.ResultOut(
        attempt_id=attempt.id,
        track=attempt.track,
        status=attempt.status,
        passed=bool(attempt.passed),
        scaled_score=attempt.scaled_score,
        passing_score=results.passing_score(attempt),
        scale_version=results.scale_version(attempt),
        answered=attempt.step,
        time_expired=attempt.end_reason == closing.EXPIRED,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        domains=domains,
        certificate=certificate_out(request, session, attempt),
    )


def certificate_out(
    request: Request, session: Session, attempt: ExamAttempt
) -> schemas.CertificateRef | None:
    """The certificate a pass earned (through the credentials port), if recorded yet."""
    if not attempt.passed:
        return None
    note = ports(request).certificate_of(session, attempt.id)
    if note is None:
        return None
    return schemas.CertificateRef(number=note.number, status=note.status, url=note.verify_url)


def history_out(attempts: list[ExamAttempt]) -> list[schemas.HistoryOut]:
    return [
        schemas.HistoryOut(
            id=a.id,
            track=a.track,
            status=a.status,
            started_at=a.started_at,
            finished_at=a.finished_at,
            passed=a.passed,
            scaled_score=a.scaled_score,
            url=f"/exams/attempts/{a.id}",
        )
        for a in attempts
    ]
