"""Plain-function factories and drivers for standard-setting studies."""

from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.itembank.models import Item
from app.standards import service
from tests.factories.accounts import make_user


def make_panelist(session: Session, **overrides) -> User:
    return make_user(session, role=Role.panelist.value, **overrides)


def item_codes(session: Session, track: str = "CAWM", n: int = 6) -> list[str]:
    """The first n operational exam items of the track, by code."""
    rows = session.exec(
        select(Item.code)
        .where(Item.track == track, Item.pool == "exam", Item.status == "operational")
        .order_by(Item.code)
        .limit(n)
    ).all()
    return list(rows)


def make_study(session, settings, admin, clock, *, panelists=(), n_items=6, **setup):
    """A draft study of n_items chosen items with the given panelists on its panel."""
    codes = item_codes(session, setup.pop("track", "CAWM"), n_items)
    study = service.create_study(
        session=session,
        admin=admin,
        setup=service.StudySetup(track="CAWM", title="Test study", item_codes=codes, **setup),
        now=clock(),
    )
    for user in panelists:
        service.add_panelist(
            session=session,
            settings=settings,
            admin=admin,
            study_id=study.id,
            email=user.email,
            name=user.name,
            now=clock(),
        )
    return study


def rate(session, clock, study_id: int, user: User, values: list) -> service.Saved:
    """A panelist rates items 1..len(values)."""
    return service.save_ratings(
        session=session,
        user=user,
        study_id=study_id,
        values={k: str(v) for k, v in enumerate(values, start=1)},
        now=clock(),
    )
