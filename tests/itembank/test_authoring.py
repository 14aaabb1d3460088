"""The authoring workbench's service: lifecycle, refusals, versions, pools, audit, bank loads."""

import json
import shutil

import pytest
from sqlmodel import func, select

from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.models import AuditEntry
from app.itembank import authoring, pools, practice, service
from app.itembank import authoring_queries as queries
from app.itembank.authoring_checks import Draft
from app.itembank.models import Item, ItemTransition, ItemVersion, PoolRevision, PracticeResponse

OTHER_STEM = "Before a launch, a coordinator writes down who decides each open question; why?"
STEM = "A team lead keeps a quarterly register of recurring handovers; which habit does it show?"


def roots(settings) -> authoring.Roots:
    return authoring.Roots(settings.content_dir, settings.banks_dir)


def template(session, track="CAWM", pool="exam", item_type="single") -> tuple[Item, ItemVersion]:
    """A shipped item with no findings to copy the tags and options of."""
    rows = session.exec(
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.track == track, Item.pool == pool, Item.status == "operational",
               ItemVersion.type == item_type)
        .order_by(Item.code)
    ).all()  # fmt: skip
    return rows[0]


def draft_like(session, stem=STEM, **changes) -> Draft:
    item, version = template(session)
    draft = authoring.draft_of(item, version)
    return draft.model_copy(update={"stem": stem, **changes})


def _new(session, settings, clock, people, **changes) -> Item:
    return authoring.create(
        session, user=people["author"], draft=draft_like(session, **changes),
        roots=roots(settings), now=clock(),
    )  # fmt: skip


def _move(session, settings, clock, user, code, action, **kw) -> Item:
    return authoring.transition(
        session, user=user, code=code, action=action, now=clock(), roots=roots(settings), **kw
    )


def test_the_lifecycle_from_draft_to_pretest_is_recorded_and_audited(
    session, settings, clock, people
):
    item = _new(session, settings, clock, people)
    assert item.status == "draft" and item.owner == "workbench"
    assert item.code.startswith("CAWM-") and item.pool == "exam"
    code = item.code
    assert authoring.findings(session, *authoring.get(session, code), roots(settings)) == []
    base = pools.active_id(session, track="CAWM")

    _move(session, settings, clock, people["author"], code, "submit")
    with pytest.raises(Forbidden, match="another reviewer"):
        _move(session, settings, clock, people["author"], code, "approve")
    _move(session, settings, clock, people["reviewer"], code, "approve")
    with pytest.raises(Forbidden):  # a reviewer cannot put items into pools
        _move(session, settings, clock, people["reviewer"], code, "pretest")
    assert authoring.get(session, code)[0].status == "approved"
    item = _move(session, settings, clock, people["admin"], code, "pretest")
    assert (item.status, item.pool) == ("pretest", "pretest")

    # the pretest pool changed: a new CAWM pool revision, made as a bank load's
    (revision,) = session.exec(
        select(PoolRevision).where(PoolRevision.source == f"workbench: {code} pretest")
    ).all()
    assert revision.base_revision_id == base and revision.auto_activate
    version_id = authoring.get(session, code)[1].id
    assert any(p["id"] == version_id and p["pretest"] for p in revision.items)
    assert any(p["id"] == version_id for p in service.pool_parameters(session, track="CAWM"))

    moves = session.exec(
        select(ItemTransition.action, ItemTransition.from_status, ItemTransition.to_status)
        .where(ItemTransition.item_id == item.id)
        .order_by(ItemTransition.id)
    ).all()
    assert moves == [("submit", "draft", "review"), ("approve", "review", "approved"),
                     ("pretest", "approved", "pretest")]  # fmt: skip
    audited = session.exec(
        select(AuditEntry.data)
        .where(
            AuditEntry.subject == f"item:{code}", AuditEntry.action == "itembank.item_transition"
        )
        .order_by(AuditEntry.seq)
    ).all()
    audited = [json.loads(d) if isinstance(d, str) else d for d in audited]
    assert [(d["action"], d["from"], d["to"]) for d in audited] == moves


def test_roles_without_authoring_rights_are_refused(session, settings, clock, people):
    with pytest.raises(Forbidden):
        authoring.create(session, user=people["learner"], draft=draft_like(session),
                         roots=roots(settings), now=clock())  # fmt: skip
    code = _new(session, settings, clock, people).code
    for action in ("submit", "retire"):
        with pytest.raises(Forbidden):
            _move(session, settings, clock, people["learner"], code, action)
    with pytest.raises(Forbidden):
        authoring.add_comment(session, user=people["learner"], code=code, body="x", now=clock())


def test_only_administrators_move_items_into_and_out_of_pools(session, settings, clock, people):
    code = _new(session, settings, clock, people).code
    _move(session, settings, clock, people["author"], code, "submit")
    _move(session, settings, clock, people["reviewer"], code, "approve")
    for action in ("pretest", "operational"):
        with pytest.raises(Forbidden, match="administrators"):
            _move(session, settings, clock, people["reviewer"], code, action)
    _move(session, settings, clock, people["admin"], code, "operational")
    with pytest.raises(Forbidden):  # retiring a live item is an administrator's move too
        _move(session, settings, clock, people["author"], code, "retire")
    with pytest.raises(Conflict):  # not from operational
        _move(session, settings, clock, people["admin"], code, "approve")
    assert authoring.get(session, code)[0].status == "operational"


def test_a_rejection_needs_a_comment_and_returns_the_item_to_draft(
    session, settings, clock, people
):
    code = _new(session, settings, clock, people).code
    _move(session, settings, clock, people["author"], code, "submit")
    clock.advance(minutes=5)
    with pytest.raises(InvalidInput, match="comment"):
        _move(session, settings, clock, people["reviewer"], code, "reject")
    item = _move(session, settings, clock, people["reviewer"], code, "reject",
                 comment="Option C reads as a trick.")  # fmt: skip
    assert item.status == "draft"
    events = queries.history(session, code).events
    assert events[0].comment == "Option C reads as a trick." and events[0].who == "Rob Reviewer"


def test_an_invalid_item_gets_field_level_findings_and_nothing_is_saved(
    session, settings, clock, people
):
    before = session.exec(select(func.count()).select_from(Item)).one()
    bad = draft_like(session, stem="Short", fact="no.such-fact")
    with pytest.raises(authoring.InvalidItem) as caught:
        authoring.create(session, user=people["author"], draft=bad, roots=roots(settings),
                         now=clock())  # fmt: skip
    fields = {f.field for f in caught.value.findings}
    assert {"stem", "fact"} <= fields
    assert caught.value.extra["findings"][0]["message"]
    with pytest.raises(authoring.InvalidItem) as caught:  # a key naming no option
        authoring.create(session, user=people["author"], draft=draft_like(session, key=["E"]),
                         roots=roots(settings), now=clock())  # fmt: skip
    assert [f.field for f in caught.value.findings] == ["key"]
    assert session.exec(select(func.count()).select_from(Item)).one() == before


def test_rule_findings_show_beside_fields_and_block_submission(session, settings, clock, people):
    # a recall item rated 5 breaks the difficulty-level band; a blog citation the attribution rule
    item = _new(session, settings, clock, people, difficulty=5, level="recall",
                stem="According to the WMI blog, " + STEM.lower())  # fmt: skip
    found = authoring.findings(session, *authoring.get(session, item.code), roots(settings))
    assert {(f.field, f.rule) for f in found} >= {
        ("difficulty", "difficulty-level"), ("stem", "source-attribution"),
    }  # fmt: skip
    with pytest.raises(authoring.InvalidItem, match="problem"):
        _move(session, settings, clock, people["author"], item.code, "submit")
    assert authoring.get(session, item.code)[0].status == "draft"


def test_near_duplicate_stems_are_found_against_the_track(session, settings, clock, people):
    _, version = template(session)
    item = _new(session, settings, clock, people, stem=version.stem)
    with pytest.raises(authoring.InvalidItem):  # saved, but cannot be submitted
        _move(session, settings, clock, people["author"], item.code, "submit")
    found = authoring.findings(session, *authoring.get(session, item.code), roots(settings))
    assert any(f.rule == "near-duplicate" and f.field == "stem" for f in found)


def test_editing_a_delivered_version_changes_nothing_and_makes_a_new_version(
    session, settings, clock, people
):
    item, version = template(session, pool="practice")
    learner = people["learner"]
    practice.answer_practice(session=session, user=learner, answers={version.id: ["A"]},
                             now=clock())  # fmt: skip
    assert authoring.delivered(session, version)
    snapshot = version.model_dump()
    with pytest.raises(Conflict, match="returns it to draft"):
        authoring.update_item(session, user=people["author"], code=item.code,
                              draft=authoring.draft_of(item, version), roots=roots(settings),
                              now=clock())  # fmt: skip
    _move(session, settings, clock, people["admin"], item.code, "revise")
    edited = authoring.draft_of(item, version).model_copy(update={"stem": STEM})
    item2, new, made = authoring.update_item(
        session, user=people["author"], code=item.code, draft=edited, roots=roots(settings),
        now=clock(), base_version=version.version,
    )  # fmt: skip
    assert made and new.id != version.id and new.version == version.version + 1
    assert new.created_by == people["author"].id and item2.status == "draft"
    session.expire_all()
    assert session.get(ItemVersion, version.id).model_dump() == snapshot
    assert session.exec(
        select(PracticeResponse).where(PracticeResponse.item_version_id == version.id)
    ).first()
    # a save against an old version is a conflict, not an overwrite
    with pytest.raises(Conflict, match="changed since"):
        authoring.update_item(
            session,
            user=people["author"],
            code=item.code,
            draft=edited,
            roots=roots(settings),
            now=clock(),
            base_version=version.version,
        )
    # history: who changed what and when
    entry = queries.history(session, item.code).versions[0]
    assert entry.author == people["author"].name and entry.version.created_at
    assert [c.field for c in entry.changes] == ["stem"]
    assert ("ins", entry.changes[0].words[-1][1]) in entry.changes[0].words


def test_an_unchanged_save_makes_no_version(session, settings, clock, people):
    item = _new(session, settings, clock, people)
    _, version = authoring.get(session, item.code)
    _, same, made = authoring.update_item(
        session, user=people["author"], code=item.code, draft=authoring.draft_of(item, version),
        roots=roots(settings), now=clock(),
    )  # fmt: skip
    assert not made and same.id == version.id


def test_candidates_never_get_a_draft_or_an_item_under_review(session, settings, clock, people):
    """Practice and exam selection read only pretest and operational items."""
    code = _new(session, settings, clock, people, pool="practice").code
    item, version = authoring.get(session, code)
    module = item.module
    for action in (None, "submit", "approve"):
        if action:
            _move(
                session,
                settings,
                clock,
                people["author" if action == "submit" else "reviewer"],
                code,
                action,
            )
        drawn = {
            v.id
            for _, v in service.current_versions(
                session, track="CAWM", pool="practice", module=module
            )
        }
        exam = {p["id"] for p in service.pool_parameters(session, track="CAWM")}
        assert version.id not in drawn and version.id not in exam
        with pytest.raises(NotFound):  # nor can a quiz grade it (its key and rationales)
            practice.grade_practice(session, {version.id: ["A"]})
    _move(session, settings, clock, people["admin"], code, "operational")
    drawn = {
        v.id
        for _, v in service.current_versions(session, track="CAWM", pool="practice", module=module)
    }
    assert version.id in drawn


def test_a_bank_load_does_not_overwrite_a_workbench_item_with_an_older_file(
    session, settings, clock, people, tmp_path
):
    root = tmp_path / "banks"
    shutil.copytree(settings.banks_dir, root)
    item, version = template(session)
    _move(session, settings, clock, people["admin"], item.code, "revise")
    edited = authoring.draft_of(item, version).model_copy(update={"stem": STEM})
    _, new, _ = authoring.update_item(
        session,
        user=people["author"],
        code=item.code,
        draft=edited,
        roots=roots(settings),
        now=clock(),
    )
    report = service.load_banks(session=session, root=root, now=clock())
    assert len(report.kept) == 1 and report.kept[0].startswith(f"{item.code}: kept")
    session.expire_all()
    item, current = authoring.get(session, item.code)
    assert current.id == new.id and item.status == "draft" and current.stem == STEM
    assert report.new_versions == 0

    # a file with a higher version is a later edit of the files: it replaces the item
    path = next(p for p in (root / "CAWM" / "exam").glob("*.yaml") if item.code in p.read_text())
    text = path.read_text()
    at = text.index(f"id: {item.code}")
    head, tail = text[:at], text[at:]
    tail = tail.replace(f"version: {version.version}", f"version: {new.version + 1}", 1)
    path.write_text(head + tail)
    report = service.load_banks(session=session, root=root, now=clock())
    assert report.kept == [] and report.new_versions == 1
    session.expire_all()
    item, current = authoring.get(session, item.code)
    assert item.owner == "files" and item.status == "operational"
    assert current.version == new.version + 1 and current.created_by is None


def test_an_export_of_workbench_items_loads_back_unchanged(
    session, settings, clock, people, tmp_path
):
    """The files-and-database rule with `wmi bank export`: items in review and approved (which
    only the workbench makes) and a revised shipped item survive export then load untouched."""
    from app.itembank import bank_export

    in_review = _new(session, settings, clock, people).code
    _move(session, settings, clock, people["author"], in_review, "submit")
    approved = _new(session, settings, clock, people, stem=OTHER_STEM).code
    _move(session, settings, clock, people["author"], approved, "submit")
    _move(session, settings, clock, people["reviewer"], approved, "approve")
    before = session.exec(select(func.count()).select_from(ItemVersion)).one()
    bank_export.export_banks(session=session, out=tmp_path / "out", source=settings.banks_dir)
    report = service.load_banks(session=session, root=tmp_path / "out", now=clock())
    assert report.problems == [] and report.kept == [] and report.new_versions == 0
    assert session.exec(select(func.count()).select_from(ItemVersion)).one() == before
    session.expire_all()
    assert authoring.get(session, in_review)[0].status == "review"
    assert authoring.get(session, approved)[0].status == "approved"
