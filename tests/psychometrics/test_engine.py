"""The CAT session API: serialisation, resume determinism, pretest handling, stop reasons."""

import json
from dataclasses import replace

import numpy as np
import pytest

from app.psychometrics import engine, irt
from app.psychometrics.engine import AttemptState, CatPolicy, StopReason


def _answer(pool, item_id, theta, rng):
    j = pool.index[item_id]
    p = irt.probability(theta, pool.a[j : j + 1], pool.b[j : j + 1], pool.c[j : j + 1])[0]
    return bool(rng.random() < p)


def _run(policy, pool, seed, theta, rng, state=None, stop_after=None):
    state = state or engine.start_attempt(policy, pool, seed)
    steps = 0
    while not (decision := engine.stop_decision(state, policy)).stop:
        if stop_after is not None and steps == stop_after:
            return state, None
        item = engine.select_next(state, policy, pool)
        if item is None:
            decision = engine.StopDecision(True, StopReason.BANK_EXHAUSTED)
            break
        state = engine.record_response(state, item, _answer(pool, item, theta, rng), policy, pool)
        steps += 1
    return state, decision


def test_state_round_trips_through_json(pool_with_pretest, policy, rng):
    state, _ = _run(policy, pool_with_pretest, 5, 0.3, rng, stop_after=8)
    data = json.loads(json.dumps(state.to_dict()))
    back = AttemptState.from_dict(data)
    assert back.to_dict() == state.to_dict()
    np.testing.assert_array_equal(back.log_post, state.log_post)


def test_version_1_state_still_reads(pool_with_pretest, policy, rng):
    """Attempts in progress across the upgrade that changed log_post's encoding resume exactly."""
    state, _ = _run(policy, pool_with_pretest, 5, 0.3, rng, stop_after=8)
    old = {k: v for k, v in state.to_dict().items() if k != "log_post_f64"}
    old.update(version=1, log_post=[float(x) for x in state.log_post])
    back = AttemptState.from_dict(json.loads(json.dumps(old)))
    np.testing.assert_array_equal(back.log_post, state.log_post)
    assert back.to_dict() == state.to_dict()
    assert engine.select_next(back, policy, pool_with_pretest) == engine.select_next(
        state, policy, pool_with_pretest
    )


def test_from_dict_rejects_a_damaged_log_post(pool_with_pretest, policy):
    data = engine.start_attempt(policy, pool_with_pretest, 1).to_dict()
    data["log_post_f64"] = data["log_post_f64"][:-4]
    with pytest.raises(ValueError):
        AttemptState.from_dict(data)


def test_from_dict_rejects_unknown_version(pool_with_pretest, policy):
    data = engine.start_attempt(policy, pool_with_pretest, 1).to_dict()
    data["version"] = 99
    with pytest.raises(ValueError):
        AttemptState.from_dict(data)


def test_resumed_attempt_picks_same_items_and_result(pool_with_pretest, policy):
    first, _ = _run(policy, pool_with_pretest, 42, 0.2, np.random.default_rng(1), stop_after=12)
    resumed = AttemptState.from_dict(json.loads(json.dumps(first.to_dict())))
    assert engine.select_next(resumed, policy, pool_with_pretest) == engine.select_next(
        first, policy, pool_with_pretest
    )
    end_a, dec_a = _run(policy, pool_with_pretest, 42, 0.2, np.random.default_rng(2), first)
    end_b, dec_b = _run(policy, pool_with_pretest, 42, 0.2, np.random.default_rng(2), resumed)
    assert end_a.item_ids == end_b.item_ids and dec_a == dec_b
    res_a = engine.finalize(end_a, policy, pool_with_pretest, dec_a.reason)
    res_b = engine.finalize(end_b, policy, pool_with_pretest, dec_b.reason)
    assert res_a == res_b


def test_finalize_equals_scoring_from_scratch(pool_with_pretest, policy, rng):
    state, decision = _run(policy, pool_with_pretest, 7, -0.4, rng)
    live = engine.finalize(state, policy, pool_with_pretest, decision.reason)
    pairs = list(zip(state.item_ids, state.responses, strict=True))
    again = engine.score_responses(pairs, policy, pool_with_pretest, decision.reason)
    assert again.theta == pytest.approx(live.theta, abs=1e-12)
    assert again.se == pytest.approx(live.se, abs=1e-12)
    assert (again.passed, again.scaled_score, again.domains) == (
        live.passed,
        live.scaled_score,
        live.domains,
    )
    json.dumps(live.to_dict())


def test_pretest_items_are_delivered_in_slots_and_never_scored(pool_with_pretest, policy, rng):
    state, decision = _run(policy, pool_with_pretest, 3, 0.0, rng)
    pre = [
        k
        for k, i in enumerate(state.item_ids)
        if pool_with_pretest.is_pretest[pool_with_pretest.index[i]]
    ]
    assert pre == list(state.pretest_slots) and len(pre) == 5
    result = engine.finalize(state, policy, pool_with_pretest, decision.reason)
    assert result.n_pretest == 5 and result.n_scored == len(state.item_ids) - 5
    flipped = [
        (i, (not r) if k in pre else r)
        for k, (i, r) in enumerate(zip(state.item_ids, state.responses, strict=True))
    ]
    rescored = engine.score_responses(flipped, policy, pool_with_pretest)
    assert rescored.theta == pytest.approx(result.theta, abs=1e-12)


def test_pretest_slots_differ_between_attempts_and_fit_before_min_length(pool_with_pretest, policy):
    slots = {engine.start_attempt(policy, pool_with_pretest, s).pretest_slots for s in range(30)}
    assert len(slots) > 20
    for s in slots:
        assert all(1 <= p < policy.min_items + policy.pretest_count - 1 for p in s)


def test_length_limits_and_stop_reasons(pool_with_pretest, policy):
    reasons = set()
    for seed, theta in enumerate([-3.0, -1.5, 0.0, 0.05, 1.5, 3.0]):
        state, decision = _run(policy, pool_with_pretest, seed, theta, np.random.default_rng(seed))
        assert policy.min_items <= state.n_scored <= policy.max_items
        reasons.add(decision.reason)
    assert StopReason.CI_BELOW_CUT in reasons and StopReason.CI_ABOVE_CUT in reasons


def test_time_expiry_and_se_target(pool_with_pretest, policy):
    state = engine.start_attempt(policy, pool_with_pretest, 1)
    assert engine.stop_decision(state, policy, time_expired=True) == (True, "time_expired")
    se_policy = CatPolicy(min_items=5, max_items=60, ci_rule=False, se_target=0.45)
    state, decision = _run(se_policy, pool_with_pretest, 2, 0.0, np.random.default_rng(0))
    assert decision.reason == StopReason.SE_TARGET
    assert engine.finalize(state, se_policy, pool_with_pretest, decision.reason).se <= 0.45


def test_bank_exhausted_and_exclusions():
    pool = engine.ItemPool.from_lists(
        ["X1", "X2", "X3", "X4"],
        [1.0] * 4,
        [-1, 0, 1, 2],
        [0.2] * 4,
        ["A"] * 4,
        eligible=[True, True, True, False],
    )
    policy = CatPolicy(min_items=1, max_items=10, ci_rule=False)
    state = engine.start_attempt(policy, pool, 9, excluded_ids=["X2"])
    seen = []
    while (item := engine.select_next(state, policy, pool)) is not None:
        seen.append(item)
        state = engine.record_response(state, item, True, policy, pool)
    assert sorted(seen) == ["X1", "X3"]
    with pytest.raises(ValueError):
        engine.record_response(state, "X1", True, policy, pool)


def test_blueprint_limits_hold_in_every_attempt(bank300, rng):
    weights = {"A": 0.15, "B": 0.20, "C": 0.15, "D": 0.20, "E": 0.15, "F": 0.15}
    policy = CatPolicy(min_items=20, max_items=40, blueprint=weights)
    for seed in range(10):
        state, _ = _run(policy, bank300, seed, float(rng.normal()), rng)
        counts = {d: 0 for d in weights}
        for i in state.item_ids:
            counts[bank300.domain[bank300.index[i]]] += 1
        for d, w in weights.items():
            assert int(np.floor(w * 20 + 1e-9)) <= counts[d] <= int(np.ceil(w * 40 - 1e-9))


def test_pool_memo_stays_bounded(pool_with_pretest):
    for k in range(100):
        exposure = {"OP-000": 0.5}
        policy = CatPolicy(min_items=5, max_items=10, cut_theta=k / 100, sh_exposure=exposure)
        state = engine.start_attempt(policy, pool_with_pretest, k)
        engine.select_next(state, policy, pool_with_pretest)
    assert len(pool_with_pretest._cache["policy"]) == 32
    assert len(pool_with_pretest._cache["sh_u"]) == 100


def test_equal_policies_share_the_pool_memo():
    """The per-(pool, policy) arrays are keyed by the policy's value: a caller that builds a new
    but equal policy for every attempt (the exam service does) builds them once."""
    ids = [f"I{i}" for i in range(40)]
    pool = engine.ItemPool.from_lists(
        ids, [1.0] * 40, np.linspace(-2, 2, 40), [0.0] * 40, ["A", "B"] * 20
    )
    for k in range(40):
        policy = CatPolicy(min_items=5, max_items=10, blueprint={"A": 0.5, "B": 0.5})
        engine.select_next(engine.start_attempt(policy, pool, k), policy, pool)
    assert len(pool._cache["policy"]) == 1
    other = CatPolicy(min_items=5, max_items=11, blueprint={"A": 0.5, "B": 0.5})
    assert hash(other) != hash(policy) and other != policy


def test_pool_memo_is_safe_under_concurrent_threads(bank300):
    """Server worker threads share one pool: selecting while others add and evict memo
    entries must never fail (it raised 'dictionary keys changed during iteration')."""
    from tests.racing import race

    def work(offset: int) -> None:
        for k in range(150):  # fresh policies and seeds force eviction on every call
            policy = CatPolicy(min_items=5, max_items=10)
            state = engine.start_attempt(policy, bank300, offset * 1000 + k)
            engine.select_next(state, policy, bank300)

    errors = race(work, 8)
    assert errors == []
    assert len(bank300._cache["policy"]) <= 32


def test_policy_round_trips_through_json(policy):
    with_sh = replace(policy, sh_exposure={"OP-001": 0.4})
    staged = replace(policy, a_strata=3, strata_at=(5, 15), select_at_cut=True)
    for p in (policy, with_sh, staged):
        back = CatPolicy.from_dict(json.loads(json.dumps(p.to_dict())))
        assert back == p


def test_opening_randomesque_applies_to_the_first_items_only(bank300):
    policy = CatPolicy(min_items=5, max_items=10, opening_k=20, opening_items=1)
    firsts = {engine.select_next(engine.start_attempt(policy, bank300, s), policy, bank300)
              for s in range(40)}  # fmt: skip
    assert len(firsts) > 5
    plain = CatPolicy(min_items=5, max_items=10)
    state = engine.start_attempt(plain, bank300, 0)
    state = engine.record_response(state, "SIM-A-0000", True, plain, bank300)
    seconds = set()
    for s in range(10):
        opened = engine.start_attempt(policy, bank300, s)
        opened = engine.record_response(opened, "SIM-A-0000", True, policy, bank300)
        seconds.add(engine.select_next(opened, policy, bank300))
    assert seconds == {engine.select_next(state, plain, bank300)}


def test_strata_need_one_start_per_later_stratum():
    with pytest.raises(ValueError):
        CatPolicy(a_strata=2)
    with pytest.raises(ValueError):
        CatPolicy(a_strata=3, strata_at=(20, 10))
    assert CatPolicy().a_strata == 1 and not CatPolicy().select_at_cut  # delivery defaults


def test_a_stratification_keeps_high_a_items_for_the_later_stage(bank300):
    policy = CatPolicy(min_items=20, max_items=20, a_strata=2, strata_at=(8,), ci_rule=False)
    median_a = np.median(bank300.a)
    for seed in range(3):
        state, _ = _run(policy, bank300, seed, 0.3, np.random.default_rng(seed))
        a = bank300.a[[bank300.index[i] for i in state.item_ids]]
        assert (a[:8] <= median_a).all() and (a[8:] > median_a).all()
    plain, _ = _run(replace(policy, a_strata=1, strata_at=()), bank300, 0, 0.3,
                    np.random.default_rng(0))  # fmt: skip
    assert (bank300.a[[bank300.index[i] for i in plain.item_ids[:8]]] > median_a).any()


def test_select_at_cut_ranks_by_information_at_the_cut_while_the_interval_holds_it(bank300):
    at_cut = CatPolicy(min_items=5, max_items=30, cut_theta=0.5, select_at_cut=True)
    plain = replace(at_cut, select_at_cut=False)
    info_cut = irt.information(0.5, bank300.a, bank300.b, bank300.c)
    state = engine.start_attempt(at_cut, bank300, 1)
    for item, correct in (("SIM-A-0000", True), ("SIM-B-0050", False)):
        state = engine.record_response(state, item, correct, at_cut, bank300)
    est = engine.current_estimate(state, at_cut)
    assert abs(est.theta - 0.5) < 1.96 * est.se
    seen = [bank300.index[i] for i in state.item_ids]
    best = int(np.argmax(np.where(np.isin(np.arange(300), seen), -1, info_cut)))
    assert engine.select_next(state, at_cut, bank300) == bank300.ids[best]
    assert engine.select_next(state, plain, bank300) != bank300.ids[best]
