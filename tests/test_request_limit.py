"""A burst of requests on a small connection pool: queued by the request limit, never deadlocked.

Without the limit, each request takes a pooled connection at its first query and keeps it
while it waits for a thread for its next step (the route, the response check), while every
thread waits for a connection: nothing moves until the pool time-out. A real server here.
"""

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from app.main import create_app
from tests.factories.accounts import make_token, make_user

REQUESTS = 120  # well over the 40 threads of the server's pool


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def small_pool_server(settings, clock):
    tuned = settings.model_copy(
        update={"db_pool_size": 2, "db_max_overflow": 0, "max_concurrent_requests": 2}
    )
    app = create_app(tuned, clock=clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    app.state.engine.dispose()


def test_a_burst_larger_than_the_thread_pool_completes(small_pool_server, session):
    app, base = small_pool_server
    tokens = [make_token(session, make_user(session)) for _ in range(8)]
    statuses: list[int] = []
    barrier = threading.Barrier(REQUESTS)

    def one(i: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
        barrier.wait()
        try:
            r = httpx.get(f"{base}/api/v1/exams/history", headers=headers, timeout=50)
            statuses.append(r.status_code)
        except httpx.HTTPError as exc:  # a stuck server times the client out
            statuses.append(type(exc).__name__)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(REQUESTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # a deadlock sits out the 60 s pool time-out: 503s, or client time-outs after 50 s
    assert statuses == [200] * REQUESTS, sorted(set(map(str, statuses)))
