"""A modified-Angoff study in a real browser: three panelists, two rounds, an approved cut; a
candidate who started before its effective date keeps the old cut, one who starts after gets it."""

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.core.clock import utcnow
from app.core.db import make_engine
from app.itembank.models import Item
from tests.e2e.exam_driver import csrf_of, start_in_page
from tests.e2e.test_accounts_e2e import sign_up

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"
ROUND_1 = [[70, 60, 50, 40, 30, 80], [90, 80, 70, 60, 50, 95], [80, 70, 60, 50, 40, 85]]
ROUND_2 = [[80, 70, 60, 45, 40, 85], [75, 65, 55, 45, 30, 90], [85, 75, 70, 55, 35, 80]]


def _admin_and_items(server) -> tuple[str, list[str]]:
    engine = make_engine(server["env"]["WMI_DATABASE_URL"])
    email = f"admin-{uuid.uuid4().hex[:6]}@example.org"
    with Session(engine) as session:
        accounts.ensure_admin(
            session=session, email=email, name="Ada Admin", password=PASSWORD, now=utcnow()
        )
        codes = session.exec(
            select(Item.code)
            .where(Item.track == "CAWM", Item.pool == "exam", Item.status == "operational")
            .order_by(Item.code)
            .limit(6)
        ).all()
    engine.dispose()
    return email, list(codes)


def _sign_in(page, base, email):
    page.goto(base + "/signin")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/dashboard")


def _rate_round(panelists, base, study_id, ratings, one_at_a_time=False):
    for panel_page, values in zip(panelists, ratings, strict=True):
        panel_page.goto(f"{base}/panel/studies/{study_id}")
        if one_at_a_time:  # the keyboard way: the field has focus, Enter saves and moves on
            panel_page.get_by_role("link", name="Rate one item at a time").click()
            for k, value in enumerate(values, start=1):
                panel_page.wait_for_url(f"{base}/panel/studies/{study_id}/items/{k}")
                # the rating field has the focus; wait for it, so no keystroke goes elsewhere
                expect(panel_page.get_by_label(re.compile("Percent .0 to 100"))).to_be_focused()
                panel_page.keyboard.type(str(value))
                panel_page.keyboard.press("Enter")
            panel_page.wait_for_url(f"{base}/panel/studies/{study_id}")
        else:
            for k, value in enumerate(values, start=1):
                panel_page.get_by_label(f"Rating for item {k}").fill(str(value))
            panel_page.get_by_role("button", name="Save my ratings").click()
        expect(panel_page.get_by_text("saved").first).to_be_visible()


def _sit(page, base) -> int:
    """Start a CAWM exam through the page's own session; the attempt id."""
    return start_in_page(page, base)


def _finish(page, base, attempt_id):
    token = csrf_of(page)
    attempt = page.request.get(f"{base}/api/v1/exams/attempts/{attempt_id}").json()
    while attempt["status"] == "open":
        item = attempt["item"]
        letters = list("ABCDE"[: len(item["options"])])
        answer = letters if item["type"] == "ordering" else letters[:1]
        response = page.request.post(
            f"{base}/api/v1/exams/attempts/{attempt_id}/answers",
            headers={"X-CSRF-Token": token},
            data={"position": item["position"], "token": item["token"], "answer": answer},
        )
        assert response.status == 200, response.text()
        attempt = response.json()["attempt"]


def test_three_panelists_two_rounds_to_an_approved_cut_in_force_from_its_date(browser, server):
    base = server["base"]
    admin_email, codes = _admin_and_items(server)
    contexts = [browser.new_context() for _ in range(6)]
    admin, *rest = [c.new_page() for c in contexts]
    panelists, (early, late) = rest[:3], rest[3:]
    for p in (admin, *rest):
        p.set_default_timeout(20000)
    emails = [sign_up(p, base, name=f"Panelist {k}") for k, p in enumerate(panelists, start=1)]
    _sign_in(admin, base, admin_email)
    for email in emails:  # the administrator gives each the panelist role
        admin.goto(f"{base}/admin/users?q={email}")
        admin.locator("select[name=role]").select_option("panelist")
        admin.get_by_role("button", name=f"Change role of {email}").click()
        expect(admin.get_by_text(f"{email} is now panelist.")).to_be_visible()

    admin.goto(base + "/admin/standards")
    admin.get_by_label("Track").select_option("CAWM")
    admin.get_by_label("Title").fill("CAWM cut, spring panel")
    admin.get_by_label("Or these items").fill(" ".join(codes))
    admin.get_by_role("button", name="Set up the study").click()
    admin.wait_for_url(re.compile(r".*/admin/standards/\d+$"))
    study_id = int(admin.url.rsplit("/", 1)[1])
    for email in emails:
        admin.get_by_label("E-mail").fill(email)
        admin.get_by_role("button", name="Add to the panel").click()
    admin.get_by_role("button", name="Open round 1").click()

    sign_up(early, base, name="Early Candidate")  # starts before the new cut exists
    early_attempt = _sit(early, base)

    # a learner may not rate; a panelist's rating outside 0-100 is refused with a message
    assert early.goto(f"{base}/panel/studies/{study_id}/items/1").status == 403
    _rate_round(panelists[:2], base, study_id, ROUND_1[:2])
    _rate_round(panelists[2:], base, study_id, ROUND_1[2:], one_at_a_time=True)
    panelists[0].goto(f"{base}/panel/studies/{study_id}/items/2")
    panelists[0].get_by_label(re.compile("Percent .0 to 100")).fill("150")
    panelists[0].get_by_role("button", name="Save and go to the next item").click()
    expect(panelists[0].get_by_text("Item 2: 150 is outside 0 to 100")).to_be_visible()
    hidden = panelists[0].goto(f"{base}/panel/studies/{study_id}/rounds/1")
    assert hidden.status == 409  # the panel's ratings wait for the round to close

    admin.goto(f"{base}/admin/standards/{study_id}")
    admin.get_by_role("button", name="Close round 1").click()
    panelists[0].goto(f"{base}/panel/studies/{study_id}/rounds/1")
    expect(panelists[0].get_by_text("70, 80, 90").first).to_be_visible()  # item 1, no names
    admin.get_by_role("button", name="Open round 2").click()
    _rate_round(panelists, base, study_id, ROUND_2)
    admin.goto(f"{base}/admin/standards/{study_id}")
    admin.get_by_role("button", name="Approve the cut").click()
    expect(admin.get_by_text("is still open; close it before approving")).to_be_visible()
    admin.goto(f"{base}/admin/standards/{study_id}")
    admin.get_by_role("button", name="Close round 2").click()
    expect(admin.get_by_text("Recommended cut: 3.80 of 6 items").last).to_be_visible()
    admin.get_by_label("Decision note").fill("Round 2 recommendation adopted.")
    admin.get_by_role("button", name="Approve the cut").click()
    approved = admin.get_by_text(re.compile(r"The CAWM cut theta -?\d\.\d{3} is approved"))
    theta = float(re.search(r"theta (-?\d\.\d{3})", approved.inner_text()).group(1))
    report = admin.request.get(f"{base}/admin/standards/{study_id}/report.pdf")
    assert report.status == 200 and report.body().startswith(b"%PDF")

    sign_up(late, base, name="Late Candidate")  # starts after the effective date
    late_attempt = _sit(late, base)
    _finish(early, base, early_attempt)
    _finish(late, base, late_attempt)
    cuts = {}
    for attempt_id in (early_attempt, late_attempt):
        admin.goto(f"{base}/admin/exams/attempts/{attempt_id}")
        cuts[attempt_id] = admin.locator("#attempt-cut").inner_text()
        line = admin.get_by_text(re.compile(r"Finished .*, scaled")).inner_text()
        verdict = re.search(r"UTC: (pass|fail), scaled", line).group(1)
        estimate = float(re.search(r"theta (-?\d+\.\d+)", line).group(1))
        cut = float(re.search(r"theta (-?\d+(\.\d+)?)", cuts[attempt_id]).group(1))
        assert (verdict == "pass") == (estimate >= cut), (line, cuts[attempt_id])
        cuts[attempt_id] = (cut, cuts[attempt_id])
    assert cuts[early_attempt] == (0.0, "Cut: theta 0.0 (track file)")
    assert cuts[late_attempt][0] == pytest.approx(theta, abs=6e-4) and theta != 0.0
    assert cuts[late_attempt][1].endswith(f"(Angoff study {study_id})")
    for c in contexts:
        c.close()
