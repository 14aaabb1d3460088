"""The pool-wide rules of `wmi bank check` on save: only the findings that concern the saved item,
beside the field they concern (app/itembank/authoring_pool.py)."""

import re
import shutil

import pytest
import yaml
from sqlalchemy import update
from sqlmodel import select

from app.accounts.models import Role
from app.itembank import authoring
from app.itembank.models import Item, ItemVersion
from tests.factories.accounts import csrf, make_user, sign_in
from tests.itembank.test_authoring import (
    OTHER_STEM,
    _move,
    _new,
    draft_like,
    roots,
    template,
)
from tests.itembank.test_workbench_http import _form


def policy_roots(settings, tmp_path, **policy) -> authoring.Roots:
    """The shipped fact catalogue with check settings of the test's own."""
    banks = tmp_path / "banks"
    banks.mkdir()
    shutil.copy(settings.banks_dir / "facts.yaml", banks / "facts.yaml")
    (banks / "checks.yaml").write_text(yaml.safe_dump(policy))
    return authoring.Roots(settings.content_dir, banks)


def found(session, code, bank_roots) -> set[tuple[str, str, bool]]:
    item, version = authoring.get(session, code)
    return {
        (f.field, f.rule, f.blocking)
        for f in authoring.findings(session, item, version, bank_roots)
    }


def test_the_fact_cap_counts_the_exam_pool_with_the_saved_item(
    session,
    settings,
    clock,
    people,
    tmp_path,
):
    _, version = template(session)  # an operational CAWM exam item: its fact has one at least
    tight = policy_roots(settings, tmp_path, fact_cap=1)
    item = authoring.create(session, user=people["author"], draft=draft_like(session),
                            roots=tight, now=clock())  # fmt: skip
    assert ("fact", "fact-cap", True) in found(session, item.code, tight)
    with pytest.raises(authoring.InvalidItem) as caught:
        authoring.transition(session, user=people["author"], code=item.code, action="submit",
                             now=clock(), roots=tight)  # fmt: skip
    assert any(f.rule == "fact-cap" and version.fact in f.message for f in caught.value.findings)
    # a practice item is not in the exam pool's count
    practice = authoring.create(session, user=people["author"],
                                draft=draft_like(session, stem=OTHER_STEM, pool="practice"),
                                roots=tight, now=clock())  # fmt: skip
    assert not any(r == "fact-cap" for _, r, _ in found(session, practice.code, tight))


def test_a_cue_across_the_pool_is_reported_for_the_saved_item_only(
    session,
    settings,
    clock,
    people,
    tmp_path,
):
    # with the cue listed as advice every hit is listed: the pool's other hits are not this
    # item's business, its own is, as a warning beside the options
    advice = policy_roots(settings, tmp_path, advice=["longest-is-key"])
    draft = draft_like(session)
    key = "ABCD".index(draft.key[0])
    options = [o.model_copy(update={"text": o.text[:40]}) for o in draft.options]
    options[key] = options[key].model_copy(update={"text": options[key].text + " and more " * 5})
    longest = authoring.create(session, user=people["author"], now=clock(), roots=advice,
                               draft=draft.model_copy(update={"options": options}))  # fmt: skip
    findings = authoring.findings(session, *authoring.get(session, longest.code), advice)
    cue = [f for f in findings if f.rule == "longest-is-key"]
    assert [(f.field, f.blocking) for f in cue] == [("options", False)]
    assert "of" in cue[0].message and "chance" in cue[0].message
    other = (key + 1) % 4
    options[key], options[other] = options[other], options[key]  # the key is no longer longest
    shorter = authoring.create(session, user=people["author"], now=clock(), roots=advice,
                               draft=draft.model_copy(update={"options": options,
                                                              "stem": OTHER_STEM}))  # fmt: skip
    assert not any(r == "longest-is-key" for _, r, _ in found(session, shorter.code, advice))


def _pretest_singles(session, keys: str) -> None:
    """The CAWM pretest pool left with one single item per letter of `keys`, keyed so."""
    rows = session.exec(
        select(Item, ItemVersion).join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.track == "CAWM", Item.pool == "pretest", Item.status == "pretest",
               ItemVersion.type == "single").order_by(Item.code)
    ).all()  # fmt: skip
    assert len(rows) >= len(keys)
    for (_, version), key in zip(rows, keys, strict=False):
        session.execute(update(ItemVersion).where(ItemVersion.id == version.id).values(key=[key]))
    retire = [item.id for item, _ in rows[len(keys) :]]
    session.execute(update(Item).where(Item.id.in_(retire)).values(status="retired"))
    session.commit()


def _pretest_draft(session, people, settings, clock, key: str) -> Item:
    draft = draft_like(session, pool="pretest")
    return authoring.create(session, user=people["admin"], now=clock(), roots=roots(settings),
                            draft=draft.model_copy(update={"key": [key]}))  # fmt: skip


def test_a_pool_finding_counts_only_when_the_saved_item_tips_the_pool(
    session,
    settings,
    clock,
    people,
):
    _pretest_singles(session, "ABCD")  # 25% each: balanced
    item = _pretest_draft(session, people, settings, clock, "A")  # A: 2 of 5, 40%
    findings = authoring.findings(session, *authoring.get(session, item.code), roots(settings))
    tipped = [f for f in findings if f.rule == "key-position"]
    assert [(f.field, f.blocking) for f in tipped] == [("key", True)]
    assert tipped[0].message.startswith("the CAWM pretest pool with this item: A is the key")


def test_a_pool_finding_the_pool_had_before_is_not_the_saved_items(
    session,
    settings,
    clock,
    people,
):
    _pretest_singles(session, "AABC")  # A over its share, D under, before any draft
    item = _pretest_draft(session, people, settings, clock, "B")  # A 40%, B 40%, D 0%
    messages = [
        f.message
        for f in authoring.findings(session, *authoring.get(session, item.code), roots(settings))
        if f.rule == "key-position"
    ]
    assert len(messages) == 1 and ": B is the key of 40%" in messages[0]


def test_a_stem_like_another_tracks_exam_item_is_found(session, settings, clock, people):
    _, wmp = template(session, track="WMP")
    item = _new(session, settings, clock, people, stem=wmp.stem)
    findings = authoring.findings(session, *authoring.get(session, item.code), roots(settings))
    cross = [f for f in findings if f.rule == "cross-track-duplicate"]
    assert cross and cross[0].field == "stem" and "WMP's exam pool" in cross[0].message
    with pytest.raises(authoring.InvalidItem):
        _move(session, settings, clock, people["author"], item.code, "submit")


def test_the_form_post_shows_a_pool_finding_beside_its_field(client, session):
    author = make_user(session, role=Role.author.value)
    sign_in(client, author)
    _, wmp = template(session, track="WMP")
    made = client.post("/workbench/new", data=_form(draft_like(session, stem=wmp.stem),
                                                    csrf_token=csrf(client)))  # fmt: skip
    assert made.status_code == 303 and made.headers["location"].endswith("/edit")
    form = client.get(made.headers["location"]).text
    assert "each is shown beside its field" in form
    assert re.search(r'id="err-stem-\d"[^>]*>Problem \(cross-track-duplicate\): stem', form)
    assert re.search(r'id="f-stem"[^>]*aria-invalid="true"', form)
