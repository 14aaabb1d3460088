"""A learner reads a lesson, completes it, takes a practice quiz, sees progress and readiness."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.exam_driver import open_rules, start_in_page
from tests.e2e.test_accounts_e2e import sign_up

pytestmark = pytest.mark.e2e


def answer_quiz_with_first_options(page):
    for fieldset in page.locator("fieldset.question").all():
        radios = fieldset.locator("input[type=radio], input[type=checkbox]")
        if radios.count():
            radios.first.check()
            continue
        selects = fieldset.locator("select")
        for i in range(selects.count()):
            selects.nth(i).select_option(str(i + 1))


def test_lesson_quiz_progress_readiness(page, server):
    base = server["base"]
    sign_up(page, base, name="Ada Lovelace")
    page.goto(base + "/tracks/CAWM")
    page.get_by_role("link", name=re.compile(r"^C1 ·")).click()
    page.locator("main ol li a").first.click()
    expect(page.locator("article.lesson h2", has_text="Learning objectives")).to_be_visible()
    page.get_by_role("button", name=re.compile("Mark complete")).click()
    expect(page.get_by_text("is marked complete")).to_be_visible()

    page.goto(base + "/dashboard")
    assert page.get_by_test_id("progress-CAWM").inner_text().startswith("1 of ")
    assert "Answer at least 10" in page.get_by_test_id("readiness-text-CAWM").inner_text()

    for _ in range(2):  # two quizzes of 5 questions reach the 10 answers readiness needs
        page.goto(base + "/tracks/CAWM/modules/C1/practice")
        answer_quiz_with_first_options(page)
        page.get_by_role("button", name="Check my answers").click()
        expect(page.get_by_role("heading", name="Your practice results")).to_be_visible()
        assert page.locator("ul.rationales li").count() >= 5 * 4
        expect(page.get_by_text("(correct)").first).to_be_visible()

    page.goto(base + "/dashboard")
    assert "estimated chance of passing" in page.get_by_test_id("readiness-CAWM").inner_text()
    assert (
        "From your 10 practice answers" in page.get_by_test_id("readiness-text-CAWM").inner_text()
    )


def check_page_accessibility(page, url: str) -> None:
    """No sideways scrolling at 390 px, headings in order from one h1, every control labelled."""
    page.goto(url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{url} scrolls sideways at 390 px ({width} px wide)"
    levels = page.evaluate("[...document.querySelectorAll('h1,h2,h3,h4')].map(h => +h.tagName[1])")
    steps = [b - a for a, b in zip(levels, levels[1:], strict=False)]
    assert levels.count(1) == 1 and levels[0] == 1 and max(steps, default=0) <= 1, (url, levels)
    unlabeled = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]),select,textarea')]"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length"
    )
    assert unlabeled == 0, url
    assert page.evaluate("document.documentElement.lang") == "en"


def test_pages_read_well_on_a_phone(phone, server):
    base = server["base"]
    for path in ("/", "/tracks", "/tracks/WMP", "/tracks/CAWM/modules/C2", "/signin", "/signup"):
        check_page_accessibility(phone, base + path)
    phone.goto(base + "/tracks/CAWM/modules/C2")
    phone.locator("main ol li a").first.click()
    check_page_accessibility(phone, phone.url)
    sign_up(phone, base, name="Phone User")
    for path in ("/dashboard", "/profile", "/tracks/CAWM/modules/C4/practice"):
        check_page_accessibility(phone, base + path)


def test_exam_page_reads_well_on_a_phone(phone, server):
    base = server["base"]
    sign_up(phone, base, name="Phone Candidate")
    for path in ("/exams", "/exams/CAWM", "/certificates"):
        check_page_accessibility(phone, base + path)
    open_rules(phone, base)
    check_page_accessibility(phone, phone.url)  # the rules and the agreement, on a phone
    start_in_page(phone, base)
    check_page_accessibility(phone, phone.url)
