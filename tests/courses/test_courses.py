"""Courses: loading content (idempotent, versioned), lesson pages, progress across reloads."""

import shutil

from sqlmodel import func, select

from app.core.config import ROOT
from app.courses import service
from app.courses.models import Lesson, LessonProgress, LessonVersion
from tests.factories.accounts import csrf, make_user, sign_in


def test_reload_is_idempotent(session, clock):
    before = session.exec(select(func.count()).select_from(LessonVersion)).one()
    report = service.load_content(session=session, root=ROOT / "content", now=clock())
    assert report.lessons == before and report.new_versions == 0 and report.retired == 0
    assert session.exec(select(func.count()).select_from(LessonVersion)).one() == before


def test_changed_lesson_gets_a_new_version_and_progress_survives(session, clock, tmp_path):
    user = make_user(session)
    track = service.get_track(session, "CAWM")
    first = service.track_lessons(session, track)[0]
    service.mark_complete(session=session, user=user, lesson_id=first.id, now=clock())
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    path = next((root / "CAWM").glob("01-*/01-*.md"))
    path.write_text(path.read_text() + "\nAn added closing sentence for this test.\n")
    report = service.load_content(session=session, root=root, now=clock())
    assert report.new_versions == 1
    lesson, _, _ = service.get_lesson(session, track, first.module_code, first.slug)
    assert lesson.id == first.id and lesson.version == first.version + 1
    assert "An added closing sentence" in lesson.body
    assert first.id in service.completed_lesson_ids(session, user)
    versions = session.exec(select(LessonVersion).where(LessonVersion.lesson_id == first.id)).all()
    assert len(versions) == 2  # the earlier text is kept


def test_removed_lesson_is_retired_not_deleted(session, clock, tmp_path):
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    victim = sorted((root / "CWA").glob("08-*/*.md"))[-1]
    victim.unlink()
    report = service.load_content(session=session, root=root, now=clock())
    assert report.retired == 1
    row = session.exec(select(Lesson).where(Lesson.slug == victim.stem)).one()
    assert row.retired


def test_catalogue_track_and_lesson_pages(client):
    assert "Certified Workflow Architect" in client.get("/tracks").text
    page = client.get("/tracks/CWA")
    assert page.status_code == 200 and "Exam blueprint" in page.text and "<svg" in page.text
    assert "active CAWM certificate" in page.text
    lesson = client.get("/tracks/CAWM/modules/C1/lessons/" + first_slug(client))
    assert lesson.status_code == 200 and "<h2>Learning objectives</h2>" in lesson.text
    assert "Sign in</a> to record your progress" in lesson.text
    assert client.get("/tracks/NOPE").status_code == 404
    assert client.get("/tracks/CAWM/modules/C1/lessons/nope").status_code == 404


def first_slug(client) -> str:
    return client.get("/api/v1/tracks/CAWM").json()["modules"][0]["lessons"][0]


def test_lesson_markdown_is_sanitised(session, clock, tmp_path):
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    path = next((root / "CAWM").glob("01-*/01-*.md"))
    path.write_text(path.read_text() + "\n<script>alert(1)</script>\n[x](javascript:alert(1))\n")
    service.load_content(session=session, root=root, now=clock())
    track = service.get_track(session, "CAWM")
    from app.courses.router import _lesson_out

    lesson = _lesson_out(session, None, track, "C1", path.stem)
    assert "<script" not in lesson.html and "&lt;script&gt;" in lesson.html
    assert 'href="javascript' not in lesson.html


def test_mark_complete_flow_and_api_progress(client, session):
    user = make_user(session)
    sign_in(client, user)
    slug = first_slug(client)
    r = client.post(
        f"/tracks/CAWM/modules/C1/lessons/{slug}/complete", data={"csrf_token": csrf(client)}
    )
    assert r.status_code == 303 and "/lessons/" in r.headers["location"]
    progress = {p["track"]: p for p in client.get("/api/v1/progress").json()}
    assert progress["CAWM"]["done"] == 1 and progress["CAWM"]["total"] >= 14
    assert progress["CAWM"]["modules"][0]["done"] == 1
    again = client.post(
        f"/tracks/CAWM/modules/C1/lessons/{slug}/complete", data={"csrf_token": csrf(client)}
    )
    assert again.status_code == 303
    assert session.exec(select(func.count()).select_from(LessonProgress)).one() == 1
    dashboard = client.get("/dashboard").text
    assert 'data-testid="progress-CAWM">1 of' in dashboard


def test_anyone_may_read_any_course(client):
    for code in ("CAWM", "WMP", "CWA"):
        track = client.get(f"/api/v1/tracks/{code}").json()
        module = track["modules"][-1]
        r = client.get(
            f"/api/v1/tracks/{code}/modules/{module['code']}/lessons/{module['lessons'][0]}"
        )
        assert r.status_code == 200 and r.json()["completed"] is False
