"""A candidate sits an exam in a real browser: live countdown, and an answer kept through a
dropped connection and sent when the connection returns."""

import pytest

from tests.e2e.test_accounts_e2e import sign_up
from tests.e2e.test_learning_e2e import answer_quiz_with_first_options

pytestmark = pytest.mark.e2e


def test_countdown_and_answer_survives_going_offline(page, server):
    base = server["base"]
    sign_up(page, base, name="Katherine Johnson")
    page.goto(base + "/exams/CAWM")
    page.get_by_role("button", name="Start the exam now").click()
    page.wait_for_url(base + "/exams/attempts/*")
    countdown = page.locator("[data-countdown]")
    first = countdown.inner_text()
    page.wait_for_function(
        "t => document.querySelector('[data-countdown]').textContent !== t", arg=first
    )
    assert page.get_by_text("Answered: 0").is_visible()

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
