"""Course use cases: load content/, read tracks and lessons, record progress."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from app.core import audit, db
from app.core.clock import to_db
from app.core.errors import NotFound
from app.core.session_state import Holder
from app.courses import cuts, files, search
from app.courses.models import Lesson, LessonProgress, LessonVersion, Module, Track
from app.psychometrics import scoring

# What other domains read or record about a track's passing standard (app/courses/cuts.py).
cut_in_force = cuts.cut_in_force
add_cut = cuts.add_cut
cut_history = cuts.history


@dataclass
class LoadReport:
    tracks: int = 0
    modules: int = 0
    lessons: int = 0
    new_versions: int = 0
    retired: int = 0
    problems: list[str] = field(default_factory=list)


def _upsert_track(session: Session, t: files.Track, now: datetime, report: LoadReport) -> Track:
    meta = t.meta
    policy = meta.model_dump(include={"prerequisites", "exam", "validity", "blueprint"})
    policy["scale"] = meta.scale.definition().to_dict()
    digest = files.digest(meta.model_dump_json())
    row = session.exec(select(Track).where(Track.code == meta.code)).first()
    if row is None:
        row = Track(
            code=meta.code,
            version=0,
            loaded_at=to_db(now),
            title="",
            level="",
            summary="",
            audience="",
            digest="",
        )
    if _scale_redefined(row.policy, policy):
        report.problems.append(
            f"{meta.code}: scale version {policy['scale']['version']} is already stored with "
            "other anchors; a changed scale needs a new version (the track was not updated)"
        )
        return row
    if row.digest != digest:
        row.version += 1
        report.new_versions += 1
    row.title, row.level, row.summary, row.audience = (
        meta.title,
        meta.level,
        meta.summary,
        meta.audience,
    )
    row.policy, row.digest, row.loaded_at = policy, digest, to_db(now)
    session.add(row)
    session.flush()
    report.tracks += 1
    return row


def _scale_redefined(stored: dict, new: dict) -> bool:
    """Whether new keeps the stored scale's version but changes its definition: results name
    the version they were reported on, so a version's anchors are fixed once loaded."""
    old = stored.get("scale") if stored else None
    return bool(old) and old["version"] == new["scale"]["version"] and old != new["scale"]


def scale_of(track: Track) -> scoring.Scale:
    """The track's reported scale (scoring.Scale)."""
    return scoring.Scale.from_dict(track.policy["scale"])


def passing_score(session: Session, track: Track, *, now: datetime) -> int:
    """The value on the track's reported scale of the cut in force at now (derived, never
    stored apart from the results that were reported against it)."""
    return scale_of(track).cut_score(cuts.cut_in_force(session, track=track, now=now).theta)


def _upsert_module(session, track: Track, m: files.Module, position: int, report) -> Module:
    row = session.exec(
        select(Module).where(Module.track_id == track.id, Module.code == m.meta.code)
    ).first()
    row = row or Module(
        track_id=track.id, code=m.meta.code, slug="", position=0, title="", digest=""
    )
    row.slug, row.position, row.title = m.slug, position, m.meta.title
    row.domains, row.objectives = m.meta.domains, list(m.meta.objectives)
    row.digest = files.digest(m.meta.model_dump_json())
    session.add(row)
    session.flush()
    report.modules += 1
    return row


def _upsert_lesson(session, module: Module, lesson: files.Lesson, position, now, report):
    row = session.exec(
        select(Lesson).where(Lesson.module_id == module.id, Lesson.slug == lesson.slug)
    ).first()
    row = row or Lesson(module_id=module.id, slug=lesson.slug, position=position)
    row.position, row.retired = position, False
    session.add(row)
    session.flush()
    latest = _latest_version(session, row.id)
    if latest is None or latest.digest != lesson.digest:
        session.add(
            LessonVersion(
                lesson_id=row.id,
                version=(latest.version + 1) if latest else 1,
                digest=lesson.digest,
                title=lesson.meta.title,
                objectives=list(lesson.meta.objectives),
                minutes=lesson.meta.minutes,
                sources=list(lesson.meta.sources),
                body=lesson.body,
                created_at=to_db(now),
            )
        )
        report.new_versions += 1
    report.lessons += 1
    return row


def _latest_version(session: Session, lesson_id: int) -> LessonVersion | None:
    return session.exec(
        select(LessonVersion)
        .where(LessonVersion.lesson_id == lesson_id)
        .order_by(LessonVersion.version.desc())
    ).first()


def load_content(*, session: Session, root: Path, now: datetime) -> LoadReport:
    """Load every track (idempotent): a changed file adds a version; progress is never touched."""
    tree = files.read_content(root)
    report = LoadReport(problems=list(tree.errors))
    for t in tree.tracks.values():
        track = _upsert_track(session, t, now, report)
        seen: set[int] = set()
        for position, m in enumerate(t.modules, 1):
            module = _upsert_module(session, track, m, position, report)
            for lesson_pos, lesson in enumerate(m.lessons, 1):
                seen.add(_upsert_lesson(session, module, lesson, lesson_pos, now, report).id)
        stale = session.exec(
            select(Lesson)
            .join(Module)
            .where(Module.track_id == track.id, Lesson.retired.is_(False))
        ).all()
        for lesson in stale:
            if lesson.id not in seen:
                lesson.retired = True
                session.add(lesson)
                report.retired += 1
    session.flush()
    search.reindex(session, _search_rows(session))
    audit.record(
        session,
        action="content.load",
        at=now,
        data={
            "tracks": report.tracks,
            "lessons": report.lessons,
            "new_versions": report.new_versions,
            "retired": report.retired,
        },
    )
    db.commit(session)
    return report


def _search_rows(session: Session) -> list[dict]:
    """What the search index holds: every current lesson, and every module by its objectives."""
    rows = []
    for track in list_tracks(session):
        modules = modules_of(session, track)
        for m in modules:
            rows.append(
                {
                    "href": f"/tracks/{track.code}/modules/{m.code}",
                    "title": f"Module {m.code}: {m.title}",
                    "module": m.title,
                    "track": track.title,
                    "body": "\n".join(f"- {o}" for o in m.objectives),
                }
            )
        titles = {m.code: m.title for m in modules}
        for lv in track_lessons(session, track):
            rows.append(
                {
                    "href": f"/tracks/{track.code}/modules/{lv.module_code}/lessons/{lv.slug}",
                    "title": lv.title,
                    "module": f"Module {lv.module_code}: {titles[lv.module_code]}",
                    "track": track.title,
                    "body": lv.body,
                }
            )
    return rows


def search_lessons(session: Session, q: str) -> list:
    """Lessons and modules containing every word of q, best first (search.Hit)."""
    return search.search(session, q)


def list_tracks(session: Session) -> list[Track]:
    order = {"CAWM": 0, "WMP": 1, "CWA": 2}
    return sorted(session.exec(select(Track)).all(), key=lambda t: order.get(t.code, 9))


# The tracks a unit of work has read, by code: a request asks for its track several times.
# Kept on the session, so a lane job's memo ends with the job (app.core.session_state).
_TRACKS: Holder[dict[str, Track]] = Holder("courses.tracks")


def get_track(session: Session, code: str) -> Track:
    """The track by code; remembered for the unit of work (see _TRACKS)."""
    seen = _TRACKS.setdefault(session, dict)
    track = seen.get(code.upper())
    if track is None:
        track = session.exec(select(Track).where(Track.code == code.upper())).first()
        if track is None:
            raise NotFound(f"There is no track called {code}.")
        seen[track.code] = track
    return track


def modules_of(session: Session, track: Track) -> list[Module]:
    return list(
        session.exec(select(Module).where(Module.track_id == track.id).order_by(Module.position))
    )


def get_module(session: Session, track: Track, code: str) -> Module:
    module = session.exec(
        select(Module).where(Module.track_id == track.id, Module.code == code.upper())
    ).first()
    if module is None:
        raise NotFound(f"Track {track.code} has no module {code}.")
    return module


@dataclass(frozen=True)
class LessonView:
    id: int
    slug: str
    module_code: str
    title: str
    objectives: list
    minutes: int
    sources: list
    body: str
    version: int


def _current(session: Session, *conditions) -> list[tuple[Lesson, LessonVersion]]:
    """Lessons with their newest version, in one query."""
    newest = (
        select(func.max(LessonVersion.version))
        .where(LessonVersion.lesson_id == Lesson.id)
        .correlate(Lesson)
        .scalar_subquery()
    )
    query = (
        select(Lesson, LessonVersion)
        .join(LessonVersion, LessonVersion.lesson_id == Lesson.id)
        .where(LessonVersion.version == newest, Lesson.retired.is_(False), *conditions)
    )
    return list(session.exec(query.order_by(Lesson.position)).all())


def _view(lesson: Lesson, v: LessonVersion, module_code: str) -> LessonView:
    return LessonView(
        id=lesson.id,
        slug=lesson.slug,
        module_code=module_code,
        title=v.title,
        objectives=v.objectives,
        minutes=v.minutes,
        sources=v.sources,
        body=v.body,
        version=v.version,
    )


def lessons_of(session: Session, module: Module) -> list[LessonView]:
    return [
        _view(lesson, v, module.code)
        for lesson, v in _current(session, Lesson.module_id == module.id)
    ]


def track_lessons(session: Session, track: Track) -> list[LessonView]:
    """Every current lesson of the track, in reading order."""
    modules = {m.id: m for m in modules_of(session, track)}
    rows = _current(session, Lesson.module_id.in_(list(modules)))
    rows.sort(key=lambda r: (modules[r[0].module_id].position, r[0].position))
    return [_view(lesson, v, modules[lesson.module_id].code) for lesson, v in rows]


def get_lesson(session: Session, track: Track, module_code: str, slug: str):
    """A lesson with its previous and next lessons in the track's reading order."""
    ordered = track_lessons(session, track)
    for i, lv in enumerate(ordered):
        if lv.module_code == module_code.upper() and lv.slug == slug:
            return (
                lv,
                (ordered[i - 1] if i else None),
                (ordered[i + 1] if i + 1 < len(ordered) else None),
            )
    raise NotFound("There is no such lesson.")


def mark_complete(*, session: Session, user, lesson_id: int, now: datetime) -> LessonProgress:
    """Record that the user finished a lesson (idempotent)."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or lesson.retired:
        raise NotFound("There is no such lesson.")
    row = session.exec(
        select(LessonProgress).where(
            LessonProgress.user_id == user.id, LessonProgress.lesson_id == lesson_id
        )
    ).first()
    if row is None:
        row = LessonProgress(
            user_id=user.id,
            lesson_id=lesson_id,
            lesson_version=_latest_version(session, lesson_id).version,
            completed_at=to_db(now),
        )
        session.add(row)
    db.commit(session)
    return row


def completed_lesson_ids(session: Session, user) -> set[int]:
    return set(
        session.exec(
            select(LessonProgress.lesson_id).where(LessonProgress.user_id == user.id)
        ).all()
    )


@dataclass(frozen=True)
class ModuleProgress:
    code: str
    title: str
    done: int
    total: int


def progress(session: Session, user, track: Track) -> list[ModuleProgress]:
    done = completed_lesson_ids(session, user)
    out = []
    for m in modules_of(session, track):
        ids = [lv.id for lv in lessons_of(session, m)]
        out.append(
            ModuleProgress(
                code=m.code, title=m.title, total=len(ids), done=sum(1 for i in ids if i in done)
            )
        )
    return out


def recent_activity(session: Session, user, limit: int = 5) -> list[tuple]:
    """The user's last completed lessons: (completed_at, track code, module code, slug, title)."""
    rows = session.exec(
        select(LessonProgress, Lesson, Module, Track)
        .join(Lesson, Lesson.id == LessonProgress.lesson_id)
        .join(Module, Module.id == Lesson.module_id)
        .join(Track, Track.id == Module.track_id)
        .where(LessonProgress.user_id == user.id)
        .order_by(LessonProgress.completed_at.desc())
        .limit(limit)
    ).all()
    return [
        (p.completed_at, t.code, m.code, lesson.slug, _latest_version(session, lesson.id).title)
        for p, lesson, m, t in rows
    ]


def lesson_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Lesson)).one()
