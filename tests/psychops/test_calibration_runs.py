"""Calibration runs: a background job over the stored responses; skipped items named; a failed,
cancelled or interrupted run leaves the pool unchanged."""

import pytest
from sqlmodel import select

from app import wiring
from app.core import jobs
from app.core.models import AuditEntry
from app.itembank import pools
from app.psychops import calibration_runs as runs
from tests.factories.accounts import csrf_from, sign_in
from tests.factories.exams import make_admin
from tests.psychops.test_pools_http import _finished


def _run(session, clock, **given):
    options = {"track": "CAWM", "model": "2pl", "mode": "pretest", "min_responses": 3} | given
    return runs.start(session, now=clock(), **options)


def test_a_pretest_run_estimates_what_has_enough_responses_and_names_every_skipped_item(
    app, session, clock
):
    _finished(session, clock, 8)
    base = pools.active(session, track="CAWM")
    run = _run(session, clock)
    assert runs.status(run, runs.job_of(session, run)) == "queued"
    outcomes = app.state.jobs.drain()
    assert [o.status for o in outcomes if o.kind == runs.JOB] == ["done"]
    run = runs.get(session, run.id)
    assert run.status == "done" and run.summary["attempts"] == 8
    rows = runs.items(session, run.id)
    assert len(rows) == len(base.items)  # one row per item version of the base revision
    by_version = {p["id"]: p for p in base.items}
    estimated = [r for r in rows if r.outcome == "estimated"]
    skipped = [r for r in rows if r.outcome == "skipped"]
    anchors = [r for r in rows if r.outcome == "anchor"]
    assert estimated and skipped and anchors
    assert all(r.pretest and r.responses >= 3 and r.se_b > 0 for r in estimated)
    assert all(r.decision == "accept" for r in estimated)
    for r in skipped:  # every one named with its count, keeping its provisional parameters
        assert r.reason == f"{r.responses} responses, fewer than the minimum of 3"
        assert (r.a, r.b, r.c) == (None, None, None) and r.decision == "keep"
        assert r.old_b == by_version[r.version_id]["b"]
    assert all(not r.pretest and r.a == r.old_a and r.b == r.old_b for r in anchors)
    assert any(r.displacement_b is not None for r in anchors)
    assert pools.active_id(session, track="CAWM") == base.id  # nothing in force changed
    done = session.exec(select(AuditEntry).where(AuditEntry.action == "psychops.calibration_done"))
    assert done.first() is not None


def test_too_few_responses_skips_every_item_with_its_reason_over_the_api(client, session, clock):
    _finished(session, clock, 3)
    sign_in(client, make_admin(session))
    started = client.post(
        "/api/v1/admin/calibration/runs",
        json={"track": "CAWM", "mode": "pretest", "min_responses": 500},
        headers={"X-CSRF-Token": csrf_from(client.get("/admin").text)},
    )
    assert started.status_code == 202, started.text
    client.app.state.jobs.drain()
    body = client.get(f"/api/v1/admin/calibration/runs/{started.json()['id']}").json()
    assert body["status"] == "done" and body["summary"]["estimated"] == 0
    pretest = [i for i in body["items"] if i["pretest"]]
    assert {s["item"] for s in body["skipped"]} >= {i["item"] for i in pretest}
    assert all("fewer than the minimum of 500" in s["reason"] for s in body["skipped"])
    bad = client.post(
        "/api/v1/admin/calibration/runs",
        json={"track": "XYZ"},
        headers={"X-CSRF-Token": csrf_from(client.get("/admin").text)},
    )
    assert bad.status_code == 422


def test_a_run_that_cannot_link_fails_with_a_message_and_changes_nothing(app, session, clock):
    _finished(session, clock, 2)
    before = pools.active_id(session, track="CAWM")
    run = _run(session, clock, mode="full", min_responses=50)
    app.state.jobs.drain()
    run = runs.get(session, run.id)
    assert run.status == "failed" and "linking a full recalibration" in run.error
    assert runs.items(session, run.id) == [] and pools.active_id(session, track="CAWM") == before


def test_a_cancelled_run_stores_nothing(app, session, clock):
    _finished(session, clock, 2)
    run = _run(session, clock)
    runs.cancel(session, run.id, now=clock())
    app.state.jobs.drain()
    run = runs.get(session, run.id)
    assert runs.status(run, runs.job_of(session, run)) == "cancelled"
    assert runs.items(session, run.id) == []
    with pytest.raises(runs.Conflict):
        runs.cancel(session, run.id, now=clock())


def test_a_run_interrupted_by_a_shutdown_runs_again_after_the_restart(app, session, clock):
    _finished(session, clock, 4)
    run = _run(session, clock)
    stopping = wiring.job_runner(app.state.engine, app.state.settings, clock)
    stopping._stop.set()  # the process is shutting down: the job stops at its first report
    outcome = stopping.run_key(run.job_key)
    assert outcome.status == "queued"
    job = jobs.find(session, run.job_key)
    session.refresh(job)
    assert job.status == "queued" and job.tries == 0 and runs.items(session, run.id) == []
    restarted = wiring.job_runner(app.state.engine, app.state.settings, clock)
    assert restarted.run_key(run.job_key).status == "done"
    assert runs.get(session, run.id).status == "done" and runs.items(session, run.id)


def test_a_track_without_a_revision_in_force_or_a_bad_model_is_refused(session, clock):
    with pytest.raises(runs.InvalidInput, match="no model"):
        _run(session, clock, model="4pl")
    with pytest.raises(runs.InvalidInput, match="no mode"):
        _run(session, clock, mode="some")


def test_a_full_run_links_through_the_calibrated_items_only_not_the_authored_guesses():
    """Half the base's items were calibrated (at their true values), half are authored
    guesses 0.8 too hard: the link must hold the calibrated half's scale."""
    import numpy as np

    from app.psychometrics import irt

    rng = np.random.default_rng(5)
    n_items, true_a, true_b = 40, rng.lognormal(0, 0.25, 40), rng.normal(0.3, 1, 40)
    theta = rng.normal(0.4, 1.0, 3000)  # not N(0, 1): the free estimate's scale must move
    p = irt.probability(theta, true_a, true_b, np.zeros(n_items))  # (P, N)
    x = (rng.random(p.shape) < p).astype(float)
    guessed = np.arange(n_items) >= 20
    params = [
        {"id": 100 + j, "item": j, "pretest": False, "domain": "A", "c": 0.0,
         "a": 1.0 if guessed[j] else float(true_a[j]),
         "b": float(true_b[j] + 0.8) if guessed[j] else float(true_b[j])}
        for j in range(n_items)
    ]  # fmt: skip
    calibrated = {100 + j for j in range(20)}
    est = runs.estimate(x, params, model="2pl", mode="full", min_responses=50,
                        calibrated=calibrated)  # fmt: skip
    assert est.summary["linking"]["items"] == 20
    assert abs(np.mean(est.b - true_b)) < 0.08  # on the calibrated items' scale
    assert np.sqrt(np.mean((est.b - true_b) ** 2)) < 0.15
    assert not np.isnan(est.disp_b[guessed]).any()  # the guesses' change is shown too
    naive = runs.estimate(x, params, model="2pl", mode="full", min_responses=50)
    assert naive.summary["linking"]["items"] == n_items
    assert np.mean(naive.b - true_b) > 0.25  # linking to the guesses drags the scale
