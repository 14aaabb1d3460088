"""Exam pages for candidates: eligibility, the rules and agreement, start, the adaptive item
loop, results. The API is in api_router.py; what both show is built in outputs.py."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Form as FastForm
from sqlmodel import Session
from starlette.datastructures import FormData

from app.accounts.deps import CurrentUser, SignedIn, csrf_protect, in_lane
from app.core.db import SessionDep
from app.core.deps import Now
from app.core.errors import InvalidInput
from app.courses import service as courses
from app.exams import delivery, outputs, rescoring, results, service
from app.exams.errors import AgreementNeeded, AttemptClosed, NotEligible, StaleItem
from app.exams.models import ExamAttempt
from app.exams.outputs import AttemptId, Caller
from app.exams.views import AttemptView
from app.itembank.files import LETTERS
from app.web.templating import redirect, render

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]
Agreement = Annotated[str, FastForm(max_length=20)]


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


def kept_choices(form: FormData) -> dict:
    """What the candidate chose on a refused answer, to show it again (never stored)."""
    ranks = {f"rank_{k}": str(form.get(f"rank_{k}", ""))[:2] for k in LETTERS[:5]}
    return {**ranks, "answer": [str(v)[:1] for v in form.getlist("answer")][:5]}


@web.get("/exams")
def exams_page(request: Request, session: SessionDep, user: CurrentUser, now: Now):
    tracks = [
        outputs.eligibility_out(session, request, user.id, t, now)
        for t in courses.list_tracks(session)
    ]
    history = outputs.history_out(service.history(session, user_id=user.id))
    return render(request, "exams/index.html", {"tracks": tracks, "history": history})


# The exam loop's routes: each hands a module-level work(session, caller, **arguments) to the
# exam lane (accounts.deps.in_lane), which signs the caller in on the lane's session.


def question_page(
    session: Session, caller: Caller, *, request: Request, attempt_id: int, now: datetime
) -> Response:
    v = delivery.present(
        session=session,
        user_id=caller.id,
        attempt_id=attempt_id,
        now=now,
        ports=outputs.ports(request),
    )
    return _attempt_response(request, session, v)


@web.get("/exams/attempts/{attempt_id}", dependencies=[SignedIn])
async def attempt_page(request: Request, attempt_id: AttemptId, now: Now):
    """The question page (or the result once the attempt has ended)."""
    return await in_lane(request, question_page, request=request, attempt_id=attempt_id, now=now)


def _attempt_response(
    request: Request,
    session: Session,
    v: AttemptView,
    message: str = "",
    status: int = 200,
    chosen: dict[str, Any] | None = None,
) -> Response:
    """The question page (or the result once the attempt has ended); `chosen` refills the form
    with what the candidate sent when it was refused."""
    if not isinstance(v.attempt, ExamAttempt):
        return render(
            request,
            "exams/attempt.html",
            {"a": outputs.attempt_out(v), "letters": LETTERS, "message": message, "chosen": chosen},
            status_code=status,
        )
    context = {
        "r": outputs.result_out(request, session, v.attempt),
        "message": message,
        "decision": rescoring.in_force(session, v.attempt.id).decision,
    }
    return render(request, "exams/result.html", context, status_code=status)


def answer_page(
    session: Session,
    caller: Caller,
    *,
    request: Request,
    attempt_id: int,
    form: FormData,
    now: datetime,
) -> Response:
    """Record the form's answer with the next question (chosen in the answer's transaction)
    and go to it; a refused answer comes back on the question page with its message."""
    try:
        sent = delivery.Answer(caller.id, attempt_id, *parse_answer(form))
        delivery.submit_answer(session, sent, now=now, ports=outputs.ports(request), and_next=True)
    except (StaleItem, AttemptClosed, InvalidInput) as exc:
        v = delivery.present(
            session=session,
            user_id=caller.id,
            attempt_id=attempt_id,
            now=now,
            ports=outputs.ports(request),
        )
        chosen = kept_choices(form) if isinstance(exc, InvalidInput) else None
        return _attempt_response(request, session, v, exc.message, exc.status_code, chosen)
    return redirect(f"/exams/attempts/{attempt_id}")


@web.post("/exams/attempts/{attempt_id}/answer", dependencies=[SignedIn])
async def answer_form(request: Request, attempt_id: AttemptId, form: Form, now: Now):
    """A form post answers; the redirect shows the next question (one thread hand-off)."""
    return await in_lane(
        request, answer_page, request=request, attempt_id=attempt_id, form=form, now=now
    )


@web.get("/exams/attempts/{attempt_id}/report")
def report_page(request: Request, attempt_id: AttemptId, session: SessionDep, user: CurrentUser):
    attempt = results.own_attempt(session, user_id=user.id, attempt_id=attempt_id)
    return render(
        request,
        "exams/report.html",
        {"r": outputs.result_out(request, session, attempt), "candidate": user.name},
    )


def _track_response(
    request: Request,
    session: Session,
    user_id: int,
    code: str,
    now: datetime,
    message: str = "",
    status: int = 200,
) -> Response:
    track = courses.get_track(session, code)
    return render(
        request,
        "exams/track.html",
        {
            "e": outputs.eligibility_out(session, request, user_id, track, now),
            "history": outputs.history_out(
                service.history(session, user_id=user_id, track=track.code)
            ),
            "message": message,
        },
        status_code=status,
    )


@web.get("/exams/{code}")
def track_page(request: Request, code: str, session: SessionDep, user: CurrentUser, now: Now):
    return _track_response(request, session, user.id, code, now)


def _confirm_response(
    request: Request,
    session: Session,
    user_id: int,
    code: str,
    now: datetime,
    message: str = "",
    status: int = 200,
) -> Response:
    """The rules and the candidate agreement, before the clock starts (the track page when
    the candidate may not start)."""
    e = outputs.eligibility_out(session, request, user_id, courses.get_track(session, code), now)
    if not e.eligible:
        return _track_response(request, session, user_id, code, now, message, status)
    context = {"e": e, "agreement": outputs.agreement_out(), "message": message}
    return render(request, "exams/confirm.html", context, status_code=status)


@web.get("/exams/{code}/start")
def confirm_page(request: Request, code: str, session: SessionDep, user: CurrentUser, now: Now):
    return _confirm_response(request, session, user.id, code, now)


@web.post("/exams/{code}/start")
def start_form(
    request: Request,
    code: str,
    session: SessionDep,
    user: CurrentUser,
    now: Now,
    agreement: Agreement = "",
):
    """Start once the agreement is accepted, or say why not: on the confirmation page (no
    agreement) or the exam's page (which links to an attempt already running)."""
    try:
        attempt = service.start_attempt(
            session=session,
            user_id=user.id,
            track=code,
            now=now,
            agreement=agreement or None,
            ports=outputs.ports(request),
        )
    except AgreementNeeded as exc:
        return _confirm_response(request, session, user.id, code, now, exc.message, exc.status_code)
    except NotEligible as exc:
        return _track_response(request, session, user.id, code, now, exc.message, exc.status_code)
    return redirect(f"/exams/attempts/{attempt.id}")
