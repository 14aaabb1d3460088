"""A person signs up (confirming by the mailed link), signs out and signs in again, in a real
browser."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import mailed_link

pytestmark = pytest.mark.e2e


def sign_up(page, base, name="Grace Hopper") -> str:
    email = f"grace-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(base + "/signup")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your mail").wait_for()
    page.goto(mailed_link(base, email, "Confirm your WMI Certify account", "/signup/confirm"))
    page.get_by_role("button", name="Confirm my account").click()
    page.wait_for_url(base + "/dashboard")
    return email


def test_sign_up_sign_out_sign_in(page, server):
    base = server["base"]
    email = sign_up(page, base)
    expect(page.get_by_role("heading", name="Your dashboard")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/signin")
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("The e-mail address or password")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/dashboard")
    expect(page.get_by_text(f"Signed in as {email}.")).to_be_visible()


def test_keyboard_only_sign_in_form(page, server):
    page.goto(server["base"] + "/signin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-email":
            break
    assert page.evaluate("document.activeElement.id") == "f-email"


def test_api_docs_render_offline(page, server):
    page.goto(server["base"] + "/api/docs")
    page.wait_for_selector(".opblock-tag")
    assert page.locator(".opblock-tag", has_text="exams").count() >= 1
