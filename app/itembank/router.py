"""Practice quizzes (pages and API) and the readiness estimate."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from app.accounts.deps import CurrentUser, api_csrf_protect, csrf_protect
from app.core.db import SessionDep
from app.core.deps import Now
from app.core.errors import InvalidInput
from app.courses import service as courses
from app.itembank import practice, schemas, service
from app.itembank.files import LETTERS
from app.web.templating import redirect, render

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["practice"], dependencies=[Depends(api_csrf_protect)])


def explain(r: service.Readiness) -> str:
    """The readiness estimate in plain words."""
    if not r.enough:
        return (
            f"Answer at least {service.READINESS_MIN_RESPONSES} practice questions of this "
            f"track to see an estimate ({r.responses} so far)."
        )
    return (
        f"From your {r.responses} practice answers, the chance that you would pass the exam "
        f"today is about {r.p_pass:.0%}. Your score would probably (8 times in 10) fall "
        f"between {r.scaled_low} and {r.scaled_high} on the exam's scale, where "
        f"{r.passing_score} passes. "
        "More practice answers narrow this range."
    )


def readiness_for(session, user, track) -> schemas.ReadinessOut:
    r = service.readiness(
        session,
        user=user,
        track=track.code,
        cut=track.policy["exam"]["cut_theta"],
        scale=courses.scale_of(track),
    )
    return schemas.ReadinessOut(
        track=track.code,
        responses=r.responses,
        enough=r.enough,
        minimum=service.READINESS_MIN_RESPONSES,
        p_pass=r.p_pass,
        scaled_low=r.scaled_low,
        scaled_high=r.scaled_high,
        explanation=explain(r),
    )


def _parse_form(form, ids: list[int], questions: dict[int, str]) -> dict[int, list[str]]:
    answers: dict[int, list[str]] = {}
    for vid in ids:
        kind = questions.get(vid)
        if kind == "ordering":
            positions = {letter: form.get(f"q{vid}_{letter}") for letter in LETTERS[:5]}
            chosen = {k: v for k, v in positions.items() if v}
            if chosen:
                if sorted(chosen.values()) != [str(i) for i in range(1, len(chosen) + 1)]:
                    raise InvalidInput(
                        "Give every element of an ordering question a different position."
                    )
                answers[vid] = [k for k, _ in sorted(chosen.items(), key=lambda kv: kv[1])]
        else:
            values = [v for v in form.getlist(f"q{vid}") if isinstance(v, str)]
            if values:
                answers[vid] = values
    return answers


QUIZZES_REMEMBERED = 20  # quiz tokens a session remembers, so a re-sent quiz is not recorded twice


@web.get("/tracks/{code}/modules/{module_code}/practice")
def practice_page(
    request: Request, code: str, module_code: str, session: SessionDep, user: CurrentUser
):
    track = courses.get_track(session, code)
    module = courses.get_module(session, track, module_code)
    questions = practice.draw_practice(session, user=user, track=track.code, module=module.code)
    return _quiz(request, track, module, questions)


def _quiz(request, track, module, questions, message="", chosen=None, status=200):
    """The quiz page; after a refused submission, the message and what was chosen."""
    context = {
        "track": track,
        "module": module,
        "questions": questions,
        "letters": LETTERS,
        "quiz": secrets.token_urlsafe(12),
        "message": message,
        "chosen": chosen or {},
    }
    return render(request, "itembank/practice.html", context, status)


async def form_data(request: Request) -> FormData:
    """The parsed form, so that the route itself can stay synchronous."""
    return await request.form()


@web.post("/tracks/{code}/modules/{module_code}/practice")
def practice_submit(
    request: Request,
    code: str,
    module_code: str,
    session: SessionDep,
    user: CurrentUser,
    form: Annotated[FormData, Depends(form_data)],
    now: Now,
):
    """Record the answers once (a quiz token the session remembers), then redirect to the
    feedback (post, redirect, get: reloading the feedback records nothing)."""
    track = courses.get_track(session, code)
    module = courses.get_module(session, track, module_code)
    try:
        ids = [int(x) for x in str(form.get("items", "")).split(",") if x][:20]
    except ValueError as exc:
        raise InvalidInput("The quiz form was damaged; reload the quiz.") from exc
    kinds = {
        int(k[5:]): str(v) for k, v in form.items() if k.startswith("type_") and k[5:].isdigit()
    }
    quiz, done = str(form.get("quiz", ""))[:32], request.session.get("quizzes_done", [])
    try:
        answers = _parse_form(form, ids, kinds)
        if quiz and quiz in done:
            practice.grade_practice(session, answers)
        else:
            practice.answer_practice(session=session, user=user, answers=answers, now=now)
    except InvalidInput as exc:
        questions = practice.practice_questions(
            session, track=track.code, module=module.code, ids=ids
        )
        chosen = {k: form.getlist(k) for k in form if k.startswith("q")}
        return _quiz(request, track, module, questions, exc.message, chosen, exc.status_code)
    request.session["quizzes_done"] = ([*done, quiz] if quiz else done)[-QUIZZES_REMEMBERED:]
    request.session["practice_feedback"] = {
        "module": module.code,
        "answers": {str(k): v for k, v in answers.items()},
        "unanswered": len(ids) - len(answers),
    }
    return redirect(f"/tracks/{track.code}/modules/{module.code}/practice/feedback")


@web.get("/tracks/{code}/modules/{module_code}/practice/feedback")
def practice_feedback(
    request: Request, code: str, module_code: str, session: SessionDep, user: CurrentUser
):
    """The feedback on the quiz just submitted (graded again from the session; nothing recorded)."""
    track = courses.get_track(session, code)
    module = courses.get_module(session, track, module_code)
    last = request.session.get("practice_feedback") or {}
    if last.get("module") != module.code:
        return redirect(f"/tracks/{track.code}/modules/{module.code}/practice")
    answers = {int(k): list(v) for k, v in last["answers"].items()}
    context = {
        "track": track,
        "module": module,
        "feedback": practice.grade_practice(session, answers),
        "unanswered": last.get("unanswered", 0),
        "readiness": readiness_for(session, user, track),
    }
    return render(request, "itembank/feedback.html", context)


@api.get(
    "/tracks/{code}/modules/{module_code}/practice",
    response_model=list[schemas.PracticeQuestionOut],
)
def api_practice(code: str, module_code: str, session: SessionDep, user: CurrentUser):
    """Draw a practice quiz for a module (questions you answered least come first)."""
    track = courses.get_track(session, code)
    module = courses.get_module(session, track, module_code)
    return [
        schemas.PracticeQuestionOut(id=q.version_id, type=q.type, stem=q.stem, options=q.options)
        for q in practice.draw_practice(session, user=user, track=track.code, module=module.code)
    ]


@api.post("/practice/answers", response_model=list[schemas.PracticeFeedbackOut])
def api_practice_answers(
    data: schemas.PracticeSubmission, session: SessionDep, user: CurrentUser, now: Now
):
    """Answer practice questions; the feedback carries every option's rationale."""
    answers = {a.id: list(a.answer) for a in data.answers}
    feedback = practice.answer_practice(session=session, user=user, answers=answers, now=now)
    return [
        schemas.PracticeFeedbackOut(
            id=f.version_id, correct=f.correct, answer=f.answer, key=f.key, options=f.options
        )
        for f in feedback
    ]


@api.get("/readiness/{code}", response_model=schemas.ReadinessOut)
def api_readiness(code: str, session: SessionDep, user: CurrentUser):
    """Your estimated probability of passing the track's exam, from your practice answers."""
    return readiness_for(session, user, courses.get_track(session, code))
