"""Enemy items in delivery, and pool/policy problems reported by the loaders (never to a
candidate)."""

import copy

from sqlmodel import select

from app.courses import service as courses
from app.exams import engine_bridge
from app.exams.models import ExamAttempt
from tests.factories import exams as fx
from tests.factories.accounts import make_user


def test_the_live_pools_serve_their_policies_and_a_short_pool_is_reported(session):
    track = courses.get_track(session, "CAWM")
    assert engine_bridge.pool_problems(session, track="CAWM", policy=track.policy) == []
    greedy = copy.deepcopy(track.policy)
    greedy["exam"]["max_items"] = 900
    problems = engine_bridge.pool_problems(session, track="CAWM", policy=greedy)
    assert any(p.startswith("the pool can supply ") and "max_items is 900" in p for p in problems)


def test_an_attempt_meets_one_item_per_fact(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock, track="CAWM")
    fx.run_to_end(session, user, clock, attempt.id, p_correct=0.6, seed=3)
    row = session.exec(select(ExamAttempt).where(ExamAttempt.id == attempt.id)).one()
    assert row.policy["engine"]["fact_limit"] == 1
    facts = {str(p["id"]): p["fact"] for p in engine_bridge.pool_items(session, attempt.id)}
    given = [facts[str(i)] for i in row.state["item_ids"]]
    assert len(given) >= 30 and len(set(given)) == len(given)
