"""A study's numbers: who has rated what, each round's Angoff result and its impact."""

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

from app.exams import service as exams
from app.itembank import service as itembank
from app.psychometrics import standard_setting as ss
from app.standards.models import Study, StudyItem, StudyPanelist, StudyRating


def completion(session: Session, study: Study, round_number: int | None = None) -> dict[int, int]:
    """Panelist user id -> items rated in the round (the current round by default)."""
    number = round_number or study.current_round
    counts = dict(
        session.exec(
            select(StudyRating.user_id, func.count())
            .where(StudyRating.study_id == study.id, StudyRating.round == number)
            .group_by(StudyRating.user_id)
        ).all()
    )
    members = session.exec(select(StudyPanelist.user_id).where(StudyPanelist.study_id == study.id))
    return {int(u): int(counts.get(u, 0)) for u in members.all()}


@dataclass(frozen=True)
class ItemRow:
    """One rated item of a round: its ratings (panel order, None if missing), their summary,
    and the item's empirical p-value where responses exist."""

    position: int
    version_id: int
    code: str
    values: tuple[float | None, ...]
    mean: float | None
    low: float | None
    high: float | None
    p_value: float | None
    responses: int


@dataclass(frozen=True)
class RoundResult:
    """A round's ratings and, from the panelists who rated every item, the Angoff result."""

    number: int
    panelists: tuple[int, ...]  # user ids in panel order
    complete: tuple[int, ...]  # those who rated every item
    rows: tuple[ItemRow, ...]
    result: ss.AngoffResult | None
    candidates: int


def _matrix(session: Session, study: Study, number: int, order: list[int], items: list[StudyItem]):
    index = {it.item_version_id: k for k, it in enumerate(items)}
    seat = {u: j for j, u in enumerate(order)}
    r = np.full((len(order), len(items)), np.nan)
    for row in session.exec(
        select(StudyRating).where(StudyRating.study_id == study.id, StudyRating.round == number)
    ):
        if row.user_id in seat and row.item_version_id in index:
            r[seat[row.user_id], index[row.item_version_id]] = row.value
    return r


def round_result(session: Session, study: Study, number: int) -> RoundResult:
    """Ratings of round number per item and the recommendation of the complete panelists,
    with the pass rate of the track's candidates so far at the cut and +/- 1 and 2 SE."""
    items = list(
        session.exec(
            select(StudyItem).where(StudyItem.study_id == study.id).order_by(StudyItem.position)
        )
    )
    order = [int(u) for u in completion(session, study, number)]
    r = _matrix(session, study, number, order, items)
    complete = [j for j in range(len(order)) if not np.isnan(r[j]).any()] if items else []
    versions = itembank.versions_by_id(session, [it.item_version_id for it in items])
    p = exams.p_values(session, list(versions))
    rows = []
    for k, it in enumerate(items):
        col = r[:, k]
        given = col[~np.isnan(col)]
        pv, n = p.get(it.item_version_id, (None, 0))
        rows.append(
            ItemRow(
                position=it.position,
                version_id=it.item_version_id,
                code=versions[it.item_version_id][0].code,
                values=tuple(None if np.isnan(x) else float(x) for x in col),
                mean=float(given.mean()) if given.size else None,
                low=float(given.min()) if given.size else None,
                high=float(given.max()) if given.size else None,
                p_value=pv,
                responses=n,
            )
        )
    thetas = exams.final_thetas(session, track=study.track)
    result = None
    if complete:
        a, b, c = (
            [getattr(versions[it.item_version_id][1], x) for it in items] for x in ("a", "b", "c")
        )
        result = ss.angoff(r[complete], a, b, c, thetas)
    return RoundResult(
        number=number,
        panelists=tuple(order),
        complete=tuple(order[j] for j in complete),
        rows=tuple(rows),
        result=result,
        candidates=int(thetas.size),
    )


def pass_rate_curve(session: Session, study: Study) -> tuple[np.ndarray, np.ndarray]:
    """(theta grid (G,), share of the track's candidates at or above each theta)."""
    thetas = np.sort(exams.final_thetas(session, track=study.track))
    grid = np.linspace(-3, 3, 121)
    if not thetas.size:
        return grid, np.full(grid.shape, np.nan)
    return grid, 1.0 - np.searchsorted(thetas, grid, side="left") / thetas.size
