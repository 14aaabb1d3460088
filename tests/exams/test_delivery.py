"""Delivery: the clock, expiry, integrity of answers, resume, a full attempt and its result."""

import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.core.clock import as_utc
from app.core.models import AuditEntry
from app.exams import eligibility, exposure, store
from app.exams import engine_bridge as bridge
from app.exams import service as exams
from app.exams.errors import AttemptClosed, StaleItem
from app.exams.models import ExamAttempt, ExamResponse
from app.exams.ports import Ports
from app.itembank.models import ItemVersion
from app.psychometrics import engine
from tests.factories import exams as fx
from tests.factories.accounts import make_user


def present(session, user, clock, attempt_id):
    return exams.present(session=session, user_id=user.id, attempt_id=attempt_id, now=clock())


def submit(session, user, clock, attempt_id, position, token, answer):
    return exams.submit_answer(
        session, exams.Answer(user.id, attempt_id, position, token, answer), now=clock()
    )


def test_deadline_is_limit_times_accommodation_factor(session, clock):
    user, admin = make_user(session), fx.make_admin(session)
    eligibility.grant_accommodation(
        session=session,
        actor=admin,
        user_id=user.id,
        factor=1.5,
        reason="dyslexia report",
        now=clock(),
    )
    attempt = fx.start(session, user, clock)
    assert as_utc(attempt.deadline_at) - as_utc(attempt.started_at) == timedelta(minutes=135)
    assert attempt.time_factor == 1.5
    clock.advance(minutes=100)  # past the standard 90 minutes: still open, nothing cut short
    v = present(session, user, clock, attempt.id)
    assert v.attempt.status == "open" and v.seconds_left == 35 * 60


def test_warnings_at_10_5_and_1_minutes(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    seen = {}
    for minutes_left in (11, 10, 5, 1):
        clock.now = as_utc(attempt.deadline_at) - timedelta(minutes=minutes_left)
        seen[minutes_left] = present(session, user, clock, attempt.id).warning
    assert seen == {
        11: None,
        10: "Less than 10 minutes left.",
        5: "Less than 5 minutes left.",
        1: "Less than 1 minute left.",
    }


def test_expiry_on_request_scores_what_was_answered(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    for _ in range(4):
        fx.answer(session, user, clock, attempt.id, correct=True)
    v = present(session, user, clock, attempt.id)
    clock.now = as_utc(attempt.deadline_at)
    with pytest.raises(AttemptClosed, match="time ran out"):
        submit(session, user, clock, attempt.id, v.item.position, v.item.token, ["A"])
    session.refresh(attempt)
    assert attempt.status == "expired" and attempt.end_reason == "time_expired"
    assert attempt.step == 4 and attempt.open_slot is None
    assert attempt.result["n_scored"] + attempt.result["n_pretest"] == 4
    assert len(exams.responses_of(session, attempt.id)) == 4


def test_expiry_by_sweep(session, clock):
    user = make_user(session)
    late, early = fx.start(session, user, clock), None
    other = make_user(session)
    clock.advance(minutes=30)
    early = fx.start(session, other, clock)
    fx.answer(session, user, clock, late.id, correct=False)
    clock.now = as_utc(late.deadline_at) + timedelta(seconds=1)
    assert exams.expire_overdue(session=session, now=clock()) == 1
    assert exams.expire_overdue(session=session, now=clock()) == 0
    session.refresh(late)
    session.refresh(early)
    assert late.status == "expired" and late.result["n_scored"] + late.result["n_pretest"] == 1
    assert early.status == "open"
    actions = session.exec(
        select(AuditEntry.action).where(AuditEntry.subject == f"attempt:{late.id}")
    ).all()
    assert Counter(actions) == {"exam.start": 1, "exam.answer": 1, "exam.expire": 1}


def test_stale_answer_is_refused_with_the_current_item(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    first = present(session, user, clock, attempt.id).item
    submit(
        session,
        user,
        clock,
        attempt.id,
        first.position,
        first.token,
        fx.key_of(session, attempt.id),
    )
    second = present(session, user, clock, attempt.id).item
    with pytest.raises(StaleItem) as err:
        submit(session, user, clock, attempt.id, first.position, first.token, ["B"])
    assert err.value.status_code == 409
    assert err.value.extra["current"]["position"] == second.position == 2
    assert err.value.extra["current"]["token"] == second.token
    with pytest.raises(StaleItem):  # a made-up token for the current position
        submit(session, user, clock, attempt.id, 2, "not-the-token", ["A"])
    assert len(exams.responses_of(session, attempt.id)) == 1


def test_repeated_identical_submission_returns_the_same_outcome(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    item = present(session, user, clock, attempt.id).item
    letters = fx.key_of(session, attempt.id)
    first = submit(session, user, clock, attempt.id, item.position, item.token, letters)
    again = submit(session, user, clock, attempt.id, item.position, item.token, letters)
    assert (first.accepted, first.duplicate) == (True, False)
    assert (again.accepted, again.duplicate) == (False, True)
    assert again.position == first.position and again.attempt.step == first.attempt.step == 1
    assert len(exams.responses_of(session, attempt.id)) == 1


def test_two_concurrent_submissions_record_one_response(session, clock, app):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    item = present(session, user, clock, attempt.id).item
    right, wrong = fx.key_of(session, attempt.id), fx.wrong_answer(session, attempt.id)
    barrier, outcomes = threading.Barrier(2), []

    def tab(letters):
        with Session(app.state.engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                o = submit(s, user, clock, attempt.id, item.position, item.token, letters)
                outcomes.append(("ok", o.accepted))
            except StaleItem:
                outcomes.append(("stale", None))

    threads = [threading.Thread(target=tab, args=(x,)) for x in (right, wrong)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == [("ok", True), ("stale", None)]
    rows = exams.responses_of(session, attempt.id)
    assert len(rows) == 1
    session.refresh(attempt)
    assert attempt.step == 1 and len(attempt.state["item_ids"]) == 1


def test_resume_shows_the_same_pending_item_with_the_server_clock(session, clock, app):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    fx.answer(session, user, clock, attempt.id, correct=True)
    clock.advance(minutes=3)
    before = present(session, user, clock, attempt.id)
    clock.advance(minutes=7)  # the candidate's browser crashed; they come back later
    with Session(app.state.engine) as fresh:
        after = present(fresh, user, clock, attempt.id)
    assert after.item == before.item
    assert after.seconds_left == before.seconds_left - 7 * 60
    row = session.get(ExamAttempt, attempt.id, populate_existing=True)
    assert as_utc(row.pending_presented_at) == as_utc(clock()) - timedelta(minutes=7)


def test_no_attempt_on_the_shipped_banks_ends_before_its_stopping_rule(session, clock):
    """Every attempt, whatever its seed, stops by its rule (CI or max_items), never because no
    item kept the constraints: before pretest draws respected the fact limit's look-ahead,
    5 of these 120 CAWM seeds ended 'bank_exhausted' after 12 to 26 items."""
    parts = exposure.start_parts(session, track="CAWM", now=clock())
    pool, policy = bridge.item_pool(parts.items), parts.cat_policy
    reasons = Counter()
    for seed in range(120):
        rng = random.Random(seed)
        state = engine.start_attempt(policy, pool, seed)
        while (item := engine.select_next(state, policy, pool)) is not None:
            state = engine.record_response(state, item, rng.random() < 0.55, policy, pool)
        decision = engine.stop_decision(state, policy)
        reasons[str(decision.reason) if decision.stop else "bank_exhausted"] += 1
    assert set(reasons) <= {"ci_above_cut", "ci_below_cut", "max_items"}, reasons


def test_full_attempt_stops_balances_content_and_scores_like_the_engine(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock, track="CAWM")
    n = fx.run_to_end(session, user, clock, attempt.id, p_correct=0.55, seed=3)
    attempt = session.get(ExamAttempt, attempt.id, populate_existing=True)
    exam = attempt.policy["exam"]
    assert attempt.status == "finished"
    assert attempt.end_reason in {"ci_above_cut", "ci_below_cut", "max_items"}
    n_scored, n_pre = attempt.result["n_scored"], attempt.result["n_pretest"]
    assert exam["min_items"] <= n_scored <= exam["max_items"]
    assert n_pre == exam["pretest_items"] and n == n_scored + n_pre
    rows = exams.responses_of(session, attempt.id)
    assert [r.position for r in rows] == list(range(1, n + 1))
    # content balancing: every blueprint domain is represented near its weight
    by_id = {p["id"]: p for p in bridge.pool_items(session, attempt.id)}
    scored = [
        by_id[r.item_version_id]["domain"] for r in rows if not by_id[r.item_version_id]["pretest"]
    ]
    counts = Counter(scored)
    for d in attempt.policy["blueprint"]:
        assert abs(counts[str(d["code"])] - d["weight"] * n_scored) <= 2, (d, counts)
    # the stored result is the engine's score of the recorded responses
    frozen = bridge.thaw(session, attempt.id, attempt.state)
    expected = engine.score_responses(
        [(str(r.item_version_id), r.correct) for r in rows],
        frozen.policy,
        frozen.pool,
        attempt.end_reason,
    ).to_dict()
    assert attempt.result == expected  # floats round-trip exactly through JSON
    assert attempt.scaled_score == expected["scaled_score"]
    assert attempt.passed == expected["passed"]
    # every delivered version is marked as delivered (it may never be edited again)
    delivered = session.exec(
        select(ItemVersion).where(ItemVersion.id.in_([r.item_version_id for r in rows]))
    ).all()
    assert all(v.first_delivered_at is not None for v in delivered)
    # presented before answered, timestamps recorded
    assert all(as_utc(r.presented_at) <= as_utc(r.answered_at) for r in rows)
    actions = Counter(
        session.exec(select(AuditEntry.action).where(AuditEntry.subject == f"attempt:{attempt.id}"))
    )
    assert actions == {"exam.start": 1, "exam.answer": n, "exam.finish": 1}


def test_answers_after_the_end_change_nothing(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    fx.run_to_end(session, user, clock, attempt.id, p_correct=1.0)
    last = exams.responses_of(session, attempt.id)[-1]
    with pytest.raises(AttemptClosed):
        submit(session, user, clock, attempt.id, last.position + 1, "x", ["A"])
    again = submit(session, user, clock, attempt.id, last.position, last.token, last.answer)
    assert again.duplicate and not again.accepted


def test_one_user_cannot_reach_another_users_attempt(session, clock):
    from app.core.errors import NotFound

    owner, other = make_user(session), make_user(session)
    attempt = fx.start(session, owner, clock)
    with pytest.raises(NotFound):
        present(session, other, clock, attempt.id)
    with pytest.raises(NotFound):
        submit(session, other, clock, attempt.id, 1, "x", ["A"])


def test_on_exam_passed_is_called_after_a_pass(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    calls = []

    def hook(s, attempt_id):
        row = s.get(ExamAttempt, attempt_id)
        calls.append((attempt_id, row.status, row.passed))

    while True:
        v = exams.present(session=session, user_id=user.id, attempt_id=attempt.id, now=clock())
        if v.item is None:
            break
        exams.submit_answer(
            session,
            exams.Answer(
                user.id, attempt.id, v.item.position, v.item.token, fx.key_of(session, attempt.id)
            ),
            now=clock(),
            ports=Ports(on_exam_passed=hook),
        )
    assert calls == [(attempt.id, "finished", True)]


def test_response_log_unique_per_position(session, clock):
    from sqlalchemy.exc import IntegrityError

    user = make_user(session)
    attempt = fx.start(session, user, clock)
    fx.answer(session, user, clock, attempt.id, correct=True)
    r = exams.responses_of(session, attempt.id)[0]
    session.add(
        ExamResponse(
            attempt_id=r.attempt_id,
            position=r.position,
            item_version_id=r.item_version_id,
            token="dup",
            answer=["A"],
            correct=False,
            presented_at=r.presented_at,
            answered_at=r.answered_at,
        )
    )
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_answer_before_the_next_item_was_shown_gets_it_in_the_409(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    fx.answer(session, user, clock, attempt.id, correct=True)  # item 2 not presented yet
    with pytest.raises(StaleItem) as err:
        submit(session, user, clock, attempt.id, 2, "guessed", ["A"])
    current = err.value.extra["current"]
    assert current["position"] == 2
    assert present(session, user, clock, attempt.id).item.token == current["token"]


def test_an_attempt_moved_on_elsewhere_is_never_answered_from_this_process_memory(app, clock):
    """The answer path remembers each attempt it served; when another session or process moves
    the attempt on (here the sweep expires it, then another worker's answer is simulated), the
    conditional write refuses the stale picture and the answer is judged on the database."""
    from app.exams import closing

    engine_ = app.state.engine
    with Session(engine_, expire_on_commit=False) as s:
        user = make_user(s)
        attempt = fx.start(s, user, clock)
        fx.answer(s, user, clock, attempt.id, correct=True)  # this process now remembers it
        v = present(s, user, clock, attempt.id)
    with Session(engine_) as other:  # another worker answers the pending item first
        exams.submit_answer(
            other,
            exams.Answer(
                user.id, attempt.id, v.item.position, v.item.token, fx.key_of(other, attempt.id)
            ),
            now=clock(),
        )
    store._RECENT.clear()  # ...in another process: this one never saw that answer
    with Session(engine_, expire_on_commit=False) as s:
        fx.answer(s, user, clock, attempt.id, correct=True)  # remembers step 3 and its item
        v = present(s, user, clock, attempt.id)
    with Session(engine_) as sweep:  # the sweep expires it behind the cache's back
        clock.advance(hours=3)
        assert closing.expire_overdue(session=sweep, now=clock()) == 1
    clock.advance(minutes=-170)  # back before the deadline: only the database knows it ended
    with Session(engine_, expire_on_commit=False) as s, pytest.raises(AttemptClosed):
        submit(s, user, clock, attempt.id, v.item.position, v.item.token, ["A"])
    with Session(engine_) as s:
        rows = exams.responses_of(s, attempt.id)
        row = s.get(ExamAttempt, attempt.id)
    assert [r.position for r in rows] == [1, 2, 3] and row.status == "expired" and row.step == 3


def test_attempts_under_one_policy_share_the_engine_arrays(session, clock):
    """Forty attempts on one bank state share one ItemPool (the first start's pool too, once
    committed) and the engine's arrays for their equal policies are built once (more than the
    memo's 32 entries would otherwise churn); a start leaves its frozen parts cached."""
    users = [make_user(session) for _ in range(40)]
    attempts = [fx.start(session, u, clock) for u in users]
    parts = [bridge.frozen_parts(session, a.id) for a in attempts]
    assert len({id(pool) for _, pool in parts}) == 1
    for user, attempt in zip(users, attempts, strict=True):
        fx.answer(session, user, clock, attempt.id, correct=True)
    assert len(parts[0][1]._cache["policy"]) == 1


def test_a_start_and_an_answer_stamping_the_same_item_do_not_deadlock(session, clock, app):
    """Every transaction stamps an item's first delivery before it appends to the audit chain.
    A start used to append first and stamp its first item after; an answer stamps its next
    item, then appends. When both stamped the same new item at once, each waited for the
    other (PostgreSQL aborted one: "deadlock detected"; CI's kill -9 test, 2026-12-07). Here
    an answer's transaction holds the stamp of a start's first item while the start runs; the
    answer appends only once the start waits on a lock, and both must commit."""
    from sqlalchemy import text, update

    from app.core import audit, db
    from app.itembank import service as itembank

    probe = fx.start(session, make_user(session), clock, seed=5)
    first = probe.pending_item_id
    session.exec(update(ItemVersion).where(ItemVersion.id == first).values(first_delivered_at=None))
    session.commit()
    itembank._MARKED.clear()  # this process would otherwise skip a stamp it has committed
    other = make_user(session)
    stamped, done, errors = threading.Event(), [], []
    postgres = app.state.engine.dialect.name == "postgresql"

    def waiting_on_a_lock(s) -> bool:  # the start is blocked (on our stamp, or on SQLite's lock)
        if not postgres:
            return True
        sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        return bool(s.connection().execute(text(sql)).scalar())

    def answer():
        try:
            with Session(app.state.engine) as s:
                itembank.mark_delivered(s, first, clock())  # the stamp, not committed yet
                stamped.set()
                with Session(app.state.engine) as watch:
                    for _ in range(200):
                        if waiting_on_a_lock(watch):
                            break
                        threading.Event().wait(0.05)
                audit.record(s, action="test.answer", at=clock(), actor_id=None, subject="x")
                db.commit(s)
                done.append("answer")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    def start():
        stamped.wait(30)
        try:
            with Session(app.state.engine, expire_on_commit=False) as s:
                fx.start(s, other, clock, seed=5)
                done.append("start")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=f) for f in (answer, start)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(done) == ["answer", "start"]
    assert (
        session.exec(select(ExamAttempt).where(ExamAttempt.user_id == other.id))
        .one()
        .pending_item_id
        == first
    )  # the same first item: the two did stamp the same row
