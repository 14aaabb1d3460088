"""ASGI middleware: security headers and a limit on request bodies."""

import asyncio
import json
import weakref

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_CSP = (  # Swagger UI's page starts itself with an inline script; its assets are local
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


def csp(form_targets: tuple[str, ...] = ()) -> str:
    """The pages' CSP, with form-action widened to these origins: a sign-in form that goes on
    (by redirect) to an OpenID Provider, which browsers check against form-action too."""
    extra = "".join(f" {origin}" for origin in sorted(set(form_targets)))
    return CSP.replace("form-action 'self'", f"form-action 'self'{extra}")


def protective_headers(path: str, *, hsts: bool = False) -> dict[bytes, bytes]:
    """The security headers of a response to `path`: CSP, frame-ancestors, referrer policy,
    nosniff and friends, and `Cache-Control: no-store` for everything but static files."""
    docs = path in ("/api/docs", "/api/redoc")
    headers = {
        b"content-security-policy": (DOCS_CSP if docs else CSP).encode(),
        b"x-content-type-options": b"nosniff",
        b"x-frame-options": b"DENY",
        b"referrer-policy": b"strict-origin-when-cross-origin",
        b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
        b"cross-origin-opener-policy": b"same-origin",
    }
    if hsts:
        headers[b"strict-transport-security"] = b"max-age=31536000; includeSubDomains"
    if not path.startswith(("/static/", "/api/docs-assets/")):
        headers[b"cache-control"] = b"no-store"  # pages and API answers may be personal
    return headers


class SecurityHeaders:
    """Adds `protective_headers` to every response that does not set its own: signed-in pages,
    API answers, the page showing a new API token and refusals (413) carry `Cache-Control:
    no-store`, so nothing personal is kept by a browser's or a proxy's cache, and Back re-asks
    the server instead of showing a stale page. (The 500 page, rendered outside every
    middleware by Starlette, adds them itself: app/web/errors.py.)"""

    def __init__(self, app, *, hsts: bool = False) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = protective_headers(scope["path"], hsts=self.hsts)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over the limit with 413, before anything reads them.

    A declared length is judged at once. A body without one (chunked) is read here first, up
    to the limit, and handed on whole: counting it while the application reads would surface
    as a parsing error there (FastAPI answers those with 400), not as 413. Sits inside
    SecurityHeaders, so the 413 carries the security headers too."""

    def __init__(self, app, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                return await self._reject(send)
            return await self.app(scope, receive, send)
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            return await self.app(scope, receive, send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await self._reject(send)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": bytes(body), "more_body": False}
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return whole

        await self.app(scope, replay, send)

    async def _reject(self, send):
        body = json.dumps(
            {
                "error": {
                    "code": "too_large",
                    "message": f"The request body is larger than {self.max_bytes} bytes.",
                }
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})


class ConcurrencyLimit:
    """At most `limit` requests of this process are in progress at once; the rest wait here.

    A waiting request holds nothing: no thread, no database connection. Without the limit a
    burst (500 candidates starting at once) lets every request take a pooled connection at its
    first query and then wait for a thread for its next step (the route, the response check)
    while the threads wait for connections: a deadlock only the pool time-out breaks. With the
    limit below both the thread pool (40) and the connection pool, requests queue in order.
    Static files bypass it.
    """

    def __init__(self, app, *, limit: int) -> None:
        self.app, self.limit = app, limit
        self._gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.limit)
        async with gate:
            await self.app(scope, receive, send)


class Arrival:
    """Stamps each request with the time it arrived (`request.state.arrived_at`), before it
    waits for anything (the request limit, the exam lane): an answer is timed by when it
    arrived, not by when its turn came (issue 15, F-14)."""

    def __init__(self, app, *, clock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope["state"] = {**scope.get("state", {}), "arrived_at": self.clock()}
        await self.app(scope, receive, send)


class HeadAsGet:
    """HEAD is answered as the GET of the same address without its body (FastAPI's GET routes
    alone would refuse HEAD with 405; link checkers and monitors send HEAD)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def without_body(message):
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
