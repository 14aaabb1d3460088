"""Engine, metadata naming convention, sessions and migrations."""

import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from app.core.config import ROOT, Settings

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_WRITE_LOCK_SECONDS = 10.0
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC", "CREATE", "DROP", "ALTER")


class _SingleWriterConnection(sqlite3.Connection):
    """A SQLite connection that takes its process's write lock at its first write statement
    and gives it back after its commit or rollback.

    SQLite lets one connection write at a time; another writer sleeps in SQLite's busy handler
    (1, 2, 5 ... 100 ms per retry), which under many request threads makes long tail latencies
    and wastes the lock's free moments. With one lock per database file and process, the
    threads of a server queue for it instead and take it the moment it is free. Writers in
    other processes (a second worker, the CLI) still meet the busy timeout, as before.
    """

    write_lock: "threading.Lock | None" = None
    holds_write_lock = False

    def take_write_lock(self) -> None:
        if self.holds_write_lock or self.write_lock is None:
            return
        if not self.write_lock.acquire(timeout=_WRITE_LOCK_SECONDS):
            raise sqlite3.OperationalError("database is locked (by a writer of this process)")
        self.holds_write_lock = True

    def _give_back(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


def is_write(statement: str) -> bool:
    """Whether a SQL statement writes (so, on SQLite, needs the process's write lock first)."""
    return statement.lstrip()[:6].upper() in _WRITES


def lock_for_write(dbapi_connection) -> None:
    """Take the process's SQLite write lock on this DBAPI connection (no-op elsewhere)."""
    take = getattr(dbapi_connection, "take_write_lock", None)
    if take is not None:
        take()


def _take_write_lock(conn, cursor, statement, parameters, context, executemany) -> None:
    if is_write(statement):
        lock_for_write(cursor.connection)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 20) -> Engine:
    """An engine for SQLite (WAL, foreign keys on) or PostgreSQL (psycopg 3).

    Pool: by default as many connections as the server's thread pool has threads (AnyIO's
    default is 40), so a burst queues on the CPU rather than timing out on the pool (SQLite's
    default of 5 + 10 made request threads open and close overflow connections under load).
    Each worker may open pool_size + max_overflow connections: keep workers x that below the
    server's max_connections (PostgreSQL's default is 100).
    """
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": 60}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": 10,
                "factory": _SingleWriterConnection,
            },
            **(pool if path and path != ":memory:" else {}),
        )
        with _LOCKS_GUARD:
            lock = _WRITE_LOCKS.setdefault(
                str(Path(path).resolve()) if path else url, threading.Lock()
            )

        def connected(dbapi_connection, record) -> None:
            _sqlite_pragmas(dbapi_connection, record)
            dbapi_connection.write_lock = lock

        event.listen(engine, "connect", connected)
        event.listen(engine, "before_cursor_execute", _take_write_lock)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **pool)


def alembic_config(url: str):
    """The Alembic configuration of this project, pointed at a database URL."""
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["database_url"] = url
    return cfg


def migrate(settings: Settings, revision: str = "head") -> None:
    """Bring the schema to a revision (the first run of `wmi serve` does this)."""
    from alembic import command

    command.upgrade(alembic_config(settings.database_url), revision)


_SCOPES: "weakref.WeakKeyDictionary[Engine, str]" = weakref.WeakKeyDictionary()
_SCOPE = "db.scope"


def cache_scope(session: Session) -> str:
    """Which database a session talks to, for per-process caches keyed by row ids.

    One server process talks to one database, but a test run or a tool may open several whose
    ids overlap; caches key their entries by (scope, id) so they never mix them up. Kept in
    the session's info (its bind never changes): the exam loop asks about ten times an answer.
    """
    scope = session.info.get(_SCOPE)
    if scope is not None:
        return scope
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    scope = _SCOPES.get(engine)
    if scope is None:
        scope = _SCOPES.setdefault(engine, engine.url.render_as_string(hide_password=True))
    session.info[_SCOPE] = scope
    return scope


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, on the application's engine.

    Async on purpose, though the session is a sync one used by sync routes: making a Session
    does no I/O, and a sync generator dependency would cost two thread-pool hand-offs per
    request (enter and exit), which measured more than the answer path's SQL. Closing returns
    the connection to the pool (a rollback of nothing) on the event loop.
    """
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
