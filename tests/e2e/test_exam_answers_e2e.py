"""Invalid answers and navigation during an exam, in a real browser, with and without JavaScript:
an invalid answer comes back on the question page (the message beside the question, the clock
running), nothing that cannot be submitted is kept or re-sent, and Back never shows a stale page."""

import json
import re

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from app.core.db import make_engine
from app.exams.models import ExamAttempt
from tests.e2e.exam_driver import attempt_with_pending, open_rules, start_in_page
from tests.e2e.test_accounts_e2e import sign_up

pytestmark = pytest.mark.e2e


def count_answer_posts(page) -> list:
    posts: list = []
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/answer") else None,
    )
    return posts


def saved_answers(page) -> dict:
    return page.evaluate(
        "Object.fromEntries(Object.keys(localStorage).filter(k => k.startsWith('wmi-exam:'))"
        ".map(k => [k, JSON.parse(localStorage.getItem(k))]))"
    )


def message_beside_question(page):
    """The error message sits inside the question's form, tied to the question for screen
    readers, with the countdown still on the page."""
    alert = page.locator("form.exam-form [role=alert]")
    assert alert.count() == 1, page.content()
    expect(page.locator("[data-countdown]")).to_be_visible()
    described = page.locator("fieldset.question").get_attribute("aria-describedby") or ""
    assert alert.get_attribute("id") in described.split()
    return alert.inner_text()


def test_multiple_choice_sent_empty_asks_once_and_never_resubmits(page, server):
    base = server["base"]
    attempt_id = attempt_with_pending(page, base, "multiple")
    page.goto(f"{base}/exams/attempts/{attempt_id}")
    posts = count_answer_posts(page)
    page.get_by_role("button", name="Submit answer and continue").click()
    assert "Choose" in message_beside_question(page)
    page.wait_for_load_state("networkidle")
    assert len(posts) <= 1
    assert not any(v.get("pending") for v in saved_answers(page).values())

    page.reload()  # reopening the page sends nothing
    page.wait_for_load_state("networkidle")
    assert len(posts) <= 1

    # A browser that kept the old, broken state (an empty answer marked pending) must not loop.
    key = page.locator("form[data-exam-form]").get_attribute("data-exam-form")
    page.evaluate(
        "k => localStorage.setItem('wmi-exam:' + k, JSON.stringify({fields: {}, pending: true}))",
        key,
    )
    page.reload()
    page.wait_for_load_state("networkidle")
    assert len(posts) <= 1
    expect(page.get_by_role("button", name="Submit answer and continue")).to_be_visible()


def test_ordering_with_a_repeated_position_stays_on_the_question_with_javascript(page, server):
    base = server["base"]
    attempt_id = attempt_with_pending(page, base, "ordering")
    page.goto(f"{base}/exams/attempts/{attempt_id}")
    posts = count_answer_posts(page)
    selects = page.locator("fieldset.question select")
    for i in range(selects.count()):
        selects.nth(i).select_option(str(max(1, i)))  # 1, 1, 2, 3...
    page.get_by_role("button", name="Submit answer and continue").click()
    assert "different position" in message_beside_question(page)
    assert not any(v.get("pending") for v in saved_answers(page).values())

    page.goto(f"{base}/exams/CAWM")
    page.get_by_role("link", name="Resume it").click()
    page.wait_for_url(f"{base}/exams/attempts/{attempt_id}")
    page.wait_for_load_state("networkidle")
    assert page.locator("fieldset.question select").count() == selects.count()
    assert len(posts) <= 1, "the invalid answer is never sent again"


def test_ordering_with_a_repeated_position_without_javascript(browser, server):
    base = server["base"]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        attempt_id = _no_js_attempt_with_ordering(page, base)
        page.goto(f"{base}/exams/attempts/{attempt_id}")
        selects = page.locator("fieldset.question select")
        for i in range(selects.count()):
            selects.nth(i).select_option(str(max(1, i)))
        with page.expect_response(re.compile(r"/answer$")) as answered:
            page.get_by_role("button", name="Submit answer and continue").click()
        assert answered.value.status == 422
        assert page.url == f"{base}/exams/attempts/{attempt_id}/answer"
        assert "different position" in message_beside_question(page)
        assert selects.nth(2).input_value() == "2", "what the candidate chose is kept"
        for i in range(selects.count()):
            selects.nth(i).select_option(str(i + 1))
        page.get_by_role("button", name="Submit answer and continue").click()
        page.wait_for_url(f"{base}/exams/attempts/{attempt_id}")
        expect(page.get_by_text(re.compile(r"Answered: \d+"))).to_be_visible()
    finally:
        context.close()


def _no_js_attempt_with_ordering(page, base) -> int:
    """The API driver needs no script on the page: it works through page.request."""
    return attempt_with_pending(page, base, "ordering", seed=11)


def test_back_after_starting_shows_the_running_attempt_not_a_stale_start_page(page, server):
    base = server["base"]
    sign_up(page, base, name="Annie Easley")
    stale = page.context.new_page()
    open_rules(stale, base)  # a second tab, opened before the start
    stale.get_by_label("I have read the rules and accept the candidate agreement").check()
    attempt_url = f"{base}/exams/attempts/{start_in_page(page, base)}"
    page.once("dialog", lambda dialog: dialog.accept())  # the exam page asks before leaving
    page.go_back()
    page.wait_for_url(base + "/exams/CAWM/start")
    assert page.get_by_role("link", name="Resume it").get_attribute("href") in attempt_url
    assert not page.get_by_role("button", name="Start the exam now").count()
    assert not page.get_by_text("No attempts yet").count()

    with stale.expect_response(re.compile(r"/start$")) as started:
        stale.get_by_role("button", name="Start the exam now").click()
    assert started.value.status == 409
    resume = stale.get_by_role("link", name="Resume it")
    assert resume.get_attribute("href") in attempt_url
    resume.click()
    stale.wait_for_url(attempt_url)


def test_the_clock_starts_only_after_the_rules_and_the_agreement(page, server):
    """The exam's page leads to the rules and the agreement; Start without ticking it keeps
    the candidate there with the reason (the browser's own check set aside); the attempt
    records the version accepted; the exam page has no site menu and asks before leaving."""
    base = server["base"]
    sign_up(page, base, name="Dorothy Vaughan")
    open_rules(page, base)
    expect(
        page.get_by_role("heading", name="Candidate agreement (version 2026-12)")
    ).to_be_visible()
    expect(page.get_by_text("The clock is kept by the server")).to_be_visible()
    page.locator("#agreement").evaluate("box => box.removeAttribute('required')")
    with page.expect_response(re.compile(r"/start$")) as refused:
        page.get_by_role("button", name="Start the exam now").click()
    assert refused.value.status == 422
    assert page.get_by_role("alert").inner_text().startswith("Tick the box to accept")
    assert not page.get_by_text("Time left").count()

    attempt_id = start_in_page(page, base)
    expect(page.get_by_text("CAWM exam in progress")).to_be_visible()
    assert not page.get_by_role("navigation", name="Main").count()
    assert not page.locator(".site-footer").count()
    with Session(make_engine(server["env"]["WMI_DATABASE_URL"])) as session:
        assert session.get(ExamAttempt, attempt_id).agreement == "2026-12"
    page.locator(".stem").click()  # the page has been used (browsers ask only then)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    page.goto(base + "/tracks")
    assert dialogs == ["beforeunload"]


def test_signed_in_pages_and_api_are_not_stored(page, server):
    base = server["base"]
    sign_up(page, base, name="Evelyn Boyd Granville")
    for path in ("/dashboard", "/exams/CAWM", "/profile", "/api/v1/exams"):
        response = page.goto(base + path)
        assert response.headers.get("cache-control") == "no-store", path
    assert json.loads(page.locator("body").inner_text())  # the API answered as JSON
