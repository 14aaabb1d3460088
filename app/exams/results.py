"""Reading results and response logs: diagnostics for candidates, logs for administrators."""

from dataclasses import dataclass

from sqlmodel import Session, select

from app.accounts.models import User
from app.core.errors import NotFound
from app.courses import service as courses
from app.exams import engine_bridge as bridge
from app.exams.models import ExamAttempt, ExamResponse
from app.itembank.models import Item, ItemVersion


@dataclass(frozen=True)
class DomainResult:
    code: str
    title: str
    label: str
    n_items: int
    lessons: list[tuple[str, str]]  # (title, href) of the modules that teach the domain


def domain_results(session: Session, attempt: ExamAttempt) -> list[DomainResult]:
    """Per-domain diagnostics, each weak domain linked to the modules that teach it."""
    if not attempt.result:
        return []
    titles = {str(d["code"]): d["title"] for d in attempt.policy["blueprint"]}
    track = courses.get_track(session, attempt.track)
    modules = courses.modules_of(session, track)
    out = []
    for d in attempt.result["domains"]:
        code = str(d["domain"])
        links = [
            (f"{m.code}: {m.title}", f"/tracks/{track.code}/modules/{m.code}")
            for m in modules
            if code in [str(x) for x in m.domains]
        ]
        out.append(
            DomainResult(
                code=code,
                title=titles.get(code, code),
                label=d["label"],
                n_items=d["n_items"],
                lessons=links if d["label"] != "above" else [],
            )
        )
    return out


def answered_count(attempt: ExamAttempt) -> int:
    return attempt.step


def admin_attempts(session: Session, *, status: str = "", limit: int = 100) -> list:
    query = select(ExamAttempt, User).join(User, User.id == ExamAttempt.user_id)
    if status:
        query = query.where(ExamAttempt.status == status)
    return list(session.exec(query.order_by(ExamAttempt.started_at.desc()).limit(limit)))


def attempt_by_id(session: Session, attempt_id: int) -> ExamAttempt:
    attempt = session.get(ExamAttempt, attempt_id)
    if attempt is None:
        raise NotFound("There is no such exam attempt.")
    return attempt


@dataclass(frozen=True)
class LoggedResponse:
    """One line of an attempt's response log as administrators see it."""

    response: ExamResponse
    code: str
    domain: str
    pretest: bool


@dataclass(frozen=True)
class AttemptLog:
    """An attempt as administrators see it: the candidate, the frozen pool's size, the response
    log with item codes, domains and which items were pretest, and the pending item's code."""

    attempt: ExamAttempt
    candidate: User
    pool_size: int
    pool_pretest: int
    responses: list[LoggedResponse]
    pending_code: str | None


def admin_attempt(session: Session, *, attempt_id: int) -> AttemptLog:
    """An attempt and its response log (administrators only)."""
    attempt = attempt_by_id(session, attempt_id)
    pool = {int(p["id"]): p for p in bridge.pool_items(session, attempt_id)}
    rows = session.exec(
        select(ExamResponse, Item.code)
        .join(ItemVersion, ItemVersion.id == ExamResponse.item_version_id)
        .join(Item, Item.id == ItemVersion.item_id)
        .where(ExamResponse.attempt_id == attempt_id)
        .order_by(ExamResponse.position)
    ).all()
    pending = None
    if attempt.status == "open" and attempt.pending_item_id is not None:
        pending = session.exec(
            select(Item.code)
            .join(ItemVersion, ItemVersion.item_id == Item.id)
            .where(ItemVersion.id == attempt.pending_item_id)
        ).one()
    return AttemptLog(
        attempt=attempt,
        candidate=session.get(User, attempt.user_id),
        pool_size=len(pool),
        pool_pretest=sum(1 for p in pool.values() if p["pretest"]),
        responses=[
            LoggedResponse(
                response=r,
                code=code,
                domain=str(pool.get(r.item_version_id, {}).get("domain", "?")),
                pretest=bool(pool.get(r.item_version_id, {}).get("pretest", False)),
            )
            for r, code in rows  # every delivered item is in the pool; a log never fails to show
        ],
        pending_code=pending,
    )
