"""Reading studies: lookups, the study's step in words, its panel, items and ratings."""

from sqlmodel import Session, select

from app.accounts.models import User
from app.core import audit
from app.core.errors import NotFound
from app.standards.errors import NotOnPanel, StudyState
from app.standards.models import Study, StudyItem, StudyPanelist, StudyRating


def get_study(session: Session, study_id: int, *, lock: bool = False) -> Study:
    query = select(Study).where(Study.id == study_id).execution_options(populate_existing=True)
    if lock:  # two administrators acting at once: the second waits, then sees the new state
        query = query.with_for_update()
    study = session.exec(query).first()
    if study is None:
        raise NotFound("There is no such standard-setting study.")
    return study


def record(session, study: Study, action: str, actor_id: int, now, **data) -> None:
    audit.record(
        session,
        action=f"standards.{action}",
        at=now,
        actor_id=actor_id,
        subject=f"study:{study.id}",
        data={"track": study.track, **data},
    )


def require_step(study: Study, *statuses: str, doing: str) -> None:
    if study.status not in statuses:
        raise StudyState(f"Study {study.id} is {describe(study)}; it cannot {doing} now.")


def describe(study: Study) -> str:
    """The study's step in words."""
    if study.status == "open":
        return f"in round {study.current_round} of {study.rounds_planned}"
    if study.status == "closed":
        return f"between rounds ({study.current_round} of {study.rounds_planned} closed)"
    return {"draft": "being set up", "approved": "approved", "cancelled": "cancelled"}.get(
        study.status, study.status
    )


def panel(session: Session, study_id: int) -> list[User]:
    rows = session.exec(
        select(User)
        .join(StudyPanelist, StudyPanelist.user_id == User.id)
        .where(StudyPanelist.study_id == study_id)
        .order_by(StudyPanelist.id)
    ).all()
    return list(rows)


def items(session: Session, study_id: int) -> list[StudyItem]:
    query = select(StudyItem).where(StudyItem.study_id == study_id).order_by(StudyItem.position)
    return list(session.exec(query))


def ratings(session: Session, study_id: int, round_number: int) -> list[StudyRating]:
    return list(
        session.exec(
            select(StudyRating).where(
                StudyRating.study_id == study_id, StudyRating.round == round_number
            )
        )
    )


def panelist_study(session: Session, *, user: User, study_id: int) -> Study:
    """A study the panelist sits on; anyone else's is refused (403)."""
    study = get_study(session, study_id)
    member = session.exec(
        select(StudyPanelist.id).where(
            StudyPanelist.study_id == study.id, StudyPanelist.user_id == user.id
        )
    ).first()
    if member is None:
        raise NotOnPanel("You are not on the panel of this study.")
    return study


def panelist_studies(session: Session, *, user: User) -> list[Study]:
    rows = session.exec(
        select(Study)
        .join(StudyPanelist, StudyPanelist.study_id == Study.id)
        .where(StudyPanelist.user_id == user.id)
        .order_by(Study.id.desc())
    ).all()
    return list(rows)


def studies(session: Session, *, limit: int = 100) -> list[Study]:
    """The newest studies first."""
    return list(session.exec(select(Study).order_by(Study.id.desc()).limit(limit)))
