"""QTI 3.0 export: schema-valid items, filters, and export -> import -> export on all items."""

from datetime import UTC, datetime

import pytest
from lxml import etree
from sqlmodel import select

from app.itembank import qti
from app.itembank.models import Item, ItemVersion
from tests.itembank.qti_helpers import (
    canonical,
    empty_the_bank,
    facts,
    item_count,
    load_checker,
    members,
)

TRACKS = ("CAWM", "WMP", "CWA")
LATER = datetime(2026, 11, 26, tzinfo=UTC)


@pytest.fixture(scope="session")
def schemas():
    """Both QTI 3.0 assessment-item schemas, compiled once per test session."""
    checker = load_checker()
    return {name: checker.load_schema(name) for name in ("3.0.1", "3.0.0")}


def _import(session, settings, data, name="export.zip"):
    return qti.import_package(
        session=session,
        data=data,
        name=name,
        facts=facts(settings),
        defaults=qti.Defaults(),
        max_bytes=settings.qti_max_bytes,
        now=LATER,
    )


def test_every_exported_item_of_the_three_banks_validates_against_the_qti_3_schemas(
    session, schemas
):
    total = 0
    for track in TRACKS:
        data, count = qti.export_package(session, qti.Filters(track=track))
        files_ = members(data)
        items = {n: x for n, x in files_.items() if n.startswith("items/")}
        assert "imsmanifest.xml" in files_ and len(items) == count > 100
        for name, xml in items.items():
            doc = etree.fromstring(xml)
            for version, schema in schemas.items():
                assert schema.validate(doc), (version, name, str(schema.error_log)[:500])
        total += count
    assert total == item_count(session)


def test_export_import_export_gives_the_same_package_for_all_items(session, settings):
    first = {t: qti.export_package(session, qti.Filters(track=t))[0] for t in TRACKS}
    digests = dict(
        session.exec(
            select(Item.code, ItemVersion.digest).join(
                ItemVersion, ItemVersion.id == Item.current_version_id
            )
        ).all()
    )
    empty_the_bank(session)
    for track in TRACKS:
        report = _import(session, settings, first[track])
        assert report.refused is None
        assert report.count("skipped") == 0, [i for i in report.items if i.reason][:3]
        assert report.count("imported") == len(report.items)
    session.expire_all()
    rows = session.exec(
        select(Item, ItemVersion).join(ItemVersion, ItemVersion.id == Item.current_version_id)
    ).all()
    assert {i.code: v.digest for i, v in rows} == digests  # the same words, keys and tags
    assert {i.status for i, _ in rows} == {"draft"}
    assert {i.owner for i, _ in rows} == {"workbench"}  # made in the platform (AUTHORING.md)
    for track in TRACKS:
        again = members(qti.export_package(session, qti.Filters(track=track))[0])
        before = members(first[track])
        assert sorted(again) == sorted(before)
        for name in before:
            assert canonical(again[name]) == canonical(before[name]), name


def test_importing_a_package_the_bank_already_holds_changes_nothing(session, settings):
    data, count = qti.export_package(session, qti.Filters(track="CWA", pool="pretest"))
    before = item_count(session)
    report = _import(session, settings, data)
    assert report.count("unchanged") == count and report.count("imported") == 0
    assert item_count(session) == before


@pytest.mark.parametrize(
    "filters",
    [
        {"pool": "practice"},
        {"status": "retired"},
        {"domain": "B"},
        {"fact": "cs.order"},
        {"pool": "exam", "status": "operational", "domain": "C"},
    ],
)
def test_an_export_holds_exactly_the_filtered_items(session, filters):
    data, count = qti.export_package(session, qti.Filters(track="CAWM", **filters))
    manifest = etree.fromstring(members(data)["imsmanifest.xml"])
    codes = {r.get("identifier") for r in manifest.iter("{*}resource")}
    expected = {
        i.code
        for i, v in session.exec(
            select(Item, ItemVersion).join(ItemVersion, ItemVersion.id == Item.current_version_id)
        ).all()
        if i.track == "CAWM"
        and all((v.fact if k == "fact" else getattr(i, k)) == value for k, value in filters.items())
    }
    assert codes == expected and count == len(expected) > 0


def test_the_manifest_carries_the_bank_metadata_of_each_item(session):
    data, _ = qti.export_package(session, qti.Filters(track="CWA", domain="1", pool="exam"))
    manifest = etree.fromstring(members(data)["imsmanifest.xml"])
    item = session.exec(select(Item).where(Item.code == "CWA-1-201")).one()
    version = session.get(ItemVersion, item.current_version_id)
    resource = next(r for r in manifest.iter("{*}resource") if r.get("identifier") == item.code)
    meta = next(resource.iter(f"{{{qti.qti_write.WMI}}}item"))
    assert (meta.get("track"), meta.get("module"), meta.get("fact")) == ("CWA", "A1", version.fact)
    irt = next(meta.iter(f"{{{qti.qti_write.WMI}}}irt"))
    assert float(irt.get("b")) == version.b and float(irt.get("a")) == version.a
    assert [s.text for s in meta.iter(f"{{{qti.qti_write.WMI}}}source")] == version.sources
