"""Browser tests: the real server in its own process, driven by Playwright in Debian's Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    }
    log = (var / "server.log").open("w")  # noqa: SIM115  (kept open for the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((var / "server.log").read_text())
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("the server did not start:\n" + (var / "server.log").read_text())
    yield {"base": base, "env": env, "var": var}
    proc.terminate()
    proc.wait(10)


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
