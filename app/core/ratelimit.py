"""A per-process sliding-window rate limit by key (the client's address): cheap, no database.

With W workers a client gets at most W x limit per window; it keeps one client from taking a
worker's CPU (a credential verification canonicalises JSON-LD), not a global quota."""

import threading
from collections import deque
from datetime import datetime, timedelta

from app.core.errors import TooManyRequests

MAX_KEYS = 10_000  # beyond this many clients in one window, the oldest are forgotten


class RateLimit:
    """At most `limit` hits per key in any `window_seconds`."""

    def __init__(self, limit: int, window_seconds: float = 60.0) -> None:
        self.limit, self.window = limit, timedelta(seconds=window_seconds)
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: datetime) -> None:
        """Count a hit, or raise TooManyRequests (429) saying when to come back."""
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._hits[key] = hits  # re-inserted: the dict keeps the most recent keys last
            if len(hits) >= self.limit:
                wait = int((hits[0] + self.window - now).total_seconds()) + 1
                raise TooManyRequests(
                    f"Too many requests from your address; try again in {wait} seconds.",
                    extra={"retry_after": wait},
                )
            hits.append(now)
            while len(self._hits) > MAX_KEYS:
                self._hits.pop(next(iter(self._hits)))
