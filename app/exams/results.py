"""Reading results and response logs: diagnostics for candidates, logs for administrators."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.errors import NotFound
from app.courses import service as courses
from app.exams import engine_bridge as bridge
from app.exams.models import ExamAttempt, ExamResponse
from app.itembank.models import Item, ItemVersion

LEGACY_LABELS = {"near": "unclear"}  # results stored before 2026-12-06 said "near"


@dataclass(frozen=True)
class DomainResult:
    """One domain of a result (scoring.DomainDiagnostic, docs/EXAMS.md), with the values on
    the reported scale for the chart: the level (EAP) and its 90% interval, clipped to 200-800."""

    code: str
    title: str
    label: str  # against the standard: above | below | unclear | none
    relative: str  # against the other domains: weaker | stronger | in_line | none
    n_items: int
    n_correct: int | None
    expected: float | None
    expected_range: tuple[int, int] | None
    level: int
    level_range: tuple[int, int]
    lessons: list[tuple[str, str]]  # (title, href) of the modules that teach the domain


def on_scale(theta: float, cut_theta: float) -> int:
    """A domain's value on the reported scale, 500 + 100 (theta - cut), clipped to 200-800
    (the overall score's transform, without its pass/fail rounding guard)."""
    return int(min(max(round(500 + 100 * (theta - cut_theta)), 200), 800))


def needs_study(label: str, relative: str, passed: bool) -> bool:
    """Below the standard, weaker than the candidate's other domains, or unclear on a fail."""
    if label == "below" or relative == "weaker":
        return True
    return label == "unclear" and relative != "stronger" and not passed


def domain_results(session: Session, attempt: ExamAttempt) -> list[DomainResult]:
    """Per-domain diagnostics, each domain to work on linked to the modules that teach it."""
    if not attempt.result:
        return []
    titles = {str(d["code"]): d["title"] for d in attempt.policy["blueprint"]}
    track = courses.get_track(session, attempt.track)
    modules = courses.modules_of(session, track)
    cut = float(attempt.policy.get("exam", {}).get("cut_theta", 0.0))
    out = []
    for d in attempt.result["domains"]:
        code = str(d["domain"])
        label = LEGACY_LABELS.get(d["label"], d["label"])
        relative = d.get("relative", "none")
        theta, se = float(d["theta"]), float(d["se"])
        low, high = d.get("low", theta - 1.645 * se), d.get("high", theta + 1.645 * se)
        links = [
            (f"{m.code}: {m.title}", f"/tracks/{track.code}/modules/{m.code}")
            for m in modules
            if code in [str(x) for x in m.domains]
        ]
        known = "n_correct" in d
        out.append(
            DomainResult(
                code=code,
                title=titles.get(code, code),
                label=label,
                relative=relative,
                n_items=d["n_items"],
                n_correct=d["n_correct"] if known else None,
                expected=d["expected"] if known and relative != "none" else None,
                expected_range=(d["expected_low"], d["expected_high"]) if known else None,
                level=on_scale(theta, cut),
                level_range=(on_scale(low, cut), on_scale(high, cut)),
                lessons=links if needs_study(label, relative, bool(attempt.passed)) else [],
            )
        )
    return out


LEGACY_CUT_SCORE = 500  # results closed before scales had versions: 500 + 100 (theta - cut)


def passing_score(attempt: ExamAttempt) -> int:
    """The passing score of the scale the attempt's result was reported on."""
    return attempt.cut_score if attempt.cut_score is not None else LEGACY_CUT_SCORE


def scale_version(attempt: ExamAttempt) -> str:
    """The version of the scale the result was reported on (named for older results too)."""
    return attempt.scale_version or "legacy (500 at the cut)"


def answered_count(attempt: ExamAttempt) -> int:
    return attempt.step


def admin_attempts(session: Session, *, status: str = "", limit: int = 100) -> list:
    query = select(ExamAttempt, User).join(User, User.id == ExamAttempt.user_id)
    if status:
        query = query.where(ExamAttempt.status == status)
    return list(session.exec(query.order_by(col(ExamAttempt.started_at).desc()).limit(limit)))


def own_attempt(session: Session, *, user_id: int, attempt_id: int) -> ExamAttempt:
    """The user's own attempt record, read fresh (its result once closed; the answer loop
    writes with Core statements); anyone else's is reported as not existing."""
    attempt = session.exec(
        select(ExamAttempt)
        .where(ExamAttempt.id == attempt_id)
        .execution_options(populate_existing=True)
    ).first()
    if attempt is None or attempt.user_id != user_id:
        raise NotFound("There is no such exam attempt.")
    return attempt


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
