"""Results keep the scale and the cut they were reported on when a track's cut moves."""

import shutil

import pytest
import yaml
from sqlmodel import select

from app.core.config import get_settings
from app.core.errors import InvalidInput
from app.courses import service as courses
from app.courses.models import Track
from app.exams.models import ExamAttempt
from tests.factories import exams as fx
from tests.factories.accounts import make_user, sign_in


def _content_with(tmp_path, track: str, edit) -> object:
    """A copy of content/ with track.yaml of `track` changed by edit(data)."""
    root = tmp_path / "content"
    shutil.copytree(get_settings().content_dir, root)
    path = root / track / "track.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return root


def _finished(session, clock, seed: int) -> ExamAttempt:
    user = make_user(session)
    attempt = fx.start(session, user, clock, track="CAWM")
    fx.run_to_end(session, user, clock, attempt.id, p_correct=0.6, seed=seed)
    return session.get(ExamAttempt, attempt.id, populate_existing=True), user


def test_changing_the_cut_leaves_reported_scores_as_they_were(client, session, clock, tmp_path):
    before, user = _finished(session, clock, seed=4)
    assert (before.scale_version, before.cut_theta, before.cut_score) == ("CAWM-1", 0.0, 500)
    reported = (before.scaled_score, before.passed, dict(before.result))
    assert before.scaled_score == round(500 + 100 * before.result["theta"])

    def raise_cut(data):
        data["exam"]["cut_theta"] = 0.5

    root = _content_with(tmp_path, "CAWM", raise_cut)
    report = courses.load_content(session=session, root=root, now=clock())
    assert report.problems == []
    track = session.exec(select(Track).where(Track.code == "CAWM")).one()
    assert courses.passing_score(session, track, now=clock()) == 550

    session.expire_all()
    again = session.get(ExamAttempt, before.id)
    assert (again.scaled_score, again.passed, again.result) == reported
    assert (again.scale_version, again.cut_theta, again.cut_score) == ("CAWM-1", 0.0, 500)
    sign_in(client, user)
    page = client.get(f"/exams/attempts/{before.id}").text
    assert f"Scaled score: <strong>{reported[0]}</strong>" in page
    assert "the passing score was 500" in page and "scale CAWM-1" in page

    after, _ = _finished(session, clock, seed=5)
    assert (after.scale_version, after.cut_theta, after.cut_score) == ("CAWM-1", 0.5, 550)
    assert after.scaled_score == round(500 + 100 * after.result["theta"])  # same scale
    assert after.passed == (after.scaled_score >= 550) == (after.result["theta"] >= 0.5)
    assert "the passing score is 550" in client.get("/tracks/CAWM").text


def test_a_scale_redefined_under_the_same_version_is_refused(session, clock, tmp_path):
    def move_anchor(data):
        data["scale"]["anchors"][1]["score"] = 650

    root = _content_with(tmp_path, "CAWM", move_anchor)
    report = courses.load_content(session=session, root=root, now=clock())
    assert any("scale version CAWM-1 is already stored" in p for p in report.problems)
    track = session.exec(select(Track).where(Track.code == "CAWM")).one()
    assert track.policy["scale"]["anchors"] == [[0.0, 500.0], [1.0, 600.0]]

    def new_version(data):
        move_anchor(data)
        data["scale"]["version"] = "CAWM-2"

    root = _content_with(tmp_path / "v2", "CAWM", new_version)
    assert courses.load_content(session=session, root=root, now=clock()).problems == []
    session.expire_all()
    track = session.exec(select(Track).where(Track.code == "CAWM")).one()
    assert track.policy["scale"]["version"] == "CAWM-2"


def test_an_approved_cut_changes_the_passing_score_not_the_scale(session, clock):
    before, _ = _finished(session, clock, seed=6)
    admin = fx.make_admin(session)
    track = courses.get_track(session, "CAWM")
    courses.add_cut(
        session,
        track=track,
        cut_theta=-0.25,
        effective_at=clock(),
        source="test",
        approved_by=admin.id,
        now=clock(),
    )
    session.commit()
    assert courses.passing_score(session, track, now=clock()) == 475
    after, _ = _finished(session, clock, seed=7)
    assert (after.scale_version, after.cut_theta, after.cut_score) == ("CAWM-1", -0.25, 475)
    assert after.scaled_score == round(500 + 100 * after.result["theta"])
    session.expire_all()
    again = session.get(ExamAttempt, before.id)
    assert (again.cut_theta, again.cut_score, again.scaled_score) == (
        0.0,
        500,
        before.scaled_score,
    )


def test_a_cut_off_the_scale_is_refused_with_a_message(session, clock):
    track = courses.get_track(session, "CAWM")
    with pytest.raises(InvalidInput, match="inside the track's scale"):
        courses.add_cut(
            session,
            track=track,
            cut_theta=3.5,
            effective_at=clock(),
            source="test",
            approved_by=fx.make_admin(session).id,
            now=clock(),
        )
