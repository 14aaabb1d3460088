"""Core statements compiled once per dialect and run on the session's DBAPI cursor.

SQLAlchemy's Connection.execute costs about 30 to 40 microseconds of Python per statement on
this stack (cache-key generation, an execution context, parameter processing, a result object,
events); the DBAPI call itself costs 1 to 4. The exam loop runs about eight statements per answer,
so that overhead was a sixth of an answer's server CPU. `Prepared` keeps everything SQLAlchemy
decides (the SQL text for the dialect, the parameter style and order, the type processors that
turn Python values into driver values and back) and skips the per-call machinery.

What it supports, checked when a statement is first prepared for a dialect (a statement outside
it raises at once, in tests, rather than misbehaving):
- binds that the caller passes by name, or that carry a fixed value (`column == "open"`);
- no Python-side column defaults, no expanding (IN) parameters, no bind-name escaping;
- results: `.first()`, `.one()` and `.all()` rows through the selected columns' result
  processors, `.rowcount`.

Semantics kept: the statement runs in the session's transaction (session.connection() begins
it, so db.commit(session) commits it) or, on a session a lane holds (app.core.lane) and
outside a transaction of the Session's own, straight on the lane's connection, whose
transaction db.commit(session) ends too (see `app.core.db.attach`); SQLite's per-process
write lock (app.core.db) is taken before a write, as the engine's event hook does for
ordinary statements; driver errors are raised as SQLAlchemy's DBAPIError subclasses
(IntegrityError and so on), as Connection.execute raises them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session

from app.core.db import ATTACHED, PIPELINE, is_write, lock_for_write, pipeline_mode
from app.core.session_state import Holder


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: tuple[str, ...] | None  # bind names in order, or None for named paramstyles
    processors: dict[str, Any]
    fixed: dict[str, Any]  # binds with a value of their own (literals in the statement)
    results: tuple[Any, ...] | None  # result processors per selected column, or None
    writes: bool


class Result:
    """What the exam loop reads back: one row, or how many rows a write touched."""

    __slots__ = ("_cursor", "_results", "_pipeline")

    def __init__(self, cursor: Any, results: tuple[Any, ...] | None, pipeline: Any = None) -> None:
        self._cursor, self._results, self._pipeline = cursor, results, pipeline

    @property
    def rowcount(self) -> int:
        if self._cursor.rowcount < 0 and self._pipeline is not None and self._pipeline.level:
            self._pipeline.sync()  # in pipeline mode the count arrives with the results
        count: int = self._cursor.rowcount
        return count

    def first(self) -> tuple[Any, ...] | None:
        row = self._cursor.fetchone()
        if row is None:
            return None
        if self._results is None:  # text() statements: the driver's values as they are
            return tuple(row)
        return tuple(p(v) if p else v for p, v in zip(self._results, row, strict=True))

    def one(self) -> tuple[Any, ...]:
        row = self.first()
        if row is None:
            raise exc.NoResultFound("No row was found when one was required")
        return row

    def all(self) -> list[tuple[Any, ...]]:
        rows = self._cursor.fetchall()
        if self._results is None:
            return [tuple(row) for row in rows]
        results = self._results
        return [tuple(p(v) if p else v for p, v in zip(results, row, strict=True)) for row in rows]


class Prepared:
    """A Core statement to run many times: compiled on first use per dialect, then executed
    straight on the DBAPI cursor. `keys`: for an INSERT without explicit bindparams, the
    columns it sets (as insert().values() would compile them)."""

    def __init__(self, statement: ClauseElement, *, keys: tuple[str, ...] = ()) -> None:
        self.statement, self.keys = statement, keys
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            with self._lock:
                plan = self._plans.get(dialect.name) or self._build(dialect)
                self._plans[dialect.name] = plan
        return plan

    def _build(self, dialect: Dialect) -> _Plan:
        compiled: SQLCompiler = self.statement.compile(  # type: ignore[assignment]
            dialect=dialect, column_keys=list(self.keys) or None
        )
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            raise ValueError("Prepared does not run Python-side column defaults")
        if getattr(compiled, "escaped_bind_names", None):
            raise ValueError("Prepared needs bind names the driver takes as they are")
        processors, fixed = {}, {}
        for name, bind in compiled.binds.items():
            if bind.expanding:
                raise ValueError("Prepared does not expand IN parameters")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
            if name not in self.keys and not bind.required:
                fixed[name] = bind.effective_value
        results = None
        selected = getattr(self.statement, "selected_columns", None)
        if selected is not None and not compiled.isinsert and not compiled.isupdate:
            results = tuple(
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in selected
            )
        positional = tuple(compiled.positiontup or ()) if compiled.positional else None
        sql = compiled.string
        return _Plan(
            sql=sql,
            positional=positional,
            processors=processors,
            fixed=fixed,
            results=results,
            writes=is_write(sql),
        )

    def execute(self, session: Session, params: dict[str, Any] | None = None) -> Result:
        raw, dialect = _dbapi(session)
        plan = self.plan(dialect)
        values = {**plan.fixed, **(params or {})}
        for name, processor in plan.processors.items():
            if name in values:
                values[name] = processor(values[name])
        args = tuple(values[n] for n in plan.positional) if plan.positional else values
        if plan.writes:
            lock_for_write(raw)
        cursor = raw.cursor()
        try:
            cursor.execute(plan.sql, args)
        except dialect.loaded_dbapi.Error as error:
            raise exc.DBAPIError.instance(
                plan.sql, args, error, dialect.loaded_dbapi.Error
            ) from error
        open_ = PIPELINE.get(session)
        return Result(cursor, plan.results, None if open_ is None else open_.pipeline)


class _Transaction(NamedTuple):
    """The DBAPI connection a Session transaction runs on, found once per transaction."""

    transaction: SessionTransaction
    connection: Any
    dialect: Dialect


_RAW: Holder[_Transaction] = Holder("prepared.dbapi")


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """Prepared statements of the block travel together on PostgreSQL (psycopg's pipeline
    mode): each is sent at once, and the client waits only where the code reads a result
    (a row, a rowcount) or commits. The implicit BEGIN, a write whose result nobody reads and
    the COMMIT after it share one round trip. Use it around Prepared statements and commits
    only (no ORM or Core work inside: SQLAlchemy does not expect pipeline mode). Errors are
    raised at the next read or commit, as SQLAlchemy's DBAPIError classes. A commit or
    rollback in the block ends the mode (app.core.db.pipeline_mode): what follows it in the
    block runs as usual. On SQLite, where a statement is a function call, it changes nothing.
    """
    raw, dialect = _dbapi(session)
    if dialect.name != "postgresql" or PIPELINE.get(session) is not None:
        yield
        return
    try:
        with pipeline_mode(session, raw, dialect):
            yield
    except dialect.loaded_dbapi.Error as error:
        raise exc.DBAPIError.instance(None, None, error, dialect.loaded_dbapi.Error) from error


def _dbapi(session: Session) -> tuple[Any, Dialect]:
    """The DBAPI connection of the session's transaction (begun here if need be) and its
    dialect; remembered for the rest of that transaction, since Session.connection() costs
    about as much as running a statement here. On a session a lane holds, outside a
    transaction of the Session's own: the lane's connection (app.core.db.attach)."""
    transaction = session.get_transaction()
    if transaction is None:
        attached = ATTACHED.get(session)
        if attached is not None:
            return attached
    known = _RAW.get(session)
    if transaction is not None and known is not None and known.transaction is transaction:
        return known.connection, known.dialect
    conn = session.connection()  # begins the session's transaction on this connection
    raw = conn.connection.driver_connection
    _RAW.set(session, _Transaction(session.get_transaction(), raw, conn.dialect))  # type: ignore[arg-type]
    return raw, conn.dialect
