"""The application behind a real uvicorn in a thread, for tests that need real sockets
(simultaneous requests, a bounded thread pool)."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.cli.serve import UVICORN_OPTIONS
from app.core.config import Settings
from app.main import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(settings: Settings, clock) -> Iterator[tuple]:
    """(app, base URL) of the application configured as `wmi serve` configures it."""
    app = create_app(settings, clock=clock)
    options = {**UVICORN_OPTIONS, "log_level": "error"}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()
