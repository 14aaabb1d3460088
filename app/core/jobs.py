"""Background jobs: durable rows, one runner at a time, retries with backoff, a dead letter.

    @jobs.handler("credentials.issue", lease_seconds=60)     # a domain registers its kind
    def issue(ctx: jobs.Context) -> dict | None: ...         # ctx.session, ctx.payload, ctx.now()

    jobs.enqueue(session, "credentials.issue", {"attempt_id": 5}, at=now, key="attempt:5")
    commit(session)                          # the job exists if and only if this commits

Rules every kind lives by:
- A job runs at least once: a runner that dies mid-job leaves its lease to expire, and the
  next claim runs it again. Handlers are idempotent (a `key` also keeps one job per key).
- The handler's writes on `ctx.session` and the job's completion commit together, unless the
  handler commits first (then a crash between the two runs it again: idempotence again).
- Claims are one conditional UPDATE (`... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) AND
  <still due>`): the row count says who won, across threads, workers and hosts.
- A failure is retried after base x 2^(tries-1) seconds (capped), times a random factor in
  [0.5, 1) so that jobs failing together do not retry together; after `max_tries` the job is
  `dead` (kept for an operator: `wmi jobs list --status dead`, `wmi jobs retry ID`).
- Long jobs call `ctx.progress(fraction, note)`: it records progress, renews the lease,
  commits `ctx.session`, and raises `Cancelled` once `cancel()` was asked for. Between two
  reports, `ctx.check()` (no database) raises `Interrupted` as soon as the process stops.

Runners: each `wmi serve` worker runs `WMI_JOB_THREADS` threads and one for `prompt` kinds (app
lifespan); `wmi sweep` and `wmi jobs run` drain what is due; tests call `app.state.jobs.drain()`.
"""

import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.core import db
from app.core.clock import Clock, to_db, utcnow
from app.core.errors import NotFound
from app.core.models import Job
from app.core.prepared import Prepared

log = logging.getLogger("wmi.jobs")

QUEUED, RUNNING, DONE, DEAD, CANCELLED = "queued", "running", "done", "dead", "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, DEAD, CANCELLED)
_JOBS = db.table(Job)
Handler = Callable[["Context"], dict[str, Any] | None]


class Cancelled(Exception):
    """Raised by `Context.progress` when the job was asked to stop."""


class Interrupted(Exception):
    """Raised by `Context.check`/`progress` when this process is stopping: back to the queue."""


class LeaseLost(Exception):
    """Raised by `Context.progress` when another runner took the job over (the lease ran out)."""


@dataclass(frozen=True)
class Kind:
    """A registered job kind: its handler and how it is retried."""

    name: str
    fn: Handler
    max_tries: int = 5
    lease_seconds: float = 300.0
    backoff_seconds: float = 10.0
    max_backoff_seconds: float = 3600.0
    prompt: bool = False  # someone waits for it (their mail): a thread never behind long jobs

    def backoff(self, tries: int, rng: random.Random) -> float:
        """Seconds before try tries + 1: exponential, capped, with jitter in [0.5, 1)."""
        delay = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** max(0, tries - 1))
        return float(delay * (0.5 + rng.random() / 2))


REGISTRY: dict[str, Kind] = {}


def handler(name: str, **options: Any) -> Callable[[Handler], Handler]:
    """Register `fn(ctx)` as the handler of job kind `name` (options: the fields of Kind)."""

    def register(fn: Handler) -> Handler:
        if name in REGISTRY and REGISTRY[name].fn is not fn:
            raise ValueError(f"job kind {name!r} is registered twice")
        REGISTRY[name] = Kind(name=name, fn=fn, **options)
        return fn

    return register


def _insert(dialect: str) -> Prepared:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    keys: tuple[str, ...] = ("kind", "key", "payload", "status", "run_after", "tries")
    keys += ("max_tries", "owner", "cancel_requested", "progress", "progress_note")
    keys += ("last_error", "created_at")
    return Prepared(insert(_JOBS).on_conflict_do_nothing(index_elements=["key"]), keys=keys)


_ENQUEUE = {name: _insert(name) for name in ("sqlite", "postgresql")}


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    at: datetime,
    key: str | None = None,
    delay_seconds: float = 0.0,
    max_tries: int | None = None,
) -> bool:
    """Add a job in the caller's transaction (no commit); False when `key` already has one.

    The kind need not be registered in this process (a producer need not import its
    consumer); `max_tries` defaults to the registered kind's, else 5.
    """
    registered = REGISTRY.get(kind)
    tries = max_tries or (registered.max_tries if registered else Kind.max_tries)
    values = {
        "kind": kind,
        "key": key,
        "payload": payload or {},
        "status": QUEUED,
        "run_after": to_db(at + timedelta(seconds=delay_seconds)),
        "tries": 0,
        "max_tries": tries,
        "owner": "",
        "cancel_requested": False,
        "progress": 0.0,
        "progress_note": "",
        "last_error": "",
        "created_at": to_db(at),
    }
    return bool(_ENQUEUE[db.dialect_name(session)].execute(session, values).rowcount == 1)


def get(session: Session, job_id: int) -> Job:
    """A job by id, or NotFound."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"There is no job {job_id}.")
    return job


def find(session: Session, key: str) -> Job | None:
    """The job with this key, if any."""
    return session.exec(select(Job).where(Job.key == key)).first()


def list_jobs(session: Session, *, status: str = "", limit: int = 100) -> list[Job]:
    """The newest jobs first, optionally of one status."""
    query = select(Job).order_by(col(Job.id).desc()).limit(limit)
    if status:
        query = query.where(Job.status == status)
    return list(session.exec(query))


def counts(session: Session) -> dict[str, int]:
    """How many jobs are in each status."""
    rows = session.exec(select(Job.status, func.count()).group_by(Job.status)).all()
    return {status: 0 for status in STATUSES} | {s: n for s, n in rows}


def cancel(session: Session, job_id: int, *, at: datetime) -> Job:
    """Cancel a queued job at once; ask a running one to stop at its next progress report."""
    job = get(session, job_id)
    if job.status == QUEUED:
        job.status, job.finished_at = CANCELLED, to_db(at)
    elif job.status == RUNNING:
        job.cancel_requested = True
    session.add(job)
    session.flush()
    return job


def retry(session: Session, job_id: int, *, at: datetime) -> Job:
    """Queue a dead or cancelled job again, with a fresh count of tries."""
    job = get(session, job_id)
    if job.status in (DEAD, CANCELLED):
        job.status, job.tries, job.run_after = QUEUED, 0, to_db(at)
        job.cancel_requested, job.finished_at = False, None
        session.add(job)
        session.flush()
    return job


@dataclass
class Context:
    """What a handler gets: its session, the job's payload, the time, the settings."""

    session: Session
    job_id: int
    kind: str
    payload: dict[str, Any]
    tries: int
    settings: Any
    clock: Clock
    _token: str = field(repr=False, default="")
    _lease: float = field(repr=False, default=300.0)
    _stopping: threading.Event | None = field(repr=False, default=None)

    def now(self) -> datetime:
        return self.clock()

    def check(self) -> None:  # cheap: no database; call it as often as you like
        if self._stopping is not None and self._stopping.is_set():
            raise Interrupted(f"job {self.job_id} stopped with its runner; it will run again")

    def progress(self, fraction: float, note: str = "") -> None:
        """Record progress, renew the lease and commit ctx.session; raise Cancelled,
        LeaseLost or Interrupted when the job must stop."""
        self.check()
        now = self.clock()
        row = self.session.execute(
            update(_JOBS)
            .where(_JOBS.c.id == self.job_id, _JOBS.c.lease_token == self._token)
            .where(_JOBS.c.status == RUNNING)
            .values(
                progress=max(0.0, min(1.0, fraction)),
                progress_note=note[:200],
                leased_until=to_db(now + timedelta(seconds=self._lease)),
            )
            .returning(_JOBS.c.cancel_requested)
        ).first()
        db.commit(self.session)
        if row is None:
            raise LeaseLost(f"job {self.job_id} was taken over by another runner")
        if row[0]:
            raise Cancelled(f"job {self.job_id} was cancelled")
        self.check()


@dataclass(frozen=True)
class Outcome:
    """What became of one run of a job."""

    job_id: int
    kind: str
    status: str  # done, queued (to retry), dead, cancelled, or lost (another runner has it)
    error: str = ""


@dataclass(frozen=True)
class _Claim:
    job_id: int
    kind: str
    payload: dict[str, Any]
    tries: int
    max_tries: int
    token: str


class Runner:
    """Claims due jobs of the registered kinds and runs them, in the calling thread (`drain`,
    `run_key`) or in threads of its own (`start`)."""

    def __init__(
        self,
        engine: Engine,
        *,
        settings: Any = None,
        clock: Clock = utcnow,
        registry: dict[str, Kind] | None = None,
        poll_seconds: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self.registry = REGISTRY if registry is None else registry
        self.poll_seconds = poll_seconds
        self.rng = rng or random.Random()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"[:100]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def drain(self, *, limit: int = 1000, kinds: tuple[str, ...] = ()) -> list[Outcome]:
        """Run due jobs one after another until none is due (or `limit` ran)."""
        outcomes: list[Outcome] = []
        while len(outcomes) < limit and not self._stop.is_set():
            outcome = self.run_next(kinds=kinds)
            if outcome is None:
                break
            outcomes.append(outcome)
        return outcomes

    def run_next(self, *, kinds: tuple[str, ...] = ()) -> Outcome | None:
        """Claim the job that has waited longest and run it; None when nothing is due."""
        claim = self._claim(kinds=kinds or tuple(self.registry))
        return None if claim is None else self._run(claim)

    def run_key(self, key: str) -> Outcome | None:
        """Claim the job with this key, if it is due and unclaimed, and run it now."""
        claim = self._claim(kinds=tuple(self.registry), key=key)
        return None if claim is None else self._run(claim)

    def start(self, threads: int = 1) -> None:
        """Run jobs in `threads` daemon threads until `stop`; prompt kinds in one more too."""
        prompt = tuple(name for name, kind in self.registry.items() if kind.prompt)
        for n, kinds in enumerate([()] * threads + ([prompt] if threads and prompt else [])):
            thread = threading.Thread(target=self._loop, args=(kinds,), name=f"wmi-jobs-{n}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads: a running job stops at its next progress report and goes back to
        the queue (its try not counted); a job that reports no progress runs to its end."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _loop(self, kinds: tuple[str, ...] = ()) -> None:
        while not self._stop.is_set():
            try:
                ran = self.drain(limit=100, kinds=kinds)
            except Exception:  # the database may be away for a while; keep trying
                log.exception("job runner: claiming failed")
                ran = []
            if not ran:
                self._stop.wait(self.poll_seconds)

    def _claim(self, *, kinds: tuple[str, ...], key: str | None = None) -> _Claim | None:
        if not kinds:
            return None
        now = to_db(self.clock())
        due = or_(
            and_(_JOBS.c.status == QUEUED, _JOBS.c.run_after <= now),
            and_(_JOBS.c.status == RUNNING, _JOBS.c.leased_until <= now),
        )
        pick = sa_select(_JOBS.c.id).where(due, _JOBS.c.kind.in_(kinds))
        if key is not None:
            pick = pick.where(_JOBS.c.key == key)
        pick = pick.order_by(_JOBS.c.run_after, _JOBS.c.id).limit(1)
        leases = {k: now + timedelta(seconds=self.registry[k].lease_seconds) for k in kinds}
        token = secrets.token_hex(16)
        with Session(self.engine) as session:
            _bury_abandoned(session, now)
            row = session.execute(
                update(_JOBS)
                .where(_JOBS.c.id == pick.with_for_update(skip_locked=True).scalar_subquery())
                .where(due)
                .values(
                    status=RUNNING,
                    tries=_JOBS.c.tries + 1,
                    lease_token=token,
                    leased_until=case(leases, value=_JOBS.c.kind),
                    owner=f"{self.owner}:{threading.current_thread().name}"[:120],
                    started_at=now,
                )
                .returning(_JOBS.c.id, _JOBS.c.kind, _JOBS.c.payload, _JOBS.c.tries)
                .returning(_JOBS.c.max_tries)
            ).first()
            db.commit(session)
        return None if row is None else _Claim(row[0], row[1], row[2], row[3], row[4], token)

    def _run(self, claim: _Claim) -> Outcome:
        kind = self.registry[claim.kind]
        interrupted = False
        with Session(self.engine, expire_on_commit=False) as session:
            ctx = Context(
                session=session,
                job_id=claim.job_id,
                kind=claim.kind,
                payload=claim.payload,
                tries=claim.tries,
                settings=self.settings,
                clock=self.clock,
                _token=claim.token,
                _lease=kind.lease_seconds,
                _stopping=self._stop,
            )
            try:
                result = kind.fn(ctx)
                if self._close(session, claim, status=DONE, result=result, progress=1.0):
                    return Outcome(claim.job_id, claim.kind, DONE)
                return Outcome(claim.job_id, claim.kind, "lost")
            except LeaseLost as exc:
                log.warning("%s", exc)
                return Outcome(claim.job_id, claim.kind, "lost", str(exc))
            except Cancelled as exc:
                error, status = str(exc), CANCELLED
            except Interrupted as exc:
                error, status, interrupted = str(exc), QUEUED, True
            except Exception as exc:  # any failure of a handler is retried or dead-lettered
                log.exception("job %s (%s) failed", claim.job_id, claim.kind)
                error = f"{type(exc).__name__}: {exc}"
                status = DEAD if claim.tries >= claim.max_tries else QUEUED
            db.rollback(session)
        with Session(self.engine) as session:
            retry = status == QUEUED and not interrupted
            delay = kind.backoff(claim.tries, self.rng) if retry else 0.0
            won = self._close(
                session, claim, status=status, error=error, delay=delay, uncount=interrupted
            )
        return Outcome(claim.job_id, claim.kind, status if won else "lost", error)

    def _close(self, session: Session, claim: _Claim, *, status: str, **values: Any) -> bool:
        """End this claim (conditional on still holding it) and commit."""
        now = to_db(self.clock())
        changes: dict[str, Any] = {"status": status, "lease_token": None, "leased_until": None}
        changes.update({k: values[k] for k in ("result", "progress") if k in values})
        if values.get("error"):
            changes["last_error"] = values["error"][:2000]
        if values.get("uncount"):  # stopped by its runner, not failed: the try does not count
            changes["tries"] = _JOBS.c.tries - 1
        if status == QUEUED:
            changes["run_after"] = now + timedelta(seconds=values.get("delay", 0.0))
        else:
            changes["finished_at"] = now
        won = db.rowcount(
            session.execute(
                update(_JOBS)
                .where(_JOBS.c.id == claim.job_id, _JOBS.c.lease_token == claim.token)
                .where(_JOBS.c.status == RUNNING)
                .values(**changes)
            )
        )
        db.commit(session)
        if not won:
            log.warning("job %s: the lease ran out before it ended (%s)", claim.job_id, status)
        return bool(won)


def _bury_abandoned(session: Session, now: datetime) -> None:
    """Jobs whose runner died holding them on their last try are dead, not run again."""
    session.execute(
        update(_JOBS)
        .where(_JOBS.c.status == RUNNING, _JOBS.c.leased_until <= now)
        .where(_JOBS.c.tries >= _JOBS.c.max_tries)
        .values(
            status=DEAD,
            lease_token=None,
            leased_until=None,
            finished_at=now,
            last_error="its runner stopped before it ended, on every try",
        )
    )
