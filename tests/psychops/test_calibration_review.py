"""Reviewing a calibration run: decisions, the proposed revision simulated beside the base,
activation against the base (409 when stale, one winner of two), attempts keep their revision."""

import pytest
from sqlmodel import Session

from app.exams import exposure
from app.exams.models import ExamAttempt
from app.itembank import pools
from app.psychops import calibration_review as review
from app.psychops import calibration_runs as runs
from tests.factories.accounts import csrf_from, make_user, sign_in
from tests.factories.exams import make_admin, start
from tests.itembank.test_pools import _new_revision
from tests.psychops.test_pools_http import _finished
from tests.racing import race


def _done_run(app, session, clock, attempts: int = 8):
    _finished(session, clock, attempts)
    run = runs.start(session, track="CAWM", model="2pl", mode="pretest", min_responses=3,
                     now=clock())  # fmt: skip
    app.state.jobs.drain()
    return runs.get(session, run.id)


def _decide(session, run, clock):
    rows = runs.items(session, run.id)
    promoted, kept = [r for r in rows if r.outcome == "estimated"][:2]
    retired = next(r for r in rows if r.outcome == "skipped")
    review.decide(session, run.id, {promoted.version_id: "promote", kept.version_id: "keep",
                                    retired.version_id: "retire"}, now=clock())  # fmt: skip
    return promoted, kept, retired


def test_a_reviewed_run_becomes_a_revision_new_attempts_get_and_old_ones_keep(app, session, clock):
    run = _done_run(app, session, clock)
    base = pools.get(session, run.base_revision_id)
    promoted, kept, retired = _decide(session, run, clock)
    accepted = [r for r in runs.items(session, run.id) if r.decision == "accept"]
    run = review.propose(session, run.id, now=clock())
    proposed = pools.get(session, run.proposed_revision_id)
    assert proposed.source == f"calibration run {run.id}" and proposed.base_revision_id == base.id
    items = {p["id"]: p for p in proposed.items}
    assert retired.version_id not in items and len(items) == len(base.items) - 1
    assert items[promoted.version_id]["pretest"] is False
    assert items[promoted.version_id]["b"] == promoted.b != promoted.old_b
    assert items[kept.version_id]["b"] == kept.old_b and items[kept.version_id]["pretest"]
    assert all(items[r.version_id]["a"] == r.a for r in accepted)
    assert set(proposed.calibrated) == {promoted.version_id} | {r.version_id for r in accepted}
    with pytest.raises(pools.NotDerived):  # not before its exposure control is derived
        review.activate(session, run.id, now=clock())

    app.state.jobs.drain()  # derivation and the review's simulation
    run = runs.get(session, run.id)
    assert pools.get(session, proposed.id).exposure is not None
    sim = run.simulation
    assert sim["base"]["revision"] == base.id and sim["proposed"]["revision"] == proposed.id
    for row in (sim["base"], sim["proposed"]):
        assert 0 <= row["accuracy"] <= 1 and row["mean_length"] >= 30 and row["max_exposure"] > 0
        parts = exposure.revision_parts(session, revision_id=row["revision"], now=clock())
        assert row["policy_digest"] == exposure.policy_digest(parts.cat_policy)  # what attempts get

    early = make_user(session)
    before = start(session, early, clock)  # started on the base revision
    review.activate(session, run.id, now=clock())
    assert pools.active_id(session, track="CAWM") == proposed.id
    after = start(session, make_user(session), clock)
    assert after.pool_revision_id == proposed.id
    assert session.get(ExamAttempt, before.id).pool_revision_id == base.id
    assert pools.get(session, proposed.id).withheld == [retired.version_id]
    assert pools.record_bank_revisions(session, now=clock()) == []  # a load undoes no decision
    pools.activate(session, revision_id=base.id, base_revision_id=proposed.id, now=clock())
    assert pools.active_id(session, track="CAWM") == base.id  # an earlier revision, back


def test_decisions_are_checked_item_by_item(app, session, clock):
    run = _done_run(app, session, clock, attempts=4)
    rows = runs.items(session, run.id)
    anchor = next(r for r in rows if r.outcome == "anchor")
    skipped = next(r for r in rows if r.outcome == "skipped")
    with pytest.raises(review.InvalidInput) as refused:
        review.decide(session, run.id, {anchor.version_id: "promote",
                                        skipped.version_id: "accept", 10**9: "keep"},
                      now=clock())  # fmt: skip
    message = refused.value.message
    assert f"{anchor.code}: 'promote' is not open to it" in message
    assert f"{skipped.code}: 'accept' is not open to it (choose keep, retire)" in message
    assert "item version 1000000000 is not part of run" in message
    assert {r.decision for r in runs.items(session, run.id) if r.id == anchor.id} == {"keep"}


def test_a_run_whose_base_is_no_longer_in_force_gets_409_with_a_message(client, session, clock):
    run = _done_run(client.app, session, clock, attempts=4)
    newer = _new_revision(client.app, session, clock)
    client.app.state.jobs.drain()  # the bank change is put in force
    sign_in(client, make_admin(session))
    token = csrf_from(client.get("/admin").text)
    refused = client.post(f"/api/v1/admin/calibration/runs/{run.id}/propose", json={},
                          headers={"X-CSRF-Token": token})  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        f"The CAWM pool changed since calibration run {run.id} started: revision {newer.id} "
        f"is now in force, not {run.base_revision_id}. Start a new run."
    )
    assert pools.active_id(session, track="CAWM") == newer.id


def test_two_administrators_activating_at_once_one_wins_and_the_other_is_told(app, session, clock):
    run = _done_run(app, session, clock, attempts=4)
    review.propose(session, run.id, now=clock())
    app.state.jobs.drain()
    proposed = runs.get(session, run.id).proposed_revision_id
    outcomes: dict[int, str] = {}

    def work(k: int) -> None:
        with Session(app.state.engine) as own:
            try:
                review.activate(own, run.id, now=clock(), actor_id=None)
                outcomes[k] = "won"
            except (pools.StaleRevision, review.AlreadyActivated) as exc:
                assert exc.status_code == 409
                outcomes[k] = exc.message

    assert race(work, 2) == []
    assert sorted(outcomes.values())[1] == "won"
    told = sorted(outcomes.values())[0]
    assert (
        told == f"Calibration run {run.id} was already put in force; nothing changed."
        or f"revision {proposed} is now in force, not {run.base_revision_id}" in told
    )
    assert pools.active_id(session, track="CAWM") == proposed


def test_the_review_pages_from_start_to_activation(client, session, clock):
    _finished(session, clock, 8)
    sign_in(client, make_admin(session))
    index = client.get("/admin/calibration")
    assert index.status_code == 200 and "Start a run" in index.text
    started = client.post("/admin/calibration", data={
        "track": "CAWM", "model": "2pl", "mode": "pretest", "min_responses": "3",
        "csrf_token": csrf_from(index.text)})  # fmt: skip
    assert started.status_code == 303
    page = client.get(started.headers["location"])
    assert 'State: <strong id="run-state">queued</strong>' in page.text
    client.app.state.jobs.drain()
    url = started.headers["location"]
    page = client.get(url).text
    assert "Skipped items" in page and "fewer than the minimum of 3" in page
    assert page.count("data:image/svg+xml;base64,") == 3  # b, information, SE
    run_id = int(url.rsplit("/", 1)[1])
    row = next(r for r in runs.items(session, run_id) if r.outcome == "estimated")
    saved = client.post(f"{url}/decisions", data={f"d-{row.version_id}": "promote",
                                                   "csrf_token": csrf_from(page)})  # fmt: skip
    assert saved.status_code == 303
    assert "Decisions saved." in client.get(url).text
    client.post(f"{url}/propose", data={"csrf_token": csrf_from(page)})
    client.app.state.jobs.drain()
    page = client.get(url).text
    assert "simulated candidates on each revision" in page and "Put revision" in page
    client.post(f"{url}/activate", data={"csrf_token": csrf_from(page)})
    assert "is now in force" in client.get(url).text
    revision = runs.get(session, run_id).proposed_revision_id
    assert pools.active_id(session, track="CAWM") == revision
    again = client.post(f"{url}/activate", data={"csrf_token": csrf_from(page)})
    assert "was already put in force; nothing changed" in client.get(again.headers["location"]).text
