"""Fixtures of the account tests."""

import socket
import threading
import time

import pytest
import uvicorn

from app.cli.serve import UVICORN_OPTIONS
from app.main import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(settings, clock):
    """The application behind a real uvicorn, configured as `wmi serve` configures it."""
    app = create_app(settings, clock=clock)
    options = {**UVICORN_OPTIONS, "log_level": "error"}
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    app.state.engine.dispose()
