"""Pool revisions: recorded by bank loads, derived by a job, activated against a base."""

import json

import pytest
from sqlmodel import Session, select

from app.core import jobs
from app.core.models import Job
from app.exams import exposure
from app.itembank import pools
from app.itembank.models import Item, ItemVersion, PoolRevision
from app.psychometrics.engine_types import ExposureControl
from tests.factories.exams import make_admin
from tests.racing import race


def _retire_one(session: Session, track: str = "CAWM") -> Item:
    item = session.exec(
        select(Item).where(Item.track == track, Item.pool == "exam", Item.status == "operational")
    ).first()
    item.status = "retired"
    session.add(item)
    session.flush()
    return item


def _new_revision(app, session, clock, track="CAWM") -> PoolRevision:
    """A bank change recorded as a new revision, its derivation queued (not run)."""
    _retire_one(session, track)
    (revision,) = pools.record_bank_revisions(session, now=clock())
    session.commit()
    return revision


def test_every_track_starts_with_a_derived_revision_in_force(session):
    for track in ("CAWM", "WMP", "CWA"):
        revision = pools.active(session, track=track)
        assert revision is not None and revision.source == "bank load"
        assert revision.exposure is not None and revision.exposure_target == 0.25
        assert revision.exposure_report["policy_digest"]
        ids = {str(p["id"]) for p in revision.items}
        control = ExposureControl.from_value(revision.exposure["sh_exposure"])
        assert control.to_dict() == revision.exposure["sh_exposure"]  # stored in its JSON form
        assert control.k and {i for i, _ in control.k} <= ids  # items held back: K < 1


def test_an_unchanged_bank_records_no_revision_and_a_change_records_one(app, session, clock):
    assert pools.record_bank_revisions(session, now=clock()) == []
    before = pools.active_id(session, track="CAWM")
    gone = _retire_one(session)
    (revision,) = pools.record_bank_revisions(session, now=clock())
    session.commit()
    assert revision.track == "CAWM" and revision.base_revision_id == before
    assert gone.id not in {p["item"] for p in revision.items}
    job = jobs.find(session, pools.derivation_key(revision.id))
    assert job.kind == pools.DERIVE_EXPOSURE and job.status == "queued"
    assert pools.active_id(session, track="CAWM") == before  # not until it is derived

    app.state.jobs.drain()
    session.expire_all()
    assert pools.active_id(session, track="CAWM") == revision.id
    assert pools.get(session, revision.id).exposure is not None


def test_a_load_keeps_calibrated_parameters(app, session, clock):
    base = pools.active(session, track="CAWM")
    items = [dict(p) for p in base.items]
    moved = next(p for p in reversed(items) if not p["pretest"])  # not the one retired below
    moved["b"] += 0.5
    calibrated = pools.create_revision(
        session, track="CAWM", items=items, calibrated=[moved["id"]],
        source="calibration run 1", now=clock(),
    )  # fmt: skip
    session.commit()
    app.state.jobs.drain()
    pools.activate(session, revision_id=calibrated.id, base_revision_id=base.id, now=clock())
    assert pools.record_bank_revisions(session, now=clock()) == []  # the file's b is not news

    _retire_one(session)
    (after,) = pools.record_bank_revisions(session, now=clock())
    kept = next(p for p in after.items if p["id"] == moved["id"])
    assert kept["b"] == moved["b"] and after.calibrated == [moved["id"]]


def test_activating_against_a_stale_base_is_refused_with_409(app, session, clock):
    old = pools.active_id(session, track="CAWM")
    revision = _new_revision(app, session, clock)
    with pytest.raises(pools.NotDerived):
        pools.activate(session, revision_id=revision.id, base_revision_id=old, now=clock())
    app.state.jobs.drain()  # derived and put in force (its base was still in force)
    session.expire_all()
    with pytest.raises(pools.StaleRevision) as refused:
        pools.activate(session, revision_id=old, base_revision_id=old, now=clock())
    assert refused.value.status_code == 409
    assert f"revision {revision.id} is now in force" in refused.value.message
    pools.activate(session, revision_id=old, base_revision_id=revision.id, now=clock())
    assert pools.active_id(session, track="CAWM") == old  # an earlier revision, re-activated


def test_two_activations_at_once_one_wins(app, session, clock):
    base = pools.active_id(session, track="CAWM")
    first = _new_revision(app, session, clock)
    item = session.exec(select(Item).where(Item.status == "retired")).first()
    item.status = "operational"
    session.add(item)
    second = pools.create_revision(
        session, track="CAWM", items=pools.bank_items(session, track="CAWM")[1:], calibrated=[],
        source="test", now=clock(),
    )  # fmt: skip
    session.commit()
    for revision in (first, second):  # derived, neither put in force
        pools.get(session, revision.id).auto_activate = False
    session.commit()
    app.state.jobs.drain()
    outcomes: dict[int, str] = {}

    def work(k: int) -> None:
        with Session(app.state.engine) as own:
            target = (first, second)[k].id
            try:
                pools.activate(own, revision_id=target, base_revision_id=base, now=clock())
                outcomes[k] = "won"
            except pools.StaleRevision:
                outcomes[k] = "told"

    assert race(work, 2) == []
    assert sorted(outcomes.values()) == ["told", "won"]
    winner = (first, second)[next(k for k, v in outcomes.items() if v == "won")]
    session.expire_all()
    assert pools.active_id(session, track="CAWM") == winner.id


def test_a_derivation_that_runs_twice_keeps_the_first_result(app, session, clock):
    revision = _new_revision(app, session, clock)
    app.state.jobs.drain()
    session.expire_all()
    stored = pools.get(session, revision.id).exposure
    assert not pools.set_exposure(
        session, revision_id=revision.id, exposure={"sh_exposure": []}, target=0.5, report={},
        now=clock(),
    )  # fmt: skip
    report = exposure.derive(session, revision_id=revision.id, settings=app.state.settings,
                             now=clock())  # fmt: skip
    session.commit()
    session.expire_all()
    assert pools.get(session, revision.id).exposure == stored and report["activated"] is False


def test_a_cancelled_derivation_leaves_the_pool_unchanged(app, session, clock):
    before = pools.active_id(session, track="CAWM")
    revision = _new_revision(app, session, clock)
    job = jobs.find(session, pools.derivation_key(revision.id))
    jobs.cancel(session, job.id, at=clock())
    session.commit()
    app.state.jobs.drain()
    session.expire_all()
    assert session.get(Job, job.id).status == "cancelled"
    assert pools.get(session, revision.id).exposure is None
    assert pools.active_id(session, track="CAWM") == before


def test_activation_is_audited_with_the_administrator(app, session, clock):
    from app.core.models import AuditEntry

    admin = make_admin(session)
    old = pools.active_id(session, track="CAWM")
    revision = _new_revision(app, session, clock)
    pools.get(session, revision.id).auto_activate = False
    session.commit()
    app.state.jobs.drain()
    pools.activate(session, revision_id=revision.id, base_revision_id=old, now=clock(),
                   actor_id=admin.id)  # fmt: skip
    entry = session.exec(
        select(AuditEntry).where(AuditEntry.action == "itembank.pool_activated")
        .order_by(AuditEntry.id.desc())
    ).first()  # fmt: skip
    assert entry.actor_id == admin.id and entry.subject == f"pool_revision:{revision.id}"
    assert json.loads(entry.data) == {"track": "CAWM", "previous": old}


def test_withdrawn_items_are_left_out_of_what_a_revision_delivers(app, session, clock):
    from app.itembank import withdrawal

    revision = pools.derived(session, pools.active_id(session, track="CAWM"))
    code = session.get(Item, revision.items[0]["item"]).code
    admin = make_admin(session)
    withdrawal.withdraw_item(session, code=code, reason="key wrong", actor_id=admin.id,
                             now=clock())  # fmt: skip
    session.commit()
    kept = pools.deliverable(session, revision)
    assert len(kept) == len(revision.items) - 1
    assert revision.items[0]["item"] not in {p["item"] for p in kept}
    assert session.get(ItemVersion, revision.items[0]["id"]) is not None


def test_a_derivation_stops_with_its_server_and_runs_again_later(app, session, clock):
    """A server shutting down stops a running derivation at its next simulated candidate
    (jobs.Context.check), not at the end of an iteration: the job goes back to the queue
    without counting the try, and the revision is left underived (CI once saw `wmi serve` take
    over 10 s to exit while a derivation ran)."""
    import threading

    settings = app.state.settings.model_copy(update={"exposure_examinees": 5000})
    revision = _new_revision(app, session, clock)
    run = jobs.Runner(app.state.engine, settings=settings, clock=clock, poll_seconds=0.05)
    run.start(threads=1)
    threads, waiting = list(run._threads), threading.Event()
    for _ in range(600):  # until the derivation has reported progress once
        session.expire_all()
        job = jobs.find(session, pools.derivation_key(revision.id))
        if job.status == "running" and job.progress_note:
            break
        waiting.wait(0.05)
    run.stop(timeout=60)
    assert not any(t.is_alive() for t in threads)
    session.expire_all()
    job = jobs.find(session, pools.derivation_key(revision.id))
    assert (job.status, job.tries) == ("queued", 0), job.last_error
    assert "will run again" in job.last_error
    assert pools.get(session, revision.id).exposure is None
