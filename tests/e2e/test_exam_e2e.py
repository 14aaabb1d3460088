"""A candidate sits an exam in a real browser: the whole sitting from sign-in to the score report;
the live countdown, and an answer kept through a dropped connection and sent when it returns."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.exam_driver import start_in_page
from tests.e2e.test_accounts_e2e import sign_up
from tests.e2e.test_learning_e2e import answer_quiz_with_first_options

pytestmark = pytest.mark.e2e


def test_countdown_and_answer_survives_going_offline(page, server):
    base = server["base"]
    sign_up(page, base, name="Katherine Johnson")
    start_in_page(page, base)
    countdown = page.locator("[data-countdown]")
    first = countdown.inner_text()
    page.wait_for_function(
        "t => document.querySelector('[data-countdown]').textContent !== t", arg=first
    )
    expect(page.get_by_text("Answered: 0")).to_be_visible()

    answer_quiz_with_first_options(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="Submit answer and continue").click()
    status = page.locator("[data-exam-status]")
    assert "offline" in status.inner_text() or "connection dropped" in status.inner_text()
    saved = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('wmi-exam:'))")
    assert saved, "the chosen answer is kept on the device"

    page.context.set_offline(False)
    page.wait_for_selector("text=Answered: 1")
    assert page.locator("input[name=position]").get_attribute("value") == "2"


def test_candidate_sits_a_cawm_exam_to_the_end_and_reads_the_score_report(page, server):
    """The whole sitting in a browser: sign in, start, answer every item the engine presents
    until it stops, read the result, open the printable score report and follow a study link."""
    base = server["base"]
    email = sign_up(page, base, name="Dorothy Vaughan")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/signin")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/dashboard")

    start_in_page(page, base)
    submit = page.get_by_role("button", name="Submit answer and continue")
    answered = 0
    while submit.count():
        expect(page.get_by_text(f"Answered: {answered}")).to_be_visible()
        answer_quiz_with_first_options(page)
        submit.click()
        answered += 1
        next_item = page.get_by_text(f"Answered: {answered}")
        result = page.get_by_role("heading", name=re.compile(r"^CAWM exam: "))
        next_item.or_(result).wait_for()
        assert answered <= 120, "the engine never stopped"

    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading in ("CAWM exam: Pass", "CAWM exam: Not passed")
    expect(page.get_by_text(f"You answered {answered} questions")).to_be_visible()
    assert "on the 200-800 scale" in page.locator("main").inner_text()

    page.get_by_role("link", name="Printable score report").click()
    page.wait_for_url(base + "/exams/attempts/*/report")
    expect(page.get_by_role("heading", name="WMI score report: CAWM")).to_be_visible()
    expect(page.get_by_text("Dorothy Vaughan")).to_be_visible()
    rows = page.locator("table tbody tr")
    assert rows.count() >= 4, "one row per blueprint domain"
    study = page.locator("table tbody a")
    assert study.count(), "weak domains link to their lessons"
    code, title = study.first.inner_text().split(": ", 1)  # "C1: What Work Management is..."
    study.first.click()
    page.wait_for_url(f"{base}/tracks/CAWM/modules/{code}")
    assert page.get_by_role("heading", level=1).inner_text() == f"{code} · {title}"
