"""Browser tests: the real server in its own process, driven by Playwright in Debian's Chromium."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.e2e

# `expect(locator)` waits for what a step brings (a click returns before its page has loaded);
# a bare `locator.is_visible()` reads the page at once and fails on a loaded machine.
expect.set_options(timeout=15_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOGS: dict[str, Path] = {}  # each running server's log by its base URL (mailed_link reads it)


def mailed_link(base: str, to: str, subject: str, path: str, seconds: float = 60) -> str:
    """The newest link to `path` in the mail to `to` with `subject` that the server printed
    (its background job sends it; development mail goes to the log with its link, as the
    e2e servers set WMI_MAIL_LOG_SECRETS)."""
    pattern = re.compile(
        rf"--- mail to {re.escape(to)}: {re.escape(subject)}\n.*?({re.escape(base + path)}"
        r"\?token=[\w\-]+)",
        re.S,
    )
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = pattern.findall(LOGS[base].read_text())
        if found:
            return found[-1]
        time.sleep(0.2)
    tail = LOGS[base].read_text()[-2000:]
    raise AssertionError(f"no mail {subject!r} to {to} in the server's log:\n{tail}")


STARTUP_SECONDS = 300  # migrating and loading every bank takes tens of seconds on a busy machine


# Every e2e server derives exposure control (and a calibration review's simulation) on a small
# simulation, as tests/conftest.py does in process. At the production size (1,000 candidates x 8
# iterations, and a 1,000-candidate check, per track) one track takes 256 s of CPU (`wmi pools
# derive` on CAWM, measured), so each `wmi serve` here spent some 13 minutes of a core on it
# beside the tests (three such servers; CI took 56 minutes). A server's env may set its own.
SMALL_SIMULATIONS = {
    "WMI_EXPOSURE_EXAMINEES": "10",
    "WMI_EXPOSURE_ITERATIONS": "1",
    "WMI_EXPOSURE_CHECK_EXAMINEES": "10",
    "WMI_CALIBRATION_REVIEW_EXAMINEES": "10",
}


def start_server(var, port: int, env: dict) -> subprocess.Popen:
    """`wmi serve --port port` with env (over SMALL_SIMULATIONS), its log in var/server.log;
    returns once it answers."""
    env = {**SMALL_SIMULATIONS, **env}
    log = (var / "server.log").open("w")  # noqa: SIM115  (kept open for the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    LOGS[base] = var / "server.log"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((var / "server.log").read_text())
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start:\n" + (var / "server.log").read_text())


# What every e2e server needs for the sign-up journey.
MAIL_ENV = {
    "WMI_MAIL_LOG_SECRETS": "true",  # sign-ups confirm by the mailed link (mailed_link)
    "WMI_MAIL_REQUESTS_PER_CLIENT_HOUR": "1000",  # every browser here is 127.0.0.1
    "PYTHONUNBUFFERED": "1",  # the printed mail reaches the log at once
}


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """`wmi serve` on a fresh SQLite database: migrations, content and banks loaded."""
    var = tmp_path_factory.mktemp("e2e-var")
    port = _free_port()
    env = {
        **os.environ,
        "WMI_VAR_DIR": str(var),
        "WMI_DATABASE_URL": f"sqlite:///{var}/e2e.db",
        "WMI_BASE_URL": f"http://127.0.0.1:{port}",
        **MAIL_ENV,
    }
    proc = start_server(var, port, env)
    yield {"base": f"http://127.0.0.1:{port}", "env": env, "var": var}
    stop_server(proc, var)


def stop_server(proc: subprocess.Popen, var: Path) -> None:
    """SIGTERM, and the server must exit by itself (a running job stops at its next check);
    the wait is generous because CI machines are loaded, and the log says what it was doing."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        tail = (var / "server.log").read_text()[-3000:]
        raise AssertionError(f"`wmi serve` did not exit within 30 s of SIGTERM:\n{tail}") from None


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()
