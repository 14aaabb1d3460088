"""A burst of requests on a small connection pool: queued by the request limit, never deadlocked.

Without the limit, each request takes a pooled connection at its first query and keeps it
while it waits for a thread for its next step (the route, the response check), while every
thread waits for a connection: nothing moves until the pool time-out. A real server here.
"""

import threading

import httpx
import pytest

from tests.factories.accounts import make_token, make_user
from tests.factories.live import live_server

REQUESTS = 120  # well over the 40 threads of the server's pool


@pytest.fixture
def small_pool_server(settings, clock):
    tuned = settings.model_copy(
        update={"db_pool_size": 2, "db_max_overflow": 0, "max_concurrent_requests": 2}
    )
    with live_server(tuned, clock) as served:
        yield served


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
