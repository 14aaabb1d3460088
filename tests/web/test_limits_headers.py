"""Refusals carry the same protection as answers (issue 15, F-15 and F-17): a 413 for an
oversized body (declared or chunked, on a real server) and a 500 page carry the security
headers and `Cache-Control: no-store`, and a chunked body over the limit gets 413, not 400."""

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories.live import live_server

LIMIT = 10_000


def _assert_protected(r: httpx.Response) -> None:
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"


@pytest.fixture
def server(settings, clock):
    with live_server(settings.model_copy(update={"max_body_bytes": LIMIT}), clock) as (_, base):
        yield base


def _chunks(total: int, size: int = 1000):
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("path", ["/signin", "/api/v1/exams/attempts/1/answers"])
def test_oversized_bodies_get_413_with_the_security_headers(server, path):
    declared = httpx.post(server + path, content=b"x" * (LIMIT + 1))
    chunked = httpx.post(server + path, content=_chunks(LIMIT + 1000))  # no Content-Length
    for r in (declared, chunked):
        assert r.status_code == 413, (r.status_code, r.text)
        assert "larger than" in r.json()["error"]["message"]
        _assert_protected(r)


def test_a_chunked_body_under_the_limit_still_arrives(server):
    body = "email=nobody%40example.org&password=wrong&csrf_token=x&pad=" + "y" * 500
    r = httpx.post(
        server + "/signin",
        content=(body[i : i + 100].encode() for i in range(0, len(body), 100)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (400, 403), r.status_code  # read and judged (CSRF), not refused
    assert "larger than" not in r.text


def test_the_server_error_page_carries_the_security_headers(app):
    @app.get("/boom-for-headers")
    def boom():
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom-for-headers")
        assert r.status_code == 500
        _assert_protected(r)
