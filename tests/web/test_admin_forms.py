"""Administrators' form mistakes come back in place (issue 14): the message beside the form,
what was typed kept, what to do said, nothing changed; the audit log names its actors."""

from sqlmodel import select

from app.accounts.models import User
from app.exams.models import ExamWaiver
from tests.factories.accounts import csrf, make_user, sign_in
from tests.factories.exams import make_admin


def test_a_waiver_for_an_unknown_address_comes_back_on_the_console(client, session):
    sign_in(client, make_admin(session))
    data = {"csrf_token": csrf(client), "email": "nobody@example.org", "track": "WMP",
            "reason": "10 years in PMO"}  # fmt: skip
    page = client.post("/admin/exams/waivers", data=data)
    assert page.status_code == 404
    assert "There is no user with the e-mail address nobody@example.org" in page.text
    assert "ask the candidate to create an account first" in page.text
    assert 'value="nobody@example.org"' in page.text and 'value="10 years in PMO"' in page.text
    assert "<option selected>WMP</option>" in page.text
    assert "Grant accommodation" in page.text  # the whole console, not an error page
    assert session.exec(select(ExamWaiver)).all() == []


def test_an_administrator_demoting_themselves_is_told_why_on_the_user_list(client, session):
    admin = make_admin(session, email="chief@example.org")
    sign_in(client, admin)
    token = csrf(client)
    page = client.post(
        f"/admin/users/{admin.id}/role", data={"csrf_token": token, "role": "learner"}
    )
    assert page.status_code == 409
    assert "You cannot change your own role: another administrator must do it." in page.text
    assert "Nothing was changed." in page.text and "chief@example.org" in page.text
    assert "Search by e-mail or name" in page.text
    off = client.post(f"/admin/users/{admin.id}/deactivate", data={"csrf_token": token})
    assert off.status_code == 409 and "another administrator must do it" in off.text
    session.expire_all()
    me = session.get(User, admin.id)
    assert me.role == "admin" and me.is_active


def test_the_audit_log_names_its_actors(client, session):
    admin = make_admin(session, name="Grace Hopper", email="grace@example.org")
    learner = make_user(session, name="Alan Turing")
    sign_in(client, admin)
    client.post(
        f"/admin/users/{learner.id}/role", data={"csrf_token": csrf(client), "role": "author"}
    )
    page = client.get("/admin/audit", params={"action": "account.role_changed"}).text
    assert "<td>Grace Hopper &lt;grace@example.org&gt;</td><td>account.role_changed</td>" in page
