"""The four journeys (anonymous, learner, candidate, administrator) at 1280 and 390 px, with
axe-core on every page (no serious or critical finding) and no sideways scrolling; and the same
journeys' essential steps without JavaScript (issue 14, "Done when")."""

import re
import subprocess
import sys
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.a11y import axe_check, no_sideways_scroll
from tests.e2e.exam_driver import pass_through_api, start_in_page
from tests.e2e.test_accounts_e2e import sign_up
from tests.e2e.test_learning_e2e import answer_quiz_with_first_options

pytestmark = pytest.mark.e2e
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture(params=list(SIZES))
def sized(browser, request):
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def visit(page, url: str):
    """Open a page and check it: axe-core, and no sideways scrolling."""
    if url:
        page.goto(url)
    axe_check(page)
    no_sideways_scroll(page)


def test_anonymous_journey(sized, server):
    base = server["base"]
    for path in ("/", "/tracks", "/tracks/CAWM", "/signin", "/signup", "/password/forgot"):
        visit(sized, base + path)
    sized.goto(base + "/tracks/CAWM")
    sized.get_by_role("link", name=re.compile(r"^C1 ·")).click()
    visit(sized, "")
    sized.locator("main ol li a").first.click()
    visit(sized, "")
    sized.goto(base + "/")
    sized.locator("footer").get_by_role("link", name="Verify a certificate").click()
    visit(sized, "")
    sized.get_by_label("Certificate number").fill("CAWM-2026-NOPE")
    sized.get_by_role("button", name="Verify").click()
    assert sized.get_by_label("Certificate number").input_value() == "CAWM-2026-NOPE"
    visit(sized, "")
    response = sized.goto(base + "/no/such/page")
    assert response.status == 404
    visit(sized, "")


def test_learner_journey(sized, server):
    base = server["base"]
    sign_up(sized, base, name="Ada Lovelace")
    visit(sized, "")
    sized.goto(base + "/tracks/CAWM")
    sized.get_by_role("link", name=re.compile(r"^C1 ·")).click()
    sized.locator("main ol li a").first.click()
    visit(sized, "")
    sized.get_by_role("button", name=re.compile("Mark complete")).click()
    visit(sized, "")
    sized.goto(base + "/tracks/CAWM/modules/C1/practice")
    visit(sized, "")
    answer_quiz_with_first_options(sized)
    sized.get_by_role("button", name=re.compile("Check my answers")).click()
    visit(sized, "")
    for path in ("/dashboard", "/profile", "/exams", "/certificates"):
        visit(sized, base + path)


def test_candidate_journey(sized, server):
    base = server["base"]
    sign_up(sized, base, name="Katherine Johnson")
    sized.goto(base + "/exams/CAWM")
    visit(sized, "")
    aid = pass_through_api(sized, base, server["var"] / "e2e.db")
    sized.goto(f"{base}/exams/attempts/{aid}")
    expect(sized.get_by_role("heading", name="CAWM exam: Pass")).to_be_visible()
    visit(sized, "")
    number = sized.locator(".certificate-note strong").first.inner_text()
    sized.get_by_role("link", name="Printable score report").click()
    visit(sized, "")
    sized.emulate_media(media="print")
    expect(sized.locator(".site-header")).not_to_be_visible()
    expect(sized.locator(".site-footer")).not_to_be_visible()
    sized.emulate_media(media="screen")
    for path in ("/exams", "/certificates", f"/verify/{number}"):
        visit(sized, base + path)


def make_admin(server) -> tuple[str, str]:
    email, password = f"admin-{uuid.uuid4().hex[:6]}@example.org", "admin password long"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "admin",
            "create",
            "--email",
            email,
            "--name",
            "Ada Admin",
        ],
        input=f"{password}\n{password}\n",
        text=True,
        env=server["env"],
        check=True,
        capture_output=True,
    )
    return email, password


def test_administrator_journey(sized, server):
    base = server["base"]
    email, password = make_admin(server)
    sized.goto(base + "/signin")
    sized.get_by_label("E-mail address").fill(email)
    sized.get_by_label("Password").fill(password)
    sized.get_by_role("button", name="Sign in").click()
    sized.wait_for_url(base + "/dashboard")
    for path in ("/admin", "/admin/users", "/admin/outbox", "/admin/audit", "/admin/exams",
                 "/admin/certificates"):  # fmt: skip
        visit(sized, base + path)
    attempts = sized.goto(base + "/admin/exams")
    assert attempts.ok
    link = sized.locator("main a[href^='/admin/exams/attempts/']").first
    if link.count():
        link.click()
        visit(sized, "")


def test_journeys_without_javascript(browser, server):
    """Sign up, read and complete a lesson, take a practice quiz, start an exam and answer by
    form, read a result and verify a certificate: all with JavaScript off."""
    base = server["base"]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_up(page, base, name="Mary Jackson")
        page.goto(base + "/tracks/CAWM/modules/C1")
        page.locator("main ol li a").first.click()
        page.get_by_role("button", name=re.compile("Mark complete")).click()
        expect(page.get_by_text("is marked complete")).to_be_visible()
        page.goto(base + "/tracks/CAWM/modules/C1/practice")
        answer_quiz_with_first_options(page)
        page.get_by_role("button", name=re.compile("Check my answers")).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        start_in_page(page, base)
        answer_quiz_with_first_options(page)
        page.get_by_role("button", name="Submit answer and continue").click()
        expect(page.get_by_text("Answered: 1")).to_be_visible()
        page.goto(base + "/verify")
        page.get_by_label("Certificate number").fill("CAWM-2026-NOPE")
        page.get_by_role("button", name="Verify").click()
        assert page.get_by_label("Certificate number").input_value() == "CAWM-2026-NOPE"
    finally:
        context.close()
