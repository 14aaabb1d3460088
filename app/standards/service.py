"""Standard-setting use cases: set up a study, run its rounds, take ratings.

A study moves draft -> open (round n) -> closed (round n) -> open (round n + 1) ... -> approved
(app/standards/approval.py); each use case checks the step it needs and commits once, with its
audit entry.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import registration
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core import db
from app.core.clock import to_db
from app.core.config import Settings
from app.core.errors import Conflict, InvalidInput
from app.courses import service as courses
from app.itembank import service as itembank
from app.standards import angoff
from app.standards.errors import StudyState
from app.standards.models import Study, StudyItem, StudyPanelist, StudyRating, StudyRound
from app.standards.queries import (
    get_study,
    items,
    panel,
    panelist_study,
    ratings,
    record,
    require_step,
)

ROUNDS = (2, 3)
MAX_ITEMS = 200


@dataclass(frozen=True)
class StudySetup:
    """What an administrator chooses: chosen item codes, or a blueprint form of form_size."""

    track: str
    title: str
    rounds: int = 2
    min_panelists: int = 3
    form_size: int = 30
    item_codes: list[str] = field(default_factory=list)
    seed: int | None = None


def _blueprint_form(session: Session, track, size: int, seed: int) -> list[int]:
    """size operational items drawn at random within each domain, allocated to the blueprint
    weights by largest remainder."""
    pool = [p for p in itembank.pool_parameters(session, track=track.code) if not p["pretest"]]
    by_domain: dict[str, list[int]] = {}
    for p in pool:
        by_domain.setdefault(str(p["domain"]), []).append(int(p["id"]))
    weights = {str(d["code"]): float(d["weight"]) for d in track.policy["blueprint"]}
    exact = {d: size * w / sum(weights.values()) for d, w in weights.items()}
    counts = {d: int(x) for d, x in exact.items()}
    for d in sorted(exact, key=lambda d: exact[d] - counts[d], reverse=True)[
        : size - sum(counts.values())
    ]:
        counts[d] += 1
    rng = random.Random(seed)
    chosen: list[int] = []
    for d, n in counts.items():
        available = sorted(by_domain.get(d, []))
        if len(available) < n:
            raise InvalidInput(
                f"Domain {d} of {track.code} has {len(available)} operational "
                f"items; the form needs {n}."
            )
        chosen += rng.sample(available, n)
    return chosen


def create_study(*, session: Session, admin: User, setup: StudySetup, now: datetime) -> Study:
    """An administrator sets up a study: track, items (chosen or drawn), rounds, panel size."""
    track = courses.get_track(session, setup.track)
    if setup.rounds not in ROUNDS:
        raise InvalidInput("A study has 2 or 3 rounds.")
    if not 1 <= setup.min_panelists <= 50:
        raise InvalidInput("The minimum panel is 1 to 50 panelists.")
    if setup.item_codes:
        ids = [
            v.id
            for v in itembank.operational_by_code(session, track=track.code, codes=setup.item_codes)
        ]
    elif 1 <= setup.form_size <= MAX_ITEMS:
        seed = setup.seed if setup.seed is not None else random.SystemRandom().randrange(2**31)
        ids = _blueprint_form(session, track, setup.form_size, seed)
    else:
        raise InvalidInput(f"A drawn form has 1 to {MAX_ITEMS} items.")
    if len(ids) > MAX_ITEMS:
        raise InvalidInput(f"A study rates at most {MAX_ITEMS} items; {len(ids)} were chosen.")
    study = Study(
        track=track.code,
        title=setup.title.strip() or f"{track.code} Angoff study",
        rounds_planned=setup.rounds,
        min_panelists=setup.min_panelists,
        created_by=admin.id,
        created_at=to_db(now),
    )
    session.add(study)
    session.flush()
    for position, version_id in enumerate(ids, start=1):
        session.add(StudyItem(study_id=study.id, position=position, item_version_id=version_id))
    record(
        session,
        study,
        "study_created",
        admin.id,
        now,
        items=len(ids),
        rounds=setup.rounds,
        min_panelists=setup.min_panelists,
        chosen=bool(setup.item_codes),
    )
    db.commit(session)
    return study


def add_panelist(
    *,
    session: Session,
    settings: Settings,
    admin: User,
    study_id: int,
    email: str,
    name: str,
    now: datetime,
) -> User:
    """Put an account with the panelist role on the panel, or invite a new one by e-mail."""
    study = get_study(session, study_id, lock=True)
    require_step(study, "draft", "open", "closed", doing="take new panelists")
    user = accounts.find_user(session, email)
    invited = user is None
    if invited:
        user = registration.invite(
            session=session,
            settings=settings,
            email=email,
            name=name,
            role=Role.panelist,
            purpose=f"the {study.track} standard-setting panel ({study.title})",
            now=now,
        )
    elif user.role != Role.panelist:
        raise Conflict(
            f"{user.email} is a {user.role}; only accounts with the panelist role sit "
            "on a panel (change the role under Users, or invite a new address)."
        )
    try:
        with session.begin_nested():
            session.add(
                StudyPanelist(
                    study_id=study.id, user_id=user.id, added_at=to_db(now), invited=invited
                )
            )
    except IntegrityError as exc:
        raise Conflict(f"{user.email} is already on this panel.") from exc
    record(session, study, "panelist_added", admin.id, now, user_id=user.id, invited=invited)
    db.commit(session)
    return user


def open_round(*, session: Session, admin: User, study_id: int, now: datetime) -> Study:
    """Open the first round, or the next one once the last is closed (each panelist starts
    from their own ratings of the round before)."""
    study = get_study(session, study_id, lock=True)
    require_step(study, "draft", "closed", doing="open a round")
    if study.current_round >= study.rounds_planned:
        raise StudyState(f"All {study.rounds_planned} rounds have been held; approve the cut.")
    if not panel(session, study.id):
        raise StudyState("The panel is empty; add panelists before opening a round.")
    previous = study.current_round
    study.current_round += 1
    study.status = "open"
    session.add(StudyRound(study_id=study.id, number=study.current_round, opened_at=to_db(now)))
    if previous:
        for r in ratings(session, study.id, previous):
            session.add(
                StudyRating(
                    study_id=study.id,
                    round=study.current_round,
                    user_id=r.user_id,
                    item_version_id=r.item_version_id,
                    value=r.value,
                    updated_at=to_db(now),
                )
            )
    session.add(study)
    record(session, study, "round_opened", admin.id, now, round=study.current_round)
    db.commit(session)
    return study


def close_round(*, session: Session, admin: User, study_id: int, now: datetime) -> Study:
    """Close the open round: its ratings become visible to the panel (without names)."""
    study = get_study(session, study_id, lock=True)
    require_step(study, "open", doing="close a round")
    row = session.exec(
        select(StudyRound).where(
            StudyRound.study_id == study.id, StudyRound.number == study.current_round
        )
    ).one()
    row.closed_at = to_db(now)
    study.status = "closed"
    session.add_all([row, study])
    done = angoff.completion(session, study)
    record(
        session,
        study,
        "round_closed",
        admin.id,
        now,
        round=study.current_round,
        complete_panelists=sum(1 for n in done.values() if n == len(items(session, study.id))),
    )
    db.commit(session)
    return study


def cancel_study(*, session: Session, admin: User, study_id: int, reason: str, now) -> Study:
    study = get_study(session, study_id, lock=True)
    require_step(study, "draft", "open", "closed", doing="be cancelled")
    study.status, study.decision_note = "cancelled", reason.strip()[:2000]
    session.add(study)
    record(session, study, "study_cancelled", admin.id, now, reason=study.decision_note)
    db.commit(session)
    return study


@dataclass(frozen=True)
class Saved:
    """What a save did: positions saved, and position -> message for the refused ones."""

    saved: tuple[int, ...]
    errors: dict[int, str]


def _parse_rating(position: int, raw: str) -> tuple[float | None, str | None]:
    text = str(raw).strip().rstrip("%").strip()
    if not text:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"Item {position}: '{raw}' is not a number; enter 0 to 100."
    if not 0 <= value <= 100 or value != value:
        return None, f"Item {position}: {value:g} is outside 0 to 100; enter a percentage."
    return value, None


def save_ratings(
    *, session: Session, user: User, study_id: int, values: dict[int, str], now: datetime
) -> Saved:
    """A panelist's ratings (item position -> text, 0-100) for the open round: the valid ones
    are saved (a blank leaves the item as it was), every refused one is named."""
    study = panelist_study(session, user=user, study_id=study_id)
    require_step(study, "open", doing="take ratings")
    by_position = {it.position: it.item_version_id for it in items(session, study.id)}
    mine = {
        r.item_version_id: r
        for r in ratings(session, study.id, study.current_round)
        if r.user_id == user.id
    }
    saved, errors = [], {}
    for position, raw in sorted(values.items()):
        if position not in by_position:
            errors[position] = f"This study has no item {position}."
            continue
        value, error = _parse_rating(position, raw)
        if error:
            errors[position] = error
        if value is None:
            continue
        row = mine.get(by_position[position]) or StudyRating(
            study_id=study.id,
            round=study.current_round,
            user_id=user.id,
            item_version_id=by_position[position],
            value=value,
            updated_at=to_db(now),
        )
        row.value, row.updated_at = value, to_db(now)
        session.add(row)
        saved.append(position)
    if saved:
        record(
            session,
            study,
            "ratings_saved",
            user.id,
            now,
            round=study.current_round,
            positions=saved,
        )
    db.commit(session)
    return Saved(tuple(saved), errors)
