"""Appeals over HTTP: the candidate's pages, the administrator's review, the window's refusal."""

from sqlmodel import select

from app.appeals.models import Case, WithdrawalRun
from app.exams.models import ExamResponse
from app.itembank.models import Item, ItemVersion
from tests.factories.accounts import csrf, make_user, sign_in
from tests.factories.appeals import finished
from tests.factories.exams import make_admin

GROUNDS = "The clock jumped and I lost ten minutes of my exam time."


def _as(client, user):
    client.cookies.clear()
    sign_in(client, user)
    return csrf(client)


def test_a_candidate_appeals_flags_and_follows_the_outcome(app, client, session, clock):
    user, admin = make_user(session), make_admin(session)
    attempt = finished(session, user, clock, p_correct=0.5)
    token = _as(client, user)
    page = client.get(f"/appeals/attempts/{attempt.id}")
    assert page.status_code == 200 and "Appeal the result" in page.text
    flagged = client.post(
        f"/appeals/attempts/{attempt.id}/flags",
        data={"csrf_token": token, "position": "1", "comment": "Ambiguous."},
    )
    assert flagged.status_code == 303
    sent = client.post(
        f"/appeals/attempts/{attempt.id}/appeal", data={"csrf_token": token, "grounds": GROUNDS}
    )
    assert sent.status_code == 303
    case = session.exec(select(Case).where(Case.attempt_id == attempt.id)).one()
    assert "under review" in client.get("/appeals").text
    token = _as(client, admin)
    review = client.get(f"/admin/appeals/cases/{case.id}")
    assert review.status_code == 200 and "Ambiguous." in review.text and GROUNDS in review.text
    first = session.exec(
        select(ExamResponse).where(
            ExamResponse.attempt_id == attempt.id, ExamResponse.position == 1
        )
    ).one()
    decided = client.post(
        f"/admin/appeals/cases/{case.id}/decide",
        data={
            "csrf_token": token,
            "outcome": "rescored",
            "exclude": str(first.item_version_id),
            "reasons": "Question 1 was ambiguous; withdrawn.",
        },
    )
    assert decided.status_code == 303
    assert "rescored" in client.get(f"/admin/appeals/cases/{case.id}").text
    _as(client, user)
    mine = client.get(f"/appeals/attempts/{attempt.id}")
    assert "Your result was rescored on" in mine.text and f"appeal {case.id}" in mine.text
    result = client.get(f"/exams/attempts/{attempt.id}")
    assert "exam: " in result.text and "(rescored)" in result.text
    assert "without 1 withdrawn question(s)" in result.text


def test_an_appeal_page_after_the_window_says_when_it_ran(client, session, clock):
    user = make_user(session)
    attempt = finished(session, user, clock, p_correct=0.5)
    clock.advance(days=40)
    token = _as(client, user)
    assert "The appeal window closed on" in client.get(f"/appeals/attempts/{attempt.id}").text
    late = client.post(
        f"/appeals/attempts/{attempt.id}/appeal", data={"csrf_token": token, "grounds": GROUNDS}
    )
    assert late.status_code == 409
    assert f"ran from {attempt.finished_at:%d %B %Y %H:%M} to" in late.text


def test_an_administrator_withdraws_an_item_and_reads_the_report(app, client, session, clock):
    admin = make_admin(session)
    attempt = finished(session, make_user(session), clock, p_correct=0.5)
    first = session.exec(
        select(ExamResponse).where(
            ExamResponse.attempt_id == attempt.id, ExamResponse.position == 1
        )
    ).one()
    code = session.exec(
        select(Item.code)
        .join(ItemVersion, ItemVersion.item_id == Item.id)
        .where(ItemVersion.id == first.item_version_id)
    ).one()
    token = _as(client, admin)
    bad = client.post(
        "/admin/appeals/withdrawals",
        data={"csrf_token": token, "code": "NOPE-X-001", "reason": "Faulty key here."},
    )
    assert bad.status_code == 404 and "There is no item NOPE-X-001" in bad.text
    started = client.post(
        "/admin/appeals/withdrawals",
        data={"csrf_token": token, "code": code, "reason": "Faulty key here."},
    )
    assert started.status_code == 303
    app.state.jobs.drain()
    run = session.exec(select(WithdrawalRun)).one()
    page = client.get(started.headers["location"])
    assert "Status: <strong>done</strong>" in page.text and "1 attempt(s) rescored" in page.text
    again = client.post(
        "/admin/appeals/withdrawals",
        data={"csrf_token": token, "code": code, "reason": "Faulty key here."},
    )
    assert again.status_code == 409 and f"(run {run.id})" in again.text
