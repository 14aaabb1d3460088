"""What the study pages show: the study, its panel's progress, each round's results, charts."""

from dataclasses import dataclass

from sqlmodel import Session, select

from app.accounts.models import User
from app.core.errors import NotFound
from app.itembank import service as itembank
from app.standards import angoff, approval
from app.standards.errors import StudyState
from app.standards.models import Study, StudyRating, StudyRound
from app.standards.queries import get_study, items, panel, panelist_study
from app.web import plots


@dataclass(frozen=True)
class PanelRow:
    user: User
    rated: int


@dataclass(frozen=True)
class RoundView:
    """A round with its results and the impact chart (None before anyone finished)."""

    round: StudyRound
    result: angoff.RoundResult
    chart: plots.Chart | None


@dataclass(frozen=True)
class StudyView:
    study: Study
    panel: list[PanelRow]
    n_items: int
    rounds: list[RoundView]
    problems: list[str]  # why it cannot be approved yet


def impact_chart(session: Session, study: Study, result: angoff.RoundResult) -> plots.Chart | None:
    """Pass rate of the candidates so far against the theta cut, the recommendation and its
    +/- 1 and 2 SE marked."""
    if result.result is None or not result.candidates:
        return None
    grid, rate = angoff.pass_rate_curve(session, study)
    marks = [(r.theta, f"{r.step:+d} SE" if r.step else "cut") for r in result.result.impact]
    return plots.lines(
        {"pass rate": (list(grid), list(rate))},
        xlabel="cut (theta)",
        ylabel="pass rate",
        marks=marks,
        ylim=(0, 1),
    )


def _rounds(session: Session, study: Study, *, closed_only: bool) -> list[RoundView]:
    rows = session.exec(
        select(StudyRound).where(StudyRound.study_id == study.id).order_by(StudyRound.number)
    ).all()
    out = []
    for row in rows:
        if closed_only and row.closed_at is None:
            continue
        result = angoff.round_result(session, study, row.number)
        out.append(RoundView(row, result, impact_chart(session, study, result)))
    return out


def study_view(session: Session, *, study_id: int) -> StudyView:
    """Everything the administrator's study page shows."""
    study = get_study(session, study_id)
    done = angoff.completion(session, study)
    return StudyView(
        study=study,
        panel=[PanelRow(u, done.get(u.id, 0)) for u in panel(session, study.id)],
        n_items=len(items(session, study.id)),
        rounds=_rounds(session, study, closed_only=False),
        problems=approval.approval_problems(session, study) if study.status != "approved" else [],
    )


@dataclass(frozen=True)
class RatingItem:
    """An item as a panelist sees it: words, key and rationales, and their own rating."""

    position: int
    code: str
    type: str
    stem: str
    options: list[dict]  # text, rationale, letter, key (bool)
    rating: float | None


@dataclass(frozen=True)
class PanelistView:
    study: Study
    items: list[RatingItem]
    rounds: list[StudyRound]  # closed rounds, whose feedback the panelist may read


def panelist_view(session: Session, *, user: User, study_id: int) -> PanelistView:
    """The panelist's study: every item with key and rationale and their own current ratings
    (never anyone else's)."""
    study = panelist_study(session, user=user, study_id=study_id)
    rows = items(session, study.id)
    versions = itembank.versions_by_id(session, [r.item_version_id for r in rows])
    mine = {}
    if study.current_round:
        mine = {
            r.item_version_id: r.value
            for r in session.exec(
                select(StudyRating).where(
                    StudyRating.study_id == study.id,
                    StudyRating.round == study.current_round,
                    StudyRating.user_id == user.id,
                )
            )
        }
    out = []
    for row in rows:
        item, version = versions[row.item_version_id]
        options = [
            {**o, "letter": chr(65 + k), "key": chr(65 + k) in version.key}
            for k, o in enumerate(version.options)
        ]
        out.append(
            RatingItem(
                row.position,
                item.code,
                version.type,
                version.stem,
                options,
                mine.get(row.item_version_id),
            )
        )
    closed = session.exec(
        select(StudyRound)
        .where(StudyRound.study_id == study.id, StudyRound.closed_at.is_not(None))
        .order_by(StudyRound.number)
    ).all()
    return PanelistView(study, out, list(closed))


def rating_item(view: PanelistView, position: int) -> RatingItem:
    for item in view.items:
        if item.position == position:
            return item
    raise NotFound(f"This study has no item {position}.")


def panel_round(session: Session, *, user: User, study_id: int, number: int) -> RoundView:
    """A round's feedback for a panelist: only once the round is closed, and without names."""
    study = panelist_study(session, user=user, study_id=study_id)
    row = session.exec(
        select(StudyRound).where(StudyRound.study_id == study.id, StudyRound.number == number)
    ).first()
    if row is None:
        raise NotFound(f"Round {number} has not been held.")
    if row.closed_at is None:
        raise StudyState(
            f"The panel's ratings of round {number} are shown when the round closes; until "
            "then you see only your own."
        )
    result = angoff.round_result(session, study, number)
    return RoundView(row, result, impact_chart(session, study, result))


def report_view(session: Session, *, study_id: int) -> StudyView:
    """The study report: the same view, closed rounds only."""
    view = study_view(session, study_id=study_id)
    return StudyView(
        view.study,
        view.panel,
        view.n_items,
        [r for r in view.rounds if r.round.closed_at is not None],
        view.problems,
    )
