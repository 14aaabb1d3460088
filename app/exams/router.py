"""Exam pages and API for candidates: eligibility, start, the adaptive item loop, results."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.accounts.deps import (
    CurrentUser,
    SignedInApiInRoute,
    SignedInInRoute,
    api_csrf_protect,
    as_caller,
    csrf_protect,
)
from app.core.db import SessionDep
from app.core.errors import Conflict, InvalidInput
from app.courses import service as courses
from app.exams import schemas, service
from app.exams.errors import AttemptClosed, StaleItem
from app.exams.models import ExamAttempt
from app.itembank.files import LETTERS
from app.web.templating import redirect, render, schema_response

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
AttemptId = Annotated[int, Path(ge=1, le=2**31 - 1)]

api = APIRouter(prefix="/api/v1/exams", tags=["exams"], dependencies=[Depends(api_csrf_protect)])
# The exam loop's two API routes (one request per question): one dependency that checks both
# sign-in and CSRF (see signed_in_api_in_route), so no router-wide dependency here.
loop = APIRouter(prefix="/api/v1/exams", tags=["exams"])


def hooks(request: Request) -> dict:
    """The ports the credentials layer plugs in (see create_app)."""
    return {
        "certified_tracks": request.app.state.certified_tracks,
        "on_exam_passed": request.app.state.on_exam_passed,
    }


def now(request: Request):
    return request.app.state.clock()


def present(request: Request, session, user, attempt_id: int) -> service.AttemptView:
    """The attempt with its pending item (the sweep's rules applied first)."""
    return service.present(
        session=session,
        user=user,
        attempt_id=attempt_id,
        now=now(request),
        on_exam_passed=hooks(request)["on_exam_passed"],
    )


def eligibility_out(session, request, user, track) -> schemas.EligibilityOut:
    e = service.eligibility_for(
        session=session, user=user, track=track.code, now=now(request), **hooks(request)
    )
    exam = track.policy["exam"]
    return schemas.EligibilityOut(
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


def attempt_out(v: service.AttemptView) -> schemas.AttemptOut:
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


def result_out(session, attempt: ExamAttempt) -> schemas.ResultOut:
    if attempt.status == "open" or attempt.result is None:
        raise Conflict("This attempt is still in progress; its result is not ready.")
    domains = [
        schemas.DomainOut(
            code=d.code,
            title=d.title,
            result=d.label,
            questions=d.n_items,
            study=[schemas.StudyLink(title=t, href=h) for t, h in d.lessons],
        )
        for d in service.domain_results(session, attempt)
    ]
    return schemas.ResultOut(
        attempt_id=attempt.id,
        track=attempt.track,
        status=attempt.status,
        passed=bool(attempt.passed),
        scaled_score=attempt.scaled_score,
        answered=attempt.step,
        time_expired=attempt.end_reason == service.EXPIRED,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        domains=domains,
    )


def history_out(attempts) -> list[schemas.HistoryOut]:
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


# ---------------------------------------------------------------- pages


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def parse_answer(form: FormData) -> tuple[int, str, list[str]]:
    """position, token and the chosen letters (an ordering comes as one position per letter)."""
    try:
        position = int(str(form.get("position", "0")))
    except ValueError as exc:
        raise InvalidInput("The exam form was damaged; reload the page.") from exc
    token = str(form.get("token", ""))[:40]
    ranks = {k: str(form.get(f"rank_{k}", "")) for k in LETTERS[:5] if form.get(f"rank_{k}")}
    if ranks:
        if sorted(ranks.values()) != [str(i) for i in range(1, len(ranks) + 1)]:
            raise InvalidInput("Give every element a different position (1 = first).")
        return position, token, [k for k, _ in sorted(ranks.items(), key=lambda kv: kv[1])]
    return position, token, [str(v) for v in form.getlist("answer")][:5]


@web.get("/exams")
def exams_page(request: Request, session: SessionDep, user: CurrentUser):
    tracks = [eligibility_out(session, request, user, t) for t in courses.list_tracks(session)]
    history = history_out(service.history(session, user=user))
    return render(request, "exams/index.html", {"tracks": tracks, "history": history})


@web.get("/exams/attempts/{attempt_id}", dependencies=[SignedInInRoute])
async def attempt_page(request: Request, attempt_id: AttemptId):
    """The question page (one thread hand-off, like the API's exam loop: see as_caller)."""

    def work(session, user):
        return _attempt_response(request, session, present(request, session, user, attempt_id))

    return await as_caller(request, work)


def _attempt_response(request, session, v: service.AttemptView, message="", status=200):
    if v.attempt.status != "open":
        return render(
            request,
            "exams/result.html",
            {"r": result_out(session, v.attempt), "message": message},
            status_code=status,
        )
    return render(
        request,
        "exams/attempt.html",
        {"a": attempt_out(v), "letters": LETTERS, "message": message},
        status_code=status,
    )


@web.post("/exams/attempts/{attempt_id}/answer", dependencies=[SignedInInRoute])
async def answer_form(request: Request, attempt_id: AttemptId, form: Form):
    """A form post answers; the redirect shows the next question (one thread hand-off)."""

    def work(session, user):
        position, token, answer = parse_answer(form)
        try:
            service.submit_answer(
                session=session,
                user=user,
                attempt_id=attempt_id,
                position=position,
                token=token,
                answer=answer,
                now=now(request),
                on_exam_passed=hooks(request)["on_exam_passed"],
            )
        except (StaleItem, AttemptClosed, InvalidInput) as exc:
            v = present(request, session, user, attempt_id)
            return _attempt_response(request, session, v, exc.message, exc.status_code)
        return redirect(f"/exams/attempts/{attempt_id}")

    return await as_caller(request, work)


@web.get("/exams/attempts/{attempt_id}/report")
def report_page(request: Request, attempt_id: AttemptId, session: SessionDep, user: CurrentUser):
    attempt = service.get_attempt(session, user=user, attempt_id=attempt_id)
    return render(
        request,
        "exams/report.html",
        {"r": result_out(session, attempt), "candidate": user.name},
    )


@web.get("/exams/{code}")
def track_page(request: Request, code: str, session: SessionDep, user: CurrentUser):
    track = courses.get_track(session, code)
    return render(
        request,
        "exams/track.html",
        {
            "e": eligibility_out(session, request, user, track),
            "history": history_out(service.history(session, user=user, track=track.code)),
        },
    )


@web.post("/exams/{code}/start")
def start_form(request: Request, code: str, session: SessionDep, user: CurrentUser):
    attempt = service.start_attempt(
        session=session, user=user, track=code, now=now(request), **hooks(request)
    )
    return redirect(f"/exams/attempts/{attempt.id}")


# ---------------------------------------------------------------- API


@api.get("", response_model=list[schemas.EligibilityOut])
def api_exams(request: Request, session: SessionDep, user: CurrentUser):
    """Every track's exam with your eligibility."""
    return [eligibility_out(session, request, user, t) for t in courses.list_tracks(session)]


@api.get("/history", response_model=list[schemas.HistoryOut])
def api_history(session: SessionDep, user: CurrentUser):
    """Your attempts, newest first."""
    return history_out(service.history(session, user=user))


@loop.get(
    "/attempts/{attempt_id}", response_model=schemas.AttemptOut, dependencies=[SignedInApiInRoute]
)
async def api_attempt(request: Request, attempt_id: AttemptId):
    """The attempt with its pending question (the same one until it is answered)."""

    def work(session, user):
        return schema_response(attempt_out(present(request, session, user, attempt_id)))

    return await as_caller(request, work)


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


@loop.post(
    "/attempts/{attempt_id}/answers",
    response_model=schemas.AnswerOut,
    dependencies=[SignedInApiInRoute],
    openapi_extra=ANSWER_BODY,
)
async def api_answer(request: Request, attempt_id: AttemptId):
    """Answer the pending question; repeating the same answer is safe (duplicate: true)."""
    data = await answer_body(request)

    def work(session, user):
        outcome, v = service.answer_and_next(
            session=session,
            user=user,
            attempt_id=attempt_id,
            position=data.position,
            token=data.token,
            answer=data.answer,
            now=now(request),
            on_exam_passed=hooks(request)["on_exam_passed"],
        )  # the answer is committed first; the next item is chosen in its own transaction
        a = v.attempt
        return schema_response(
            schemas.AnswerOut(
                attempt_id=a.id,
                position=outcome.position,
                accepted=outcome.accepted,
                duplicate=outcome.duplicate,
                status=a.status,
                answered=a.step,
                next_url=f"/api/v1/exams/attempts/{a.id}"
                + ("/result" if a.status != "open" else ""),
                attempt=attempt_out(v),
            )
        )

    return await as_caller(request, work)


@api.get("/attempts/{attempt_id}/result", response_model=schemas.ResultOut)
def api_result(attempt_id: AttemptId, session: SessionDep, user: CurrentUser):
    """The result of a finished attempt with per-domain diagnostics."""
    return result_out(session, service.get_attempt(session, user=user, attempt_id=attempt_id))


@api.get("/{code}/eligibility", response_model=schemas.EligibilityOut)
def api_eligibility(request: Request, code: str, session: SessionDep, user: CurrentUser):
    """Whether you may start this exam now; if not, why and from when."""
    return eligibility_out(session, request, user, courses.get_track(session, code))


@api.post("/{code}/attempts", response_model=schemas.AttemptOut, status_code=201)
def api_start(request: Request, code: str, session: SessionDep, user: CurrentUser):
    """Start an attempt; the clock starts now. The first question is included."""
    attempt = service.start_attempt(
        session=session, user=user, track=code, now=now(request), **hooks(request)
    )
    return schema_response(
        attempt_out(service.started_view(session, user=user, attempt=attempt, now=now(request))),
        status_code=201,
    )
