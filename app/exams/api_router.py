"""The exam API for candidates (/api/v1/exams): eligibility, start, the adaptive item loop
(one request per question, in the exam lane), results. The pages are in router.py."""

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts.deps import CurrentUser, SignedIn, api_csrf_protect, in_lane
from app.core.db import SessionDep
from app.core.deps import Now
from app.courses import service as courses
from app.exams import delivery, results, schemas, service
from app.exams.outputs import (
    AttemptId,
    Caller,
    agreement_out,
    attempt_out,
    eligibility_out,
    history_out,
    ports,
    result_out,
)
from app.web.templating import schema_response

api = APIRouter(prefix="/api/v1/exams", tags=["exams"], dependencies=[Depends(api_csrf_protect)])
# The exam loop's two API routes (one request per question): one dependency that checks both
# sign-in and CSRF (SignedIn), so no router-wide dependency here.
loop = APIRouter(prefix="/api/v1/exams", tags=["exams"])


@api.get("", response_model=list[schemas.EligibilityOut])
def api_exams(request: Request, session: SessionDep, user: CurrentUser, now: Now):
    """Every track's exam with your eligibility."""
    return [
        eligibility_out(session, request, user.id, t, now) for t in courses.list_tracks(session)
    ]


@api.get("/history", response_model=list[schemas.HistoryOut])
def api_history(session: SessionDep, user: CurrentUser):
    """Your attempts, newest first."""
    return history_out(service.history(session, user_id=user.id))


def attempt_json(
    session: Session, caller: Caller, *, request: Request, attempt_id: int, now: datetime
) -> Response:
    v = delivery.present(
        session=session, user_id=caller.id, attempt_id=attempt_id, now=now, ports=ports(request)
    )
    return schema_response(attempt_out(v))


@loop.get("/attempts/{attempt_id}", response_model=schemas.AttemptOut, dependencies=[SignedIn])
async def api_attempt(request: Request, attempt_id: AttemptId, now: Now):
    """The attempt with its pending question (the same one until it is answered)."""
    return await in_lane(request, attempt_json, request=request, attempt_id=attempt_id, now=now)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def answer_body(request: Request) -> schemas.AnswerIn:
    """The answer's JSON body, parsed and validated by pydantic-core in one step; invalid
    JSON or fields get the same 422 as any other route. (A `data: AnswerIn` parameter goes
    through FastAPI's body machinery: 1.4% more instructions per answer, docs/BENCHMARKS.md.)"""
    if request.headers.get("content-type", "").startswith(FORM_TYPES):  # (perhaps read already)
        raise RequestValidationError(
            [{"type": "json_type", "loc": ("body",), "msg": "The answer must be sent as JSON."}]
        )
    try:
        return schemas.AnswerIn.model_validate_json(await request.body())
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None


ANSWER_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": schemas.AnswerIn.model_json_schema()}},
    }
}


def answer_json(
    session: Session,
    caller: Caller,
    *,
    request: Request,
    attempt_id: int,
    data: schemas.AnswerIn,
    now: datetime,
) -> Response:
    """Answer, then the next question in the same response (the answer is committed first;
    the next item is chosen in its own transaction)."""
    sent = delivery.Answer(caller.id, attempt_id, data.position, data.token, data.answer)
    outcome, v = delivery.answer_and_next(session, sent, now=now, ports=ports(request))
    a = v.attempt
    next_url = f"/api/v1/exams/attempts/{a.id}" + ("/result" if a.status != "open" else "")
    body = schemas.AnswerOut(
        attempt_id=a.id, position=outcome.position, accepted=outcome.accepted,
        duplicate=outcome.duplicate, status=a.status, answered=a.step, next_url=next_url,
        attempt=attempt_out(v),
    )  # fmt: skip
    return schema_response(body)


@loop.post(
    "/attempts/{attempt_id}/answers",
    response_model=schemas.AnswerOut,
    dependencies=[SignedIn],
    openapi_extra=ANSWER_BODY,
)
async def api_answer(request: Request, attempt_id: AttemptId, now: Now):
    """Answer the pending question; repeating the same answer is safe (duplicate: true)."""
    data = await answer_body(request)
    return await in_lane(
        request, answer_json, request=request, attempt_id=attempt_id, data=data, now=now
    )


@api.get("/attempts/{attempt_id}/result", response_model=schemas.ResultOut)
def api_result(request: Request, attempt_id: AttemptId, session: SessionDep, user: CurrentUser):
    """The result of a finished attempt with per-domain diagnostics."""
    attempt = results.own_attempt(session, user_id=user.id, attempt_id=attempt_id)
    return result_out(request, session, attempt)


@api.get("/{code}/eligibility", response_model=schemas.EligibilityOut)
def api_eligibility(request: Request, code: str, session: SessionDep, user: CurrentUser, now: Now):
    """Whether you may start this exam now; if not, why and from when."""
    return eligibility_out(session, request, user.id, courses.get_track(session, code), now)


@api.get("/agreement", response_model=schemas.AgreementOut)
def api_agreement():
    """The candidate agreement a start must accept (send its version when you start)."""
    return agreement_out()


@api.post("/{code}/attempts", response_model=schemas.AttemptOut, status_code=201)
def api_start(
    request: Request,
    code: str,
    body: schemas.StartIn,
    session: SessionDep,
    user: CurrentUser,
    now: Now,
):
    """Start an attempt, accepting the candidate agreement (its version, from GET
    /api/v1/exams/agreement); the clock starts now. The first question is included."""
    attempt = service.start_attempt(
        session=session,
        user_id=user.id,
        track=code,
        now=now,
        agreement=body.agreement,
        ports=ports(request),
    )
    v = delivery.started_view(session, attempt=attempt, now=now, ports=ports(request))
    return schema_response(attempt_out(v), status_code=201)
