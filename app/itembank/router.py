"""Practice quizzes (pages and API) and the readiness estimate."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData

from app.accounts.deps import CurrentUser, api_csrf_protect, csrf_protect
from app.core.db import SessionDep
from app.core.errors import InvalidInput
from app.courses import service as courses
from app.itembank import schemas, service
from app.itembank.files import LETTERS
from app.web.templating import render

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
        f"between {r.scaled_low} and {r.scaled_high} on the 200-800 scale, where 500 passes. "
        "More practice answers narrow this range."
    )


def readiness_for(session, user, track) -> schemas.ReadinessOut:
    r = service.readiness(
        session, user=user, track=track.code, cut=track.policy["exam"]["cut_theta"]
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


@web.get("/tracks/{code}/modules/{module_code}/practice")
def practice_page(
    request: Request, code: str, module_code: str, session: SessionDep, user: CurrentUser
):
    track = courses.get_track(session, code)
    module = courses.get_module(session, track, module_code)
    questions = service.draw_practice(session, user=user, track=track.code, module=module.code)
    return render(
        request,
        "itembank/practice.html",
        {"track": track, "module": module, "questions": questions, "letters": LETTERS},
    )


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
):
    track = courses.get_track(session, code)
    module = courses.get_module(session, track, module_code)
    try:
        ids = [int(x) for x in str(form.get("items", "")).split(",") if x][:20]
    except ValueError as exc:
        raise InvalidInput("The quiz form was damaged; reload the quiz.") from exc
    kinds = {
        int(k[5:]): str(v) for k, v in form.items() if k.startswith("type_") and k[5:].isdigit()
    }
    answers = _parse_form(form, ids, kinds)
    feedback = service.answer_practice(
        session=session, user=user, answers=answers, now=request.app.state.clock()
    )
    return render(
        request,
        "itembank/feedback.html",
        {
            "track": track,
            "module": module,
            "feedback": feedback,
            "unanswered": len(ids) - len(answers),
            "readiness": readiness_for(session, user, track),
        },
    )


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
        for q in service.draw_practice(session, user=user, track=track.code, module=module.code)
    ]


@api.post("/practice/answers", response_model=list[schemas.PracticeFeedbackOut])
def api_practice_answers(
    request: Request, data: schemas.PracticeSubmission, session: SessionDep, user: CurrentUser
):
    """Answer practice questions; the feedback carries every option's rationale."""
    answers = {a.id: list(a.answer) for a in data.answers}
    feedback = service.answer_practice(
        session=session, user=user, answers=answers, now=request.app.state.clock()
    )
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
