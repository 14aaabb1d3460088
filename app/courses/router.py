"""The catalogue, track and module pages, lessons and progress (pages and API)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from app.accounts.deps import CurrentUser, OptionalUser, api_csrf_protect, csrf_protect
from app.core.db import SessionDep
from app.core.deps import Now
from app.courses import schemas, service
from app.web.markdown import render_markdown
from app.web.params import Id
from app.web.templating import flash, redirect, render

web = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["courses"], dependencies=[Depends(api_csrf_protect)])


def _track_out(now, session, track, with_modules: bool = False) -> schemas.TrackOut:
    """A track as pages and the API show it, with the passing score of the cut in force now."""
    modules = []
    if with_modules:
        modules = [
            schemas.ModuleOut(
                code=m.code,
                title=m.title,
                domains=m.domains,
                objectives=m.objectives,
                lessons=[lv.slug for lv in service.lessons_of(session, m)],
            )
            for m in service.modules_of(session, track)
        ]
    p = track.policy
    return schemas.TrackOut(
        code=track.code,
        title=track.title,
        level=track.level,
        summary=track.summary,
        audience=track.audience,
        prerequisites=p["prerequisites"],
        exam=p["exam"],
        validity=p["validity"],
        blueprint=p["blueprint"],
        scale=p["scale"],
        passing_score=service.passing_score(session, track, now=now),
        modules=modules,
    )


def _lesson_out(session, user, track, module_code, slug) -> schemas.LessonOut:
    lv, prev, nxt = service.get_lesson(session, track, module_code, slug)
    done = user is not None and lv.id in service.completed_lesson_ids(session, user)

    def href(x):
        return f"/tracks/{track.code}/modules/{x.module_code}/lessons/{x.slug}" if x else None

    return schemas.LessonOut(
        id=lv.id,
        track=track.code,
        module=lv.module_code,
        slug=lv.slug,
        title=lv.title,
        objectives=lv.objectives,
        minutes=lv.minutes,
        sources=lv.sources,
        version=lv.version,
        markdown=lv.body,
        html=render_markdown(lv.body),
        completed=done,
        previous=href(prev),
        next=href(nxt),
    )


@web.get("/")
def home(request: Request, session: SessionDep, user: OptionalUser, now: Now):
    tracks = [_track_out(now, session, t) for t in service.list_tracks(session)]
    return render(request, "courses/home.html", {"tracks": tracks})


@web.get("/search")
def search_page(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    q: Annotated[str, Query(max_length=200)] = "",
):
    """Lessons and modules that contain the words, with the words highlighted."""
    return render(
        request, "courses/search.html", {"q": q, "hits": service.search_lessons(session, q)}
    )


@web.get("/tracks")
def catalogue(request: Request, session: SessionDep, user: OptionalUser, now: Now):
    tracks = [_track_out(now, session, t) for t in service.list_tracks(session)]
    return render(request, "courses/catalogue.html", {"tracks": tracks})


@web.get("/tracks/{code}")
def track_page(request: Request, code: str, session: SessionDep, user: OptionalUser, now: Now):
    track = service.get_track(session, code)
    progress = {p.code: p for p in service.progress(session, user, track)} if user else {}
    return render(
        request,
        "courses/track.html",
        {
            "track": _track_out(now, session, track, with_modules=True),
            "progress": progress,
            "sources": {},
        },
    )


@web.get("/tracks/{code}/modules/{module_code}")
def module_page(
    request: Request, code: str, module_code: str, session: SessionDep, user: OptionalUser, now: Now
):
    track = service.get_track(session, code)
    module = service.get_module(session, track, module_code)
    done = service.completed_lesson_ids(session, user) if user else set()
    return render(
        request,
        "courses/module.html",
        {
            "track": _track_out(now, session, track),
            "module": module,
            "lessons": service.lessons_of(session, module),
            "done": done,
        },
    )


@web.get("/tracks/{code}/modules/{module_code}/lessons/{slug}")
def lesson_page(
    request: Request,
    code: str,
    module_code: str,
    slug: str,
    session: SessionDep,
    user: OptionalUser,
):
    track = service.get_track(session, code)
    lesson = _lesson_out(session, user, track, module_code, slug)
    return render(request, "courses/lesson.html", {"lesson": lesson, "track_title": track.title})


@web.post("/tracks/{code}/modules/{module_code}/lessons/{slug}/complete")
def lesson_complete(
    request: Request,
    code: str,
    module_code: str,
    slug: str,
    session: SessionDep,
    user: CurrentUser,
    now: Now,
):
    track = service.get_track(session, code)
    lesson = _lesson_out(session, user, track, module_code, slug)
    service.mark_complete(session=session, user=user, lesson_id=lesson.id, now=now)
    flash(request, f"“{lesson.title}” is marked complete.", "success")
    return redirect(lesson.next or f"/tracks/{code}/modules/{module_code}")


@api.get("/tracks", response_model=list[schemas.TrackOut])
def api_tracks(session: SessionDep, now: Now):
    """The catalogue: every track with its policy and blueprint."""
    return [_track_out(now, session, t) for t in service.list_tracks(session)]


@api.get("/tracks/{code}", response_model=schemas.TrackOut)
def api_track(code: str, session: SessionDep, now: Now):
    """One track with its modules."""
    return _track_out(now, session, service.get_track(session, code), with_modules=True)


@api.get("/tracks/{code}/modules/{module_code}/lessons/{slug}", response_model=schemas.LessonOut)
def api_lesson(code: str, module_code: str, slug: str, session: SessionDep, user: OptionalUser):
    """A lesson (Markdown and sanitised HTML)."""
    return _lesson_out(session, user, service.get_track(session, code), module_code, slug)


@api.post("/lessons/{lesson_id}/complete", response_model=schemas.Completed)
def api_lesson_complete(lesson_id: Id, session: SessionDep, user: CurrentUser, now: Now):
    """Mark a lesson complete (idempotent)."""
    service.mark_complete(session=session, user=user, lesson_id=lesson_id, now=now)
    return schemas.Completed(lesson_id=lesson_id)


@api.get("/progress", response_model=list[schemas.TrackProgressOut])
def api_progress(session: SessionDep, user: CurrentUser):
    """Your progress per track and module."""
    out = []
    for track in service.list_tracks(session):
        modules = service.progress(session, user, track)
        out.append(
            schemas.TrackProgressOut(
                track=track.code,
                done=sum(m.done for m in modules),
                total=sum(m.total for m in modules),
                modules=[schemas.ModuleProgressOut(**m.__dict__) for m in modules],
            )
        )
    return out
