"""A calibration in a real browser: an administrator starts a run, follows it, reviews it and
puts the result in force; a candidate who started before keeps the old pool revision, one who
starts afterwards gets the new one. The responses are seeded through the exam service."""

import os
import re
import time
import uuid

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from app.accounts import service as accounts
from app.core.clock import utcnow
from app.core.db import make_engine
from app.exams.models import ExamAttempt
from app.itembank import pools
from tests.conftest import FakeClock
from tests.e2e.a11y import axe_check
from tests.e2e.conftest import MAIL_ENV, _free_port, start_server, stop_server
from tests.e2e.exam_driver import start_in_page
from tests.e2e.test_accounts_e2e import sign_up
from tests.factories.accounts import make_user
from tests.factories.exams import run_to_end, start

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"


@pytest.fixture
def small_server(tmp_path):
    """`wmi serve` with small simulations (exposure derivation, the review's comparison)."""
    port = _free_port()
    env = {
        **os.environ, "WMI_VAR_DIR": str(tmp_path),
        "WMI_DATABASE_URL": f"sqlite:///{tmp_path}/cal.db",
        "WMI_BASE_URL": f"http://127.0.0.1:{port}", "WMI_EXPOSURE_EXAMINEES": "10",
        "WMI_EXPOSURE_ITERATIONS": "1", "WMI_EXPOSURE_CHECK_EXAMINEES": "10",
        "WMI_CALIBRATION_REVIEW_EXAMINEES": "10", "WMI_JOB_POLL_SECONDS": "0.2", **MAIL_ENV,
    }  # fmt: skip
    proc = start_server(tmp_path, port, env)
    yield {"base": f"http://127.0.0.1:{port}", "env": env, "var": tmp_path}
    stop_server(proc, tmp_path)


def _seed(url: str) -> str:
    """An administrator, and eight finished CAWM attempts through the exam service once the
    server has put a revision in force."""
    engine = make_engine(url)
    email = f"admin-{uuid.uuid4().hex[:6]}@example.org"
    with Session(engine, expire_on_commit=False) as session:
        accounts.ensure_admin(session=session, email=email, name="Ada Admin",
                              password=PASSWORD, now=utcnow())  # fmt: skip
        deadline = time.monotonic() + 120
        while pools.active_id(session, track="CAWM") is None and time.monotonic() < deadline:
            time.sleep(0.5)
            session.expire_all()
        clock = FakeClock(utcnow())
        for k in range(8):
            user = make_user(session)
            run_to_end(session, user, clock, start(session, user, clock).id, seed=k, minutes=0.1)
    engine.dispose()
    return email


def _reload_until(page, text: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not page.get_by_text(text).first.is_visible():
        assert time.monotonic() < deadline, f"{text!r} did not appear"
        time.sleep(0.5)
        page.reload()


def test_an_administrator_calibrates_reviews_and_activates(browser, small_server):
    base, url = small_server["base"], small_server["env"]["WMI_DATABASE_URL"]
    email = _seed(url)
    admin_ctx, early_ctx, late_ctx = (browser.new_context() for _ in range(3))
    admin, early, late = (c.new_page() for c in (admin_ctx, early_ctx, late_ctx))
    admin.goto(base + "/signin")
    admin.get_by_label("E-mail address").fill(email)
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    admin.wait_for_url(base + "/dashboard")

    admin.goto(base + "/admin/calibration")
    axe_check(admin, "calibration runs")
    admin.get_by_label("Track").select_option("CAWM")
    admin.get_by_label("Model").select_option("2pl")
    admin.get_by_label("Items to estimate").select_option("pretest")
    admin.get_by_label("Minimum responses per item").fill("3")
    admin.get_by_role("button", name="Start the calibration run").click()
    admin.wait_for_url(re.compile(r".*/admin/calibration/runs/\d+$"))
    run_id = int(admin.url.rsplit("/", 1)[1])
    _reload_until(admin, "Parameter changes")
    assert admin.locator("#run-state").inner_text() == "done"
    expect(admin.get_by_text("fewer than the minimum of 3").first).to_be_visible()
    expect(admin.locator("img[alt^='Scatter plot']")).to_be_visible()
    axe_check(admin, "calibration run, done")
    promote = admin.locator("select[name^='d-']", has=admin.locator("option[value=promote]"))
    promote.first.select_option("promote")
    admin.get_by_role("button", name="Save decisions").click()
    expect(admin.get_by_text("Decisions saved.")).to_be_visible()

    sign_up(early, base, name="Early Candidate")
    early_attempt = start_in_page(early, base)  # on the revision in force before

    admin.get_by_role("button", name="Propose the revision").click()
    _reload_until(admin, "simulated candidates on each revision")
    axe_check(admin, "calibration run, proposed")
    button = admin.get_by_role("button", name=re.compile(r"Put revision \d+ in force"))
    revision = int(re.search(r"\d+", button.inner_text()).group(0))
    button.click()
    expect(admin.get_by_text("The calibrated revision is now in force")).to_be_visible()

    sign_up(late, base, name="Late Candidate")
    late_attempt = start_in_page(late, base)
    engine = make_engine(url)
    with Session(engine) as session:
        base_revision = session.get(ExamAttempt, early_attempt).pool_revision_id
        assert base_revision != revision
        assert session.get(ExamAttempt, late_attempt).pool_revision_id == revision
        assert pools.active_id(session, track="CAWM") == revision
        assert pools.get(session, revision).source == f"calibration run {run_id}"
    engine.dispose()
    for c in (admin_ctx, early_ctx, late_ctx):
        c.close()
