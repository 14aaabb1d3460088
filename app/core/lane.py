"""A lane: a first-come, first-served queue of database work with threads of its own.

The exam loop (one request per question per candidate) runs in a lane instead of the shared
request thread pool. Measured on the answer route (docs/BENCHMARKS.md), this does three things:

- Order. The shared pool lets every waiting request thread race for the GIL and for SQLite's
  write lock, neither of which is first-come, first-served: under load a few requests waited
  many times longer than the rest. A lane takes its work in arrival order.
- Fewer threads in flight. On SQLite one writer at a time is all the database allows, so one
  lane thread (the default there) does the same work without two dozen threads contending; on
  PostgreSQL a few threads overlap the network round trips and the commits' WAL flushes.
- One connection and one Session per lane thread, kept between requests: no pool checkout,
  reset and Session construction per request. Each job starts with a clean Session (closed
  after the previous job: no transaction, no identity map, nothing the job kept on it through
  app.core.session_state); a connection that raised anything
  but an application error is thrown away, and one idle for longer than `idle_seconds` is
  handed back to the pool, whose pre-ping checks the next one (PostgreSQL restarts).

Work that must not hold the lane (issuing a certificate after a pass: signing, PDF) can be
deferred with `defer(session, fn)`: it runs after the job, in the shared thread pool, on a
session of its own, before the request's response is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.core import db
from app.core.errors import AppError
from app.core.session_state import Holder, end_job

T = TypeVar("T")
FollowUp = Callable[[Session], None]
_DEFERRED: Holder[list[FollowUp]] = Holder("lane.deferred")


def defer(session: Session, fn: FollowUp) -> bool:
    """Run fn(session) after the current lane job, outside the lane; False outside a lane
    (the caller then runs it itself)."""
    deferred = _DEFERRED.get(session)
    if deferred is None:
        return False
    deferred.append(fn)
    return True


class _Held:
    """A lane thread's connection and the Session bound to it."""

    __slots__ = ("connection", "session", "used_at")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.session = Session(bind=connection, expire_on_commit=False)
        db.attach(self.session, connection.connection.driver_connection, connection.dialect)
        self.used_at = time.monotonic()


class Lane:
    """Run `work(session)` on one of `threads` lane threads, in arrival order."""

    def __init__(self, engine: Engine, *, threads: int, idle_seconds: float = 30.0) -> None:
        self.engine, self.threads, self.idle_seconds = engine, threads, idle_seconds
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._local = threading.local()
        self._held: list[_Held] = []
        self._guard = threading.Lock()

    async def run(self, work: Callable[[Session], T]) -> T:
        """work(session) in the lane; deferred follow-ups run afterwards in the thread pool.

        The hand-off is a queue and call_soon_threadsafe, without concurrent.futures (whose
        future, condition variable and chained asyncio future cost a third more per hop).
        """
        if not self._workers:
            self._start()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        deferred: list[FollowUp] = []
        self._queue.put((contextvars.copy_context(), work, deferred, loop, done))
        result = await done
        if deferred:
            await run_in_threadpool(self._follow_up, deferred)
        return result

    def _start(self) -> None:
        with self._guard:
            while len(self._workers) < self.threads:
                worker = threading.Thread(
                    target=self._serve, name=f"lane-{len(self._workers)}", daemon=True
                )
                worker.start()
                self._workers.append(worker)

    def _serve(self) -> None:
        while (job := self._queue.get()) is not None:
            context, work, deferred, loop, done = job
            outcome: tuple[Callable[[asyncio.Future[Any], Any], None], asyncio.Future[Any], Any]
            try:
                outcome = (_succeed, done, context.run(self._job, work, deferred))
            except BaseException as error:  # handed to the awaiting request
                outcome = (_fail, done, error)
            with contextlib.suppress(RuntimeError):  # a closed loop (shutdown): nobody waits
                loop.call_soon_threadsafe(*outcome)
        self._release(getattr(self._local, "held", None))

    def _job(self, work: Callable[[Session], T], deferred: list[FollowUp]) -> T:
        held = self._checkout()
        session = held.session
        _DEFERRED.set(session, deferred)
        try:
            return work(session)
        except AppError:
            raise
        except BaseException:
            self._discard(held)
            raise
        finally:
            end_job(session)  # nothing the job kept on the Session reaches the next job
            if getattr(self._local, "held", None) is held:
                if session.get_transaction() is not None or session.identity_map or session.new:
                    session.close()  # ends its transaction; empties the identity map
                db.end(session)  # and what ran outside it (nothing is left, normally)
                held.used_at = time.monotonic()

    def _checkout(self) -> _Held:
        held = getattr(self._local, "held", None)
        if held is not None and time.monotonic() - held.used_at > self.idle_seconds:
            self._discard(held)  # back to the pool; the next checkout is pre-pinged
            held = None
        if held is None:
            held = _Held(self.engine.connect())
            self._local.held = held
        return held

    def _discard(self, held: _Held) -> None:
        self._local.held = None
        self._release(held)

    @staticmethod
    def _release(held: _Held | None) -> None:
        if held is None:
            return
        try:
            held.session.close()
            held.connection.close()
        except Exception:  # a broken connection: the pool replaces it
            held.connection.invalidate()

    def _follow_up(self, deferred: list[FollowUp]) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            for fn in deferred:
                fn(session)

    def close(self) -> None:
        """Stop the threads; each hands its connection back (application shutdown)."""
        with self._guard:
            workers, self._workers = self._workers, []
        for _ in workers:
            self._queue.put(None)
        for worker in workers:
            worker.join()


def _succeed(done: asyncio.Future[Any], result: Any) -> None:
    if not done.cancelled():
        done.set_result(result)


def _fail(done: asyncio.Future[Any], error: BaseException) -> None:
    if not done.cancelled():
        done.set_exception(error)
