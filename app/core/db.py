"""Engine, metadata naming convention, sessions and migrations."""

import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, cast

from fastapi import Depends, Request
from sqlalchemy import Table, event, exc
from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine, Result
from sqlmodel import Session, SQLModel, create_engine

from app.core.config import ROOT, Settings
from app.core.session_state import Holder

if TYPE_CHECKING:
    from alembic.config import Config

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
        if self.holds_write_lock and self.write_lock is not None:
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


def lock_for_write(dbapi_connection: Any) -> None:
    """Take the process's SQLite write lock on this DBAPI connection (no-op elsewhere)."""
    take = getattr(dbapi_connection, "take_write_lock", None)
    if take is not None:
        take()


def _take_write_lock(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if is_write(statement):
        lock_for_write(cursor.connection)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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

        def connected(dbapi_connection: Any, record: Any) -> None:
            _sqlite_pragmas(dbapi_connection, record)
            dbapi_connection.write_lock = lock

        event.listen(engine, "connect", connected)
        event.listen(engine, "before_cursor_execute", _take_write_lock)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **pool)


# Tables the migrations own but no model describes: the lessons' full-text index (an FTS5
# virtual table and its shadow tables on SQLite, a table with a generated tsvector on
# PostgreSQL; app/courses/search.py). Autogenerate and the drift test leave them alone.
UNMODELLED_PREFIX = "lesson_search"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: compare everything but the unmodelled search index."""
    table = obj.table.name if type_ in ("column", "index") and hasattr(obj, "table") else name
    return not (table or "").startswith(UNMODELLED_PREFIX)


def alembic_config(url: str, settings: Settings | None = None) -> "Config":
    """The Alembic configuration of this project, pointed at a database URL; the settings, for
    the migrations that seal or open secrets with the key-encryption key (default: the
    process's)."""
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["database_url"] = url
    if settings is not None:
        cfg.attributes["settings"] = settings
    return cfg


def migrate(settings: Settings, revision: str = "head") -> None:
    """Bring the schema to a revision (the first run of `wmi serve` does this)."""
    from alembic import command

    command.upgrade(alembic_config(settings.database_url, settings), revision)


_SCOPES: "weakref.WeakKeyDictionary[Engine, str]" = weakref.WeakKeyDictionary()
_SCOPE: Holder[str] = Holder("db.scope", lasting=True)  # a session's bind never changes


def cache_scope(session: Session) -> str:
    """Which database a session talks to, for per-process caches keyed by row ids.

    One server process talks to one database, but a test run or a tool may open several whose
    ids overlap; caches key their entries by (scope, id) so they never mix them up. Kept on
    the session (its bind never changes): the exam loop asks about ten times an answer.
    """
    scope = _SCOPE.get(session)
    if scope is not None:
        return scope
    bind = session.get_bind()
    engine: Engine = bind.engine if isinstance(bind, Connection) else bind
    scope = _SCOPES.get(engine)
    if scope is None:
        scope = _SCOPES.setdefault(engine, engine.url.render_as_string(hide_password=True))
    return _SCOPE.set(session, scope)


def table(model: type[SQLModel]) -> Table:
    """The Core table of a model, for statements built once (SQLModel does not declare
    __table__ to type checkers)."""
    found: Table = model.__table__  # type: ignore[attr-defined]
    return found


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE run by session.execute touched (typed as a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


# ---------------------------------------------------------------- the one commit


class Attached(NamedTuple):
    """The DBAPI connection (and its dialect) a Session is bound to for its whole life."""

    connection: Any
    dialect: Dialect


ATTACHED: Holder[Attached] = Holder("db.attached", lasting=True)


def attach(session: Session, dbapi_connection: Any, dialect: Dialect) -> None:
    """Mark a Session bound for its whole life to one connection (a lane's): Prepared
    statements then run on that connection without beginning the Session's transaction.

    There is one physical transaction on a connection whatever begins it (the driver does:
    pysqlite before the first write, psycopg before the first statement), so statements run
    this way and ORM or Core work through the Session share it; `commit` and `rollback` below
    end it either way. What this skips is the Session's transaction bookkeeping (about 40
    microseconds per commit and 10 per begin), twice per exam answer.
    """
    ATTACHED.set(session, Attached(dbapi_connection, dialect))


class _Pipeline(NamedTuple):
    """psycopg's pipeline mode, open on the connection a session's statements use."""

    connection: Any
    pipeline: Any  # psycopg's Pipeline
    dialect: Dialect
    ends: ExitStack  # closing it leaves the mode: a Sync, every result read


PIPELINE: Holder[_Pipeline] = Holder("db.pipeline")


@contextmanager
def pipeline_mode(session: Session, connection: Any, dialect: Dialect) -> Iterator[Any]:
    """Hold the psycopg connection in pipeline mode for the block (app.core.prepared.pipelined)
    or until the commit or rollback in it, whichever comes first; yields psycopg's Pipeline.

    The commit or rollback leaves the mode before the transaction ends: the Session gives its
    connection back to the pool as it commits, and a connection checked in while still in
    pipeline mode is taken by another request thread while this one is still leaving the mode
    (the other thread's checkout then fails, "connection not in pipeline mode")."""
    with ExitStack() as ends:
        pipeline = ends.enter_context(connection.pipeline())
        PIPELINE.set(session, _Pipeline(connection, pipeline, dialect, ends))
        try:
            yield pipeline
        finally:
            PIPELINE.pop(session)


def _leave_pipeline(session: Session, *, commit: bool) -> None:
    """Leave the session's pipeline mode, if it is in it; with commit, the COMMIT is queued
    after the statements sent, so one Sync round trip carries it and reads every result (the
    driver's commit after it finds the transaction ended and sends nothing)."""
    open_ = PIPELINE.pop(session)
    if open_ is None:
        return
    dbapi_error = open_.dialect.loaded_dbapi.Error
    try:
        if commit:
            open_.connection.execute("COMMIT", prepare=False)
        open_.ends.close()
    except dbapi_error as error:
        raise exc.DBAPIError.instance("COMMIT", None, error, dbapi_error) from error


def commit(session: Session) -> None:
    """Commit the work of a use case: the one commit every use case ends with, in the exam
    lane or not. Through the Session when it began a transaction (ORM or Core work), else on
    the attached connection (Prepared statements only), which Session.commit() would miss.
    In pipeline mode the COMMIT goes with the statements queued before it (after the
    Session's pending ORM rows), and the mode ends before the connection can be given back."""
    if PIPELINE.get(session) is not None:
        session.flush()
        _leave_pipeline(session, commit=True)
    attached = ATTACHED.get(session)
    if attached is None or session.get_transaction() is not None:
        session.commit()
    else:
        attached.connection.commit()


def rollback(session: Session) -> None:
    """Roll back the Session's transaction and whatever ran on the attached connection."""
    if PIPELINE.get(session) is not None:
        # an error of a statement being rolled back: the rollback is the answer to it
        with suppress(exc.DBAPIError):
            _leave_pipeline(session, commit=False)
    session.rollback()
    end(session)  # a no-op when nothing is open (both drivers check)


def end(session: Session) -> None:
    """Roll back whatever is still open on the attached connection (after Session.close(),
    which keeps the objects it loaded readable, where Session.rollback() would expire them)."""
    attached = ATTACHED.get(session)
    if attached is not None:
        attached.connection.rollback()


def dialect_name(session: Session) -> str:
    """ "sqlite" or "postgresql": the dialect of the connection the session's statements use."""
    attached = ATTACHED.get(session)
    return (attached.dialect if attached is not None else session.get_bind().dialect).name


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
