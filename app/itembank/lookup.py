"""Item versions with their items, for the layers above (standard setting, appeals)."""

from sqlmodel import Session, select

from app.core.errors import InvalidInput
from app.itembank.models import Item, ItemVersion, PracticeResponse


def versions_by_id(session: Session, version_ids: list[int]) -> dict[int, tuple[Item, ItemVersion]]:
    """(item, version) per version id; ids that do not exist are left out."""
    if not version_ids:
        return {}
    rows = session.exec(
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.item_id == Item.id)
        .where(ItemVersion.id.in_(version_ids))
    ).all()
    return {v.id: (i, v) for i, v in rows}


def operational_by_code(session: Session, *, track: str, codes: list[str]) -> list[ItemVersion]:
    """The current versions of the track's operational exam items with these codes, in the
    order given; InvalidInput names every code that is not one."""
    wanted = [c.strip().upper() for c in codes if c.strip()]
    rows = session.exec(
        select(Item.code, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(
            Item.track == track,
            Item.pool == "exam",
            Item.status == "operational",
            Item.code.in_(wanted),
        )
    ).all()
    found = {code: version for code, version in rows}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InvalidInput(
            f"Not operational {track} exam items: {', '.join(missing)}. "
            "Choose items of the track's operational exam pool."
        )
    return [found[c] for c in dict.fromkeys(wanted)]


def delivered(session: Session, version: ItemVersion) -> bool:
    """Shown to a candidate: in an exam (first_delivered_at) or in a practice quiz."""
    if version.first_delivered_at is not None:
        return True
    return (
        session.exec(
            select(PracticeResponse.id)
            .where(PracticeResponse.item_version_id == version.id)
            .limit(1)
        ).first()
        is not None
    )
