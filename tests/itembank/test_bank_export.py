"""`wmi bank export`: the database's items in the question_banks/ format, and back."""

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from app.itembank import bank_export, files
from app.itembank import service as itembank
from app.itembank.models import Item, ItemVersion, PoolRevision

LATER = datetime(2026, 11, 26, tzinfo=UTC)


def _by_file(root: Path) -> dict[str, list[files.ItemFile]]:
    bank = files.read_banks(root)
    assert bank.errors == []
    grouped: dict[str, list[files.ItemFile]] = {}
    for b in bank.items:
        grouped.setdefault(str(b.path.relative_to(root)), []).append(b.item)
    return grouped


def _state(session) -> dict[str, tuple]:
    rows = session.exec(
        select(Item, ItemVersion).join(ItemVersion, ItemVersion.id == Item.current_version_id)
    ).all()
    return {
        i.code: (i.pool, i.status, i.domain, i.module, v.id, v.version, v.digest, v.fact, v.a)
        for i, v in rows
    }


def test_export_writes_every_shipped_file_with_the_same_items_in_the_same_order(
    session, settings, tmp_path
):
    out = tmp_path / "export"
    report = bank_export.export_banks(session=session, out=out, source=settings.banks_dir)
    shipped = _by_file(settings.banks_dir)
    exported = _by_file(out)
    assert report.items == sum(len(v) for v in shipped.values()) > 1900
    assert sorted(exported) == sorted(shipped)  # the same files
    for name, items in shipped.items():
        assert exported[name] == items, name  # every field of every item, in file order


def test_loading_an_export_changes_nothing(session, settings, tmp_path):
    out = tmp_path / "export"
    bank_export.export_banks(session=session, out=out, source=settings.banks_dir)
    before = _state(session)
    versions = len(session.exec(select(ItemVersion.id)).all())
    revisions = len(session.exec(select(PoolRevision.id)).all())
    report = itembank.load_banks(session=session, root=out, now=LATER)
    session.expire_all()
    assert report.problems == [] and report.items == len(before)
    assert (report.created, report.new_versions, report.pool_revisions) == (0, 0, [])
    assert _state(session) == before
    assert len(session.exec(select(ItemVersion.id)).all()) == versions
    assert len(session.exec(select(PoolRevision.id)).all()) == revisions


def test_an_edit_in_the_database_reaches_the_exported_file(session, settings, tmp_path):
    item = session.exec(select(Item).where(Item.code == "CWA-1-201")).one()
    version = session.get(ItemVersion, item.current_version_id)
    version.stem = version.stem + " (edited)"
    session.add(version)
    session.commit()
    bank_export.export_banks(session=session, out=tmp_path, source=settings.banks_dir)
    edited = {i.id: i for i in _by_file(tmp_path)["CWA/exam/1-s.yaml"]}["CWA-1-201"]
    assert edited.stem.endswith("(edited)")


def test_workbench_states_round_trip_through_the_files(session, settings, tmp_path):
    """review and approved exist in the database only until exported: the export writes them,
    and loading the export keeps the workbench's items as they are, silently."""
    items = session.exec(select(Item).where(Item.code.in_(["CWA-1-201", "WMP-2-002"]))).all()
    for item, status in zip(items, ("review", "approved"), strict=True):
        item.status, item.owner = status, "workbench"
        session.add(item)
    session.commit()
    bank_export.export_banks(session=session, out=tmp_path, source=settings.banks_dir)
    written = {b.item.id: b.item.status for b in files.read_banks(tmp_path).items}
    assert {written[i.code] for i in items} == {"review", "approved"}
    before = _state(session)
    report = itembank.load_banks(session=session, root=tmp_path, now=LATER)
    session.expire_all()
    assert (report.problems, report.kept, report.new_versions) == ([], [], 0)
    assert _state(session) == before
