"""Item banks in the database: versioned loading, practice quizzes, feedback and readiness."""

import re
import shutil

from sqlmodel import func, select

from app.core.clock import utcnow
from app.core.config import ROOT
from app.itembank import practice, service
from app.itembank.models import Item, ItemVersion, PracticeResponse
from tests.factories.accounts import csrf, make_token, make_user, sign_in


def test_reload_is_idempotent(session, clock):
    before = session.exec(select(func.count()).select_from(ItemVersion)).one()
    report = service.load_banks(session=session, root=ROOT / "question_banks", now=clock())
    assert report.created == 0 and report.new_versions == 0
    assert session.exec(select(func.count()).select_from(ItemVersion)).one() == before


def _edit_first_item(root, new_stem_suffix=" (edited)"):
    """Edit the stem of the first operational item of CAWM/exam/B.yaml (retired ones stay out of
    the exam pool snapshot)."""
    path = root / "CAWM" / "exam" / "B.yaml"
    blocks = re.split(r"(?m)^(?=- id: )", path.read_text())
    n = next(i for i, b in enumerate(blocks) if "\n  status: operational" in b)
    item_id = re.search(r"id: (CAWM-B-\d+)", blocks[n]).group(1)
    blocks[n] = re.sub(
        r"(\n  stem: (?:>-\n\s+)?)([^\n]+)",
        lambda m: m.group(1) + m.group(2) + new_stem_suffix,
        blocks[n],
        count=1,
    )
    path.write_text("".join(blocks))
    return item_id


def test_edited_item_becomes_a_new_version_and_delivered_versions_stay(session, clock, tmp_path):
    root = tmp_path / "qb"
    shutil.copytree(ROOT / "question_banks", root)
    item_id = _edit_first_item(root)
    item = session.exec(select(Item).where(Item.code == item_id)).one()
    old = session.get(ItemVersion, item.current_version_id)
    old.first_delivered_at = utcnow()
    session.add(old)
    session.commit()
    old_stem = old.stem
    report = service.load_banks(session=session, root=root, now=clock())
    assert report.new_versions == 1
    session.refresh(item)
    new = session.get(ItemVersion, item.current_version_id)
    assert new.version == old.version + 1 and new.stem.endswith("(edited)")
    session.refresh(old)
    assert old.stem == old_stem  # the delivered version is untouched


def test_practice_draws_only_practice_items(session):
    user = make_user(session)
    questions = practice.draw_practice(session, user=user, track="WMP", module="P3", n=50, seed=1)
    ids = {q.version_id for q in questions}
    pools = set(
        session.exec(
            select(Item.pool)
            .join(ItemVersion, ItemVersion.item_id == Item.id)
            .where(ItemVersion.id.in_(ids))
        ).all()
    )
    assert pools == {"practice"} and len(questions) >= 10


def test_practice_feedback_has_every_rationale_and_scores(client, session):
    user = make_user(session)
    sign_in(client, user)
    page = client.get("/tracks/CAWM/modules/C2/practice")
    assert page.status_code == 200
    ids = re.search(r'name="items" value="([\d,]+)"', page.text).group(1).split(",")
    versions = [session.get(ItemVersion, int(i)) for i in ids]
    form = {"csrf_token": csrf(client), "items": ",".join(ids)}
    for v in versions:
        form[f"type_{v.id}"] = v.type
        if v.type == "ordering":
            for pos, letter in enumerate(v.key, 1):
                form[f"q{v.id}_{letter}"] = str(pos)
        else:
            form[f"q{v.id}"] = v.key  # the right answer
    form["quiz"] = re.search(r'name="quiz" value="([^"]+)"', page.text).group(1)
    posted = client.post("/tracks/CAWM/modules/C2/practice", data=form)
    assert posted.status_code == 303  # post, redirect, get
    assert posted.headers["location"] == "/tracks/CAWM/modules/C2/practice/feedback"
    r = client.get(posted.headers["location"])
    assert f"{len(ids)} of {len(ids)} answered correctly" in r.text
    for v in versions:
        for option in v.options:
            assert option["rationale"][:40].replace("'", "&#39;").replace('"', "&#34;") in r.text
    assert session.exec(select(func.count()).select_from(PracticeResponse)).one() == len(ids)


def test_practice_api_and_readiness_moves_with_answers(client, session):
    strong, weak = make_user(session), make_user(session)
    results = {}
    for user, right in ((strong, True), (weak, False)):
        auth = {"Authorization": f"Bearer {make_token(session, user)}"}
        assert client.get("/api/v1/readiness/CAWM", headers=auth).json()["enough"] is False
        for module in ("C1", "C2", "C3"):
            questions = client.get(
                f"/api/v1/tracks/CAWM/modules/{module}/practice", headers=auth
            ).json()
            answers = []
            for q in questions:
                key = session.get(ItemVersion, q["id"]).key
                if q["type"] == "ordering":
                    wrong = list(reversed(key))
                else:
                    wrong = [x for x in "ABCDE"[: len(q["options"])] if x not in key][:1]
                answers.append({"id": q["id"], "answer": key if right else wrong})
            r = client.post("/api/v1/practice/answers", json={"answers": answers}, headers=auth)
            assert r.status_code == 200
            assert all(f["correct"] is right for f in r.json())
            assert all(len(f["options"]) == len(f["key"]) or f["options"] for f in r.json())
        results[right] = client.get("/api/v1/readiness/CAWM", headers=auth).json()
    assert results[True]["enough"] and results[False]["enough"]
    assert results[True]["p_pass"] > 0.9 > 0.1 > results[False]["p_pass"]
    assert "chance that you would pass" in results[True]["explanation"]


def test_exam_items_are_not_answerable_as_practice(client, session):
    user = make_user(session)
    auth = {"Authorization": f"Bearer {make_token(session, user)}"}
    exam_version = session.exec(select(Item.current_version_id).where(Item.pool == "exam")).first()
    r = client.post(
        "/api/v1/practice/answers",
        json={"answers": [{"id": exam_version, "answer": ["A"]}]},
        headers=auth,
    )
    assert r.status_code == 404
    assert "rationale" not in r.text


def test_cached_pool_snapshot_follows_every_bank_load(session, clock, tmp_path):
    """Starts read the exam pool from a per-process cache; a load (in any process) bumps the
    bank revision, and the next read sees the new versions."""
    before = service.pool_parameters(session, track="CAWM")
    assert service.pool_parameters(session, track="CAWM") is before  # served from the cache
    root = tmp_path / "qb"
    shutil.copytree(ROOT / "question_banks", root)
    item_id = _edit_first_item(root)
    service.load_banks(session=session, root=root, now=clock())
    after = service.pool_parameters(session, track="CAWM")
    item = session.exec(select(Item).where(Item.code == item_id)).one()
    assert item.current_version_id in {p["id"] for p in after}
    assert item.current_version_id not in {p["id"] for p in before}
    assert len(after) == len(before)


def _retag_first_item(root, fact: str) -> str:
    path = root / "CAWM" / "exam" / "A.yaml"
    text = path.read_text()
    item_id = re.search(r"id: (CAWM-A-\d+)", text).group(1)
    path.write_text(re.sub(r"\n  fact: [^\n]+", f"\n  fact: {fact}", text, count=1))
    return item_id


def test_versions_carry_their_fact_and_the_pool_snapshot_exposes_it(session, clock, tmp_path):
    """Every loaded version names its fact; the exam pool snapshot (what attempts freeze and
    the engine reads) carries it, so items of one fact can be kept apart as enemies."""
    versions = session.exec(select(ItemVersion)).all()
    assert versions and all(v.fact for v in versions)
    pool = service.pool_parameters(session, track="WMP")
    assert all(p["fact"] for p in pool)
    by_version = {v.id: v.fact for v in versions}
    assert all(by_version[p["id"]] == p["fact"] for p in pool)
    # a new tag on unchanged words updates the version in place: no new version, new snapshot
    root = tmp_path / "qb"
    shutil.copytree(ROOT / "question_banks", root)
    item_id = _retag_first_item(root, "wmpm.question")
    report = service.load_banks(session=session, root=root, now=clock())
    assert report.new_versions == 0
    item = session.exec(select(Item).where(Item.code == item_id)).one()
    session.refresh(session.get(ItemVersion, item.current_version_id))
    assert session.get(ItemVersion, item.current_version_id).fact == "wmpm.question"
    snapshot = {p["id"]: p["fact"] for p in service.pool_parameters(session, track="CAWM")}
    assert snapshot[item.current_version_id] == "wmpm.question"


def test_reloading_or_resending_practice_feedback_records_nothing_more(client, session):
    """Reloading the feedback page or sending the same quiz again (Back, then resubmit) does
    not record the answers again, so the readiness estimate is not inflated."""
    sign_in(client, make_user(session))
    page = client.get("/tracks/CAWM/modules/C2/practice").text
    ids = re.search(r'name="items" value="([\d,]+)"', page).group(1).split(",")
    quiz = re.search(r'name="quiz" value="([^"]+)"', page)
    form = {"csrf_token": csrf(client), "items": ",".join(ids), f"q{ids[0]}": "A"}
    form[f"type_{ids[0]}"] = session.get(ItemVersion, int(ids[0])).type
    if quiz:
        form["quiz"] = quiz.group(1)
    if form[f"type_{ids[0]}"] == "ordering":
        form.pop(f"q{ids[0]}")
        n = len(session.get(ItemVersion, int(ids[0])).options)
        form.update({f"q{ids[0]}_{'ABCDE'[i]}": str(i + 1) for i in range(n)})
    recorded = select(func.count()).select_from(PracticeResponse)
    first = client.post("/tracks/CAWM/modules/C2/practice", data=form)
    assert first.status_code == 303
    assert session.exec(recorded).one() == 1
    for _ in range(2):
        assert client.get(first.headers["location"]).status_code == 200
    assert client.post("/tracks/CAWM/modules/C2/practice", data=form).status_code == 303
    assert session.exec(recorded).one() == 1


def test_an_empty_practice_quiz_comes_back_with_its_questions_and_a_message(client, session):
    sign_in(client, make_user(session))
    page = client.get("/tracks/CAWM/modules/C2/practice").text
    ids = re.search(r'name="items" value="([\d,]+)"', page).group(1)
    r = client.post(
        "/tracks/CAWM/modules/C2/practice", data={"csrf_token": csrf(client), "items": ids}
    )
    assert r.status_code == 422
    assert "Answer at least one question" in r.text and 'role="alert"' in r.text
    assert f'name="items" value="{ids}"' in r.text, "the same questions, to answer now"
