"""Approving a study's cut: what stands in the way, and the approval itself."""

from datetime import datetime

from sqlmodel import Session

from app.accounts.models import User
from app.core import db
from app.core.clock import to_db
from app.core.errors import InvalidInput
from app.courses import service as courses
from app.itembank import service as itembank
from app.psychometrics import standard_setting
from app.standards import angoff
from app.standards.errors import StudyState
from app.standards.models import Study
from app.standards.queries import describe, get_study, items, panel, record


def approval_problems(session: Session, study: Study) -> list[str]:
    """Why the study cannot be approved yet (empty when it can)."""
    if study.status == "open":
        return [
            f"Round {study.current_round} of {study.rounds_planned} is still open; close it "
            "before approving."
        ]
    if study.status != "closed":
        return [f"Study {study.id} is {describe(study)}."]
    problems = []
    if study.current_round < study.rounds_planned:
        problems.append(
            f"Only {study.current_round} of the {study.rounds_planned} planned rounds "
            "has been held; hold the rest before approving."
        )
    n_items = len(items(session, study.id))
    done = angoff.completion(session, study)
    complete = sum(1 for n in done.values() if n == n_items)
    if complete < study.min_panelists:
        unfinished = ", ".join(
            f"{u.email} ({done[u.id]} of {n_items} items)"
            for u in panel(session, study.id)
            if done[u.id] < n_items
        )
        problems.append(
            f"{complete} panelist{'s' if complete != 1 else ''} rated every item in round "
            f"{study.current_round}; the study needs at least {study.min_panelists}."
            + (f" Unfinished: {unfinished}." if unfinished else "")
        )
    return problems


def approve(
    *,
    session: Session,
    admin: User,
    study_id: int,
    effective_at: datetime,
    now: datetime,
    raw_cut: float | None = None,
    note: str = "",
) -> Study:
    """Approve the final round's cut (or an adjusted raw cut) from effective_at: attempts
    started from then on are scored against it."""
    study = get_study(session, study_id, lock=True)
    problems = approval_problems(session, study)
    if problems:
        raise StudyState(" ".join(problems))
    final = angoff.round_result(session, study, study.current_round).result
    raw = final.raw_cut if raw_cut is None else float(raw_cut)
    if not 0 < raw < final.n_items:
        raise InvalidInput(f"A raw cut lies between 0 and {final.n_items} (the rated items).")
    versions = itembank.versions_by_id(
        session, [it.item_version_id for it in items(session, study.id)]
    )
    a, b, c = ([getattr(v, x) for _i, v in versions.values()] for x in ("a", "b", "c"))
    theta = standard_setting.theta_for_raw(raw, a, b, c)
    if theta.clipped:
        raise InvalidInput(
            f"A raw cut of {raw:.2f} has no theta on these items' test "
            "characteristic curve (it is below what guessing gives or at the "
            "maximum)."
        )
    track = courses.get_track(session, study.track)
    cut = courses.add_cut(
        session,
        track=track,
        cut_theta=round(theta.theta, 4),
        effective_at=effective_at,
        source=f"Angoff study {study.id}",
        approved_by=admin.id,
        now=now,
        note=note,
    )
    study.status, study.approved_raw_cut, study.approved_theta = "approved", raw, cut.cut_theta
    study.effective_at, study.approved_by, study.approved_at = (
        cut.effective_at,
        admin.id,
        to_db(now),
    )
    study.decision_note, study.track_cut_id = note.strip()[:2000], cut.id
    session.add(study)
    record(
        session,
        study,
        "study_approved",
        admin.id,
        now,
        raw_cut=raw,
        theta=cut.cut_theta,
        recommended=final.raw_cut,
        se=final.se,
        effective_at=cut.effective_at,
    )
    db.commit(session)
    return study
