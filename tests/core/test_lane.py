"""The exam lane: arrival order, one kept connection per thread, failures, deferred work."""

import asyncio
import gc
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.core import lane as lanes
from app.core import session_state
from app.core.errors import NotFound
from app.core.prepared import Prepared

BUMP = Prepared(text("UPDATE audit_head SET seq = seq + 100 WHERE id = 1"))
SEQ = Prepared(text("SELECT seq FROM audit_head WHERE id = 1"))


def run(lane: lanes.Lane, *works):
    """Run the works in the lane, all submitted at once, in this order; their results."""

    async def main():
        return await asyncio.gather(*(lane.run(w) for w in works), return_exceptions=True)

    return asyncio.run(main())


@pytest.fixture
def lane(app):
    one = lanes.Lane(app.state.engine, threads=1)
    yield one
    one.close()


def test_jobs_run_one_after_another_in_arrival_order(lane):
    spans: list[tuple[int, float, float]] = []

    def job(k):
        def work(session):
            start = time.perf_counter()
            time.sleep(0.002)
            spans.append((k, start, time.perf_counter()))
            return k

        return work

    assert run(lane, *(job(k) for k in range(20))) == list(range(20))
    assert [k for k, _, _ in spans] == list(range(20))
    assert all(a[2] <= b[1] for a, b in zip(spans, spans[1:], strict=False))  # no overlap


def test_a_thread_keeps_its_connection_and_session(lane):
    def conn(session):
        return session, session.connection().connection.dbapi_connection

    (s1, c1), (s2, c2) = run(lane, conn, conn)
    assert s1 is s2 and c1 is c2


def test_a_failure_throws_the_connection_away_and_the_lane_goes_on(lane):
    def who(session):
        return session

    def broken(session):
        raise RuntimeError("boom")

    def refused(session):
        raise NotFound("no such thing")

    first, failed, second, app_error, third = run(lane, who, broken, who, refused, who)
    assert isinstance(failed, RuntimeError) and isinstance(app_error, NotFound)
    assert first is not second  # a new connection (and session) after the failure
    assert second is third  # an application error keeps it


def test_work_left_uncommitted_is_rolled_back(lane, backend):
    def leave_open(session):
        BUMP.execute(session)
        return SEQ.execute(session).one()[0]

    def read(session):
        BUMP.execute(session)  # on SQLite this needs the write lock the last job held
        seq = SEQ.execute(session).one()[0]
        session.rollback()
        return seq

    during, after = run(lane, leave_open, read)
    assert during == after  # the first job's +100 did not survive it


def test_idle_connections_are_handed_back(app):
    lane = lanes.Lane(app.state.engine, threads=1, idle_seconds=0.0)
    try:
        first, second = run(lane, lambda s: s, lambda s: s)
        assert first is not second
    finally:
        lane.close()
    assert app.state.engine.pool.checkedout() == 0


def test_deferred_work_runs_after_the_job_outside_the_lane(lane):
    seen: dict = {}

    def job(session):
        seen["lane"] = threading.current_thread().name
        assert lanes.defer(session, lambda own: seen.update(after=threading.current_thread().name,
                                                            own=own is not session))  # fmt: skip
        return "done"

    assert run(lane, job) == ["done"]
    assert seen["lane"].startswith("lane") and not seen["after"].startswith("lane")
    assert seen["own"]


def test_close_hands_the_connections_back(app):
    lane = lanes.Lane(app.state.engine, threads=3)
    run(lane, *(lambda s: s.connection() for _ in range(6)))
    assert app.state.engine.pool.checkedout() >= 1
    lane.close()
    assert app.state.engine.pool.checkedout() == 0


def test_start_up_freezes_what_it_built(app):
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(app):
        assert gc.get_freeze_count() > 0


def test_lane_threads_default_by_backend_and_count_against_the_pool():
    from pydantic import ValidationError

    from app.core.config import Settings

    assert Settings(database_url="sqlite:///x.db").lane_threads == 1
    assert Settings(database_url="postgresql://h/db").lane_threads == 4
    assert Settings(database_url="postgresql://h/db", lane_threads=3).lane_threads == 3
    with pytest.raises(ValidationError, match="less the 4 the exam lane keeps"):
        Settings(
            database_url="postgresql://h/db",
            db_pool_size=10,
            db_max_overflow=8,
            max_concurrent_requests=16,
        )


LANE_MEMO: session_state.Holder[list[int]] = session_state.Holder("tests.lane_memo")


def test_nothing_a_job_keeps_on_the_session_reaches_the_next_job(lane):
    """The lane keeps one Session per thread, and Session.close() keeps session.info: after
    each job only the facts about the connection remain (app.core.session_state)."""
    memo = LANE_MEMO

    def keep(session):
        memo.set(session, [1])
        return sorted(session.info)

    def look(session):  # (the lane keeps this job's deferred work on it too)
        return memo.get(session), sorted(k for k in session.info if k != "lane.deferred")

    during, (after, keys) = run(lane, keep, look)
    assert "tests.lane_memo" in during
    assert after is None and keys == ["db.attached"]


def test_a_track_changed_between_jobs_is_seen_by_the_next_job(lane, app):
    """courses.get_track remembers tracks for the unit of work; a lane job's memo ends with
    the job, so a track changed since (a content reload) is read afresh."""
    from sqlmodel import Session

    from app.courses import service as courses

    def title(session):
        return courses.get_track(session, "CAWM").title

    (before,) = run(lane, title)
    with Session(app.state.engine) as other:
        track = courses.get_track(other, "CAWM")
        track.title = "Renamed while the lane ran"
        other.add(track)
        other.commit()
    (after,) = run(lane, title)
    assert before != after == "Renamed while the lane ran"
