"""The background-job mechanism (app.core.jobs) on SQLite and PostgreSQL: enqueued in the
caller's transaction, one runner per job, retries with backoff, dead letter, leases,
progress and cancellation."""

import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session

from app.core import audit, jobs
from app.core.clock import as_utc
from app.core.models import AuditEntry, Job

RUNS: Counter = Counter()
FAILS_LEFT: dict[int, int] = {}


@jobs.handler("test.record", lease_seconds=30)
def _record(ctx: jobs.Context) -> dict:
    """Writes an audit entry in the job's transaction and counts its runs."""
    RUNS[ctx.payload["n"]] += 1
    audit.record(ctx.session, action="test.job", at=ctx.now(), subject=str(ctx.payload["n"]))
    return {"n": ctx.payload["n"], "tries": ctx.tries}


@jobs.handler("test.flaky", max_tries=3, backoff_seconds=10, max_backoff_seconds=15)
def _flaky(ctx: jobs.Context) -> None:
    audit.record(ctx.session, action="test.flaky", at=ctx.now())
    raise RuntimeError("the far end is down")


@jobs.handler("test.long", lease_seconds=30)
def _long(ctx: jobs.Context) -> None:
    for step in range(ctx.payload.get("steps", 1000)):
        if ctx.payload.get("cancel_at") == step:
            with Session(ctx.session.get_bind()) as other:
                jobs.cancel(other, ctx.job_id, at=ctx.now())
                other.commit()
        ctx.progress(step / 1000, f"step {step}")


def runner(app, clock, *kinds, **options) -> jobs.Runner:
    registry = {k: jobs.REGISTRY[k] for k in kinds}
    return jobs.Runner(
        app.state.engine, settings=app.state.settings, clock=clock, registry=registry, **options
    )


def enqueue(session, clock, kind="test.record", payload=None, **options) -> bool:
    added = jobs.enqueue(session, kind, payload or {"n": 0}, at=clock(), **options)
    session.commit()
    return added


def entries(session, action: str) -> int:
    return len(audit.recent(session, limit=10_000, action=action))


def test_a_job_exists_only_if_the_callers_transaction_commits(app, session, clock):
    jobs.enqueue(session, "test.record", {"n": 1}, at=clock())
    session.rollback()
    assert jobs.list_jobs(session) == []
    jobs.enqueue(session, "test.record", {"n": 2}, at=clock(), key="only-one")
    session.commit()
    assert not enqueue(session, clock, payload={"n": 3}, key="only-one")
    [job] = jobs.list_jobs(session)
    assert (job.status, job.payload, job.tries, job.max_tries) == ("queued", {"n": 2}, 0, 5)


def test_drain_runs_each_due_job_once_and_commits_its_work_with_its_completion(app, session, clock):
    RUNS.clear()
    for n in (10, 11):
        enqueue(session, clock, payload={"n": n})
    enqueue(session, clock, payload={"n": 12}, delay_seconds=60)
    outcomes = runner(app, clock, "test.record").drain()
    assert [(o.status, RUNS[n]) for o, n in zip(outcomes, (10, 11), strict=True)] == [
        ("done", 1),
        ("done", 1),
    ]
    assert RUNS[12] == 0  # not due yet
    assert entries(session, "test.job") == 2
    done = [j for j in jobs.list_jobs(session) if j.status == "done"]
    assert sorted(j.result["n"] for j in done) == [10, 11]
    assert all(j.progress == 1.0 and j.lease_token is None for j in done)
    clock.advance(seconds=61)
    assert [o.status for o in runner(app, clock, "test.record").drain()] == ["done"]


def test_a_failing_job_is_retried_with_growing_jittered_delays_then_dead(app, session, clock):
    enqueue(session, clock, "test.flaky")
    run = runner(app, clock, "test.flaky", rng=random.Random(3))
    waits = []
    for _ in range(2):
        [outcome] = run.drain()
        assert outcome.status == "queued" and "the far end is down" in outcome.error
        [job] = jobs.list_jobs(session)
        session.refresh(job)
        waits.append((as_utc(job.run_after) - clock()).total_seconds())
        assert run.drain() == []  # not due before its delay
        clock.advance(seconds=waits[-1])
    assert 5 <= waits[0] < 10 and 10 <= waits[1] < 15  # 10 x 2^(try-1) x [0.5, 1), capped
    [outcome] = run.drain()
    job = jobs.get(session, outcome.job_id)
    assert (outcome.status, job.status, job.tries) == ("dead", "dead", 3)
    assert entries(session, "test.flaky") == 0  # each failed try's writes were rolled back
    clock.advance(days=1)
    assert run.drain() == []  # the dead stay dead until an operator retries them
    jobs.retry(session, job.id, at=clock())
    session.commit()
    assert [o.status for o in run.drain()] == ["queued"]


def test_a_claimed_job_is_not_claimed_again_until_its_lease_runs_out(app, session, clock):
    RUNS.clear()
    enqueue(session, clock, payload={"n": 20})
    first = runner(app, clock, "test.record")
    claim = first._claim(kinds=("test.record",))  # a runner that then dies
    assert claim is not None and claim.tries == 1
    second = runner(app, clock, "test.record")
    assert second.drain() == []
    clock.advance(seconds=31)
    [outcome] = second.drain()
    assert outcome.status == "done" and RUNS[20] == 1
    assert jobs.get(session, outcome.job_id).result == {"n": 20, "tries": 2}
    assert first._run(claim).status == "lost"  # the late runner cannot end it again
    assert jobs.get(session, outcome.job_id).status == "done"


def test_a_job_whose_runner_dies_on_every_try_ends_dead(app, session, clock):
    enqueue(session, clock, max_tries=2)
    run = runner(app, clock, "test.record")
    for _ in range(2):
        assert run._claim(kinds=("test.record",)) is not None
        clock.advance(seconds=31)
    assert run.drain() == []
    [job] = jobs.list_jobs(session)
    assert job.status == "dead" and "runner stopped" in job.last_error


def test_concurrent_runners_run_every_job_exactly_once(app, session, clock):
    RUNS.clear()
    for n in range(100, 130):
        enqueue(session, clock, payload={"n": n})
    barrier = threading.Barrier(6)
    outcomes: list = []

    def work() -> None:
        run = runner(app, clock, "test.record")
        barrier.wait()
        outcomes.extend(run.drain())

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o.job_id for o in outcomes) == sorted(j.id for j in jobs.list_jobs(session))
    assert {n: RUNS[n] for n in range(100, 130)} == {n: 1 for n in range(100, 130)}
    assert entries(session, "test.job") == 30
    assert audit.verify(session).ok


def test_progress_is_recorded_and_cancellation_stops_a_running_job(app, session, clock):
    enqueue(session, clock, "test.long", {"steps": 5})
    [done] = runner(app, clock, "test.long").drain()
    job = jobs.get(session, done.job_id)
    assert (job.status, job.progress) == ("done", 1.0)
    enqueue(session, clock, "test.long", {"cancel_at": 7})
    [stopped] = runner(app, clock, "test.long").drain()
    job = jobs.get(session, stopped.job_id)
    assert (stopped.status, job.status, job.progress_note) == ("cancelled", "cancelled", "step 7")
    enqueue(session, clock, "test.long", {"steps": 1})
    queued = jobs.list_jobs(session, status="queued")[0]
    jobs.cancel(session, queued.id, at=clock())
    session.commit()
    assert runner(app, clock, "test.long").drain() == []
    assert jobs.counts(session) | {} == {
        "queued": 0,
        "running": 0,
        "done": 1,
        "dead": 0,
        "cancelled": 2,
    }


@jobs.handler("test.endless", lease_seconds=30)
def _endless(ctx: jobs.Context) -> None:
    step = 0
    while True:  # ends only by an exception from progress
        step += 1
        ctx.progress(0.5, f"step {step}")
        threading.Event().wait(0.01)


def test_stopping_the_runner_puts_a_running_job_back_without_counting_the_try(app, session, clock):
    enqueue(session, clock, "test.endless", {})
    run = runner(app, clock, "test.endless", poll_seconds=0.05)
    run.start(threads=1)
    threads = list(run._threads)
    started = threading.Event()
    for _ in range(400):
        job = jobs.list_jobs(session)[0]
        session.expire_all()
        if job.status == "running" and job.progress_note:
            started.set()
            break
        started.wait(0.05)
    run.stop(timeout=30)
    assert started.is_set()
    assert not any(t.is_alive() for t in threads)  # it never ended by itself: stop ended it
    session.expire_all()
    job = jobs.list_jobs(session)[0]
    assert (job.status, job.tries, job.lease_token) == ("queued", 0, None)
    assert "will run again" in job.last_error


def test_a_runner_claims_only_the_kinds_registered_with_it(app, session, clock):
    enqueue(session, clock, "some.other.domain")
    enqueue(session, clock, payload={"n": 30})
    assert [o.kind for o in runner(app, clock, "test.record").drain()] == ["test.record"]
    assert [j.kind for j in jobs.list_jobs(session, status="queued")] == ["some.other.domain"]
    with pytest.raises(ValueError, match="registered twice"):
        jobs.handler("test.record")(lambda ctx: None)


def test_run_key_runs_that_job_now_and_only_once(app, session, clock):
    RUNS.clear()
    enqueue(session, clock, payload={"n": 40}, key="k40")
    enqueue(session, clock, payload={"n": 41}, key="k41")
    run = runner(app, clock, "test.record")
    assert run.run_key("k41").status == "done"
    assert run.run_key("k41") is None
    assert (RUNS[40], RUNS[41]) == (0, 1)


def test_the_runner_threads_pick_up_jobs_enqueued_later(app, session, clock):
    RUNS.clear()
    run = runner(app, clock, "test.record", poll_seconds=0.05)
    run.start(threads=2)
    try:
        enqueue(session, clock, payload={"n": 50})
        done = threading.Event()
        for _ in range(400):
            if jobs.counts(session)["done"] == 1:
                done.set()
                break
            done.wait(0.05)
    finally:
        run.stop()
    assert done.is_set() and RUNS[50] == 1


@jobs.handler("test.prompt", prompt=True)
def _prompt(ctx: jobs.Context) -> None:
    RUNS[ctx.payload["n"]] += 1


def test_a_prompt_job_runs_while_a_long_one_holds_the_only_thread(app, session, clock):
    """A mail someone waits for (a prompt kind) does not wait behind a long job: with one
    runner thread busy, the prompt thread runs it (accounts' reset and sign-up mails)."""
    RUNS.clear()
    enqueue(session, clock, "test.endless", {})
    run = runner(app, clock, "test.endless", "test.prompt", poll_seconds=0.05)
    run.start(threads=1)
    try:
        enqueue(session, clock, "test.prompt", {"n": 60})
        done = threading.Event()
        for _ in range(400):  # until the prompt job's row says done (it runs, then is marked)
            session.rollback()  # a fresh read each time
            if [j.kind for j in jobs.list_jobs(session, status="done")] == ["test.prompt"]:
                done.set()
                break
            done.wait(0.05)
        session.expire_all()
        running = [j.kind for j in jobs.list_jobs(session, status="running")]
    finally:
        run.stop(timeout=30)
    assert done.is_set() and running == ["test.endless"] and RUNS[60] == 1
    assert jobs.REGISTRY["accounts.signup_mail"].prompt


def test_backoff_doubles_is_capped_and_jittered():
    kind = jobs.Kind(name="k", fn=lambda ctx: None, backoff_seconds=2, max_backoff_seconds=100)
    rng = random.Random(1)
    for tries, full in [(1, 2), (2, 4), (3, 8), (6, 64), (7, 100), (30, 100)]:
        delays = [kind.backoff(tries, rng) for _ in range(200)]
        assert full / 2 <= min(delays) and max(delays) < full
        assert max(delays) - min(delays) > full / 4  # jittered, not one value


def test_a_job_row_carries_what_an_operator_needs(app, session, clock):
    enqueue(session, clock, "test.flaky", key="op")
    runner(app, clock, "test.flaky").drain()
    job = jobs.find(session, "op")
    assert isinstance(job, Job) and job.tries == 1 and "RuntimeError" in job.last_error
    assert as_utc(job.run_after) > clock() and as_utc(job.started_at) == clock()
    assert job.owner and job.lease_token is None
    assert entries(session, "test.flaky") == 0 and AuditEntry is not None
    assert as_utc(job.created_at) + timedelta(seconds=5) <= as_utc(job.run_after)


def test_the_sweep_and_wmi_jobs_run_list_cancel_and_retry(app, session, clock, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import cli, sweep
    from app.core.config import get_settings

    RUNS.clear()
    enqueue(session, clock, payload={"n": 60})
    assert sweep.run_sweep(app.state.settings, clock=clock).jobs == 1 and RUNS[60] == 1
    settings = app.state.settings
    for name, value in [("VAR_DIR", settings.var_dir), ("DATABASE_URL", settings.database_url)]:
        monkeypatch.setenv(f"WMI_{name}", str(value))
    get_settings.cache_clear()
    try:
        invoke = CliRunner().invoke
        enqueue(session, clock, "test.flaky", max_tries=1)
        enqueue(session, clock, payload={"n": 61})
        ran = invoke(cli, ["jobs", "run", "--kind", "test.flaky"])
        assert ran.exit_code == 0 and "test.flaky: dead" in ran.output and RUNS[61] == 0
        dead = jobs.list_jobs(session, status="dead")[0]
        listed = invoke(cli, ["jobs", "list", "--status", "dead"])
        assert f"{dead.id} test.flaky dead tries 1/1 RuntimeError" in listed.output
        assert "queued" in invoke(cli, ["jobs", "retry", str(dead.id)]).output
        assert "cancelled" in invoke(cli, ["jobs", "cancel", str(dead.id)]).output
    finally:
        get_settings.cache_clear()
