"""The exam starts only after the rules and the candidate agreement: the page, the refusal in
place, the version recorded on the attempt and in the audit log, the API's equivalent."""

from sqlmodel import select

from app.core.models import AuditEntry
from app.exams.agreement import CLAUSES, VERSION
from app.exams.models import ExamAttempt
from tests.factories.accounts import csrf, make_token, make_user, sign_in
from tests.factories.exams import make_admin


def _attempts(session, user):
    return session.exec(select(ExamAttempt).where(ExamAttempt.user_id == user.id)).all()


def test_the_exam_page_leads_to_the_rules_and_the_agreement_first(client, session):
    sign_in(client, make_user(session))
    track = client.get("/exams/CAWM").text
    assert 'href="/exams/CAWM/start"' in track and "Start the exam now" not in track
    rules = client.get("/exams/CAWM/start")
    assert rules.status_code == 200
    assert f"Candidate agreement (version {VERSION})" in rules.text
    assert CLAUSES[1] in rules.text and "does not stop if you close the page" in rules.text
    assert 'name="agreement" value="2026-12" required' in rules.text


def test_a_start_without_the_agreement_stays_on_the_rules_and_starts_nothing(client, session):
    user = make_user(session)
    sign_in(client, user)
    token = csrf(client)
    for sent, words in (
        ({}, "Tick the box to accept the candidate agreement"),
        ({"agreement": "2025-01"}, "The candidate agreement has changed"),
    ):
        page = client.post("/exams/CAWM/start", data={"csrf_token": token, **sent})
        assert page.status_code == 422
        assert words in page.text and "Candidate agreement (version" in page.text
    assert _attempts(session, user) == []


def test_the_accepted_version_is_recorded_on_the_attempt_and_in_the_audit_log(client, session):
    user = make_user(session)
    sign_in(client, user)
    started = client.post(
        "/exams/CAWM/start", data={"csrf_token": csrf(client), "agreement": VERSION}
    )
    assert started.status_code == 303
    (attempt,) = _attempts(session, user)
    assert attempt.agreement == VERSION
    entry = session.exec(
        select(AuditEntry).where(AuditEntry.subject == f"attempt:{attempt.id}")
    ).one()
    assert entry.action == "exam.start" and f'"agreement": "{VERSION}"' in entry.data
    client.cookies.clear()
    sign_in(client, make_admin(session))
    log = client.get(f"/admin/exams/attempts/{attempt.id}").text
    assert f"Candidate agreement version {VERSION} accepted at the start" in log


def test_the_api_start_needs_the_agreement_version(client, session):
    user = make_user(session)
    bearer = {"Authorization": f"Bearer {make_token(session, user)}"}
    shown = client.get("/api/v1/exams/agreement", headers=bearer).json()
    assert shown == {"version": VERSION, "clauses": list(CLAUSES)}
    missing = client.post("/api/v1/exams/CAWM/attempts", headers=bearer)
    assert missing.status_code == 422
    old = client.post("/api/v1/exams/CAWM/attempts", headers=bearer, json={"agreement": "1999"})
    assert old.status_code == 422 and old.json()["error"]["code"] == "agreement_needed"
    assert _attempts(session, user) == []
    ok = client.post("/api/v1/exams/CAWM/attempts", headers=bearer, json={"agreement": VERSION})
    assert ok.status_code == 201
    assert _attempts(session, user)[0].agreement == VERSION
