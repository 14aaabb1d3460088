"""S-X2 (app/psychops/itemfit.py) against independent references: every response pattern
of a small fixed form enumerated, a posterior computed directly on the grid, a statistic
worked by hand, and simulated data where the model is true (p-values about uniform) or false
(flagged), on a random-subset design and on the engine's adaptive test."""

import itertools

import numpy as np
import pytest

from app.psychometrics import engine, irt, simulation
from app.psychops import itemfit


def _form(n_items=6, seed=1):
    rng = np.random.default_rng(seed)
    a, b, c = (
        rng.uniform(0.6, 2.0, n_items),
        rng.normal(0, 1, n_items),
        rng.uniform(0, 0.25, n_items),
    )
    return irt.probability(itemfit.QUADRATURE, a, b, c)  # (Q, I)


def test_expected_given_the_summed_score_equals_enumerating_every_pattern():
    grid_p, w = _form(), itemfit.population_weights()
    n_items = grid_p.shape[1]
    patterns = np.array(list(itertools.product([0, 1], repeat=n_items)))
    likelihood = np.prod(np.where(patterns[:, None, :] == 1, grid_p, 1 - grid_p), axis=2) @ w
    k = len(patterns)
    offsets, items = np.arange(k + 1) * n_items, np.tile(np.arange(n_items), k)
    e = itemfit.expected(grid_p, offsets, items, patterns.ravel(), np.ones(k * n_items, bool))
    e = e.reshape(k, n_items)
    for s in range(n_items + 1):
        same = patterns.sum(axis=1) == s
        reference = (patterns[same] * likelihood[same, None]).sum(0) / likelihood[same].sum()
        assert np.allclose(e[same], reference, atol=1e-12)
    # the last item unscored (a pretest item): fitted on the test joined by it, the same value
    scored = np.tile(np.arange(n_items) < n_items - 1, k)
    e2 = itemfit.expected(grid_p, offsets, items, patterns.ravel(), scored).reshape(k, n_items)
    assert np.allclose(e2[:, -1], e[:, -1], atol=1e-12)


def test_sequential_expectation_is_the_posterior_mean_given_the_earlier_answers():
    grid_p, w = _form(5, seed=3), itemfit.population_weights()
    rng = np.random.default_rng(0)
    u = rng.integers(0, 2, 5)
    scored = np.array([True, False, True, True, True])  # the second item is a pretest item
    e = itemfit.sequential(grid_p, np.array([0, 5]), np.arange(5), u, scored, summed=False)
    for r in range(5):
        before = [j for j in range(r) if scored[j]]
        post = w * np.prod([grid_p[:, j] if u[j] else 1 - grid_p[:, j] for j in before], axis=0)
        assert e[r] == pytest.approx((post * grid_p[:, r]).sum() / post.sum(), abs=1e-12)


def test_the_statistic_by_hand():
    # two groups of four: E = 0.5 with 3 correct, E = 0.9 with 2 correct
    u = np.array([1, 0, 1, 1, 0, 0, 1, 1])
    e = np.array([0.5] * 4 + [0.9] * 4)
    fit = itemfit.s_x2(u, e, min_expected=0)
    by_hand = 4 * 0.25**2 / 0.25 + 4 * 0.4**2 / (0.9 * 0.1)  # 1 + 7.111
    assert fit.statistic == pytest.approx(by_hand) and fit.df == 2
    assert fit.p_value == pytest.approx(np.exp(-by_hand / 2))  # chi2(2) survival function
    assert itemfit.s_x2(u, e, estimated=2, min_expected=0).p_value is None  # df 0
    merged = itemfit.s_x2(u, e)  # 4 x 0.1 = 0.4 expected wrong < 5: one group
    assert merged.groups == 1 and merged.df == 1


def _p_values(items, u, e, n_items, minimum=100):
    out = {}
    for j in range(n_items):
        mine = items == j
        if mine.sum() >= minimum:
            out[j] = itemfit.s_x2(u[mine], e[mine]).p_value
    return out


def test_random_forms_model_true_items_fit_and_random_answers_do_not():
    rng = np.random.default_rng(11)
    n_items, n_people, broken = 80, 3000, {0, 1, 2}
    a, b, c = rng.lognormal(0, 0.3, n_items), rng.normal(0, 1, n_items), np.full(n_items, 0.2)
    lengths = rng.integers(15, 31, n_people)
    items = np.concatenate([rng.choice(n_items, n, replace=False) for n in lengths])
    theta = np.repeat(rng.normal(0, 1, n_people), lengths)
    p = c[items] + (1 - c[items]) / (1 + np.exp(-a[items] * (theta - b[items])))
    u = (rng.random(len(items)) < np.where(np.isin(items, list(broken)), 0.5, p)).astype(int)
    offsets = np.r_[0, np.cumsum(lengths)]
    grid_p = irt.probability(itemfit.QUADRATURE, a, b, c)
    for e in (
        itemfit.expected(grid_p, offsets, items, u, np.ones(len(u), bool)),
        itemfit.sequential(grid_p, offsets, items, u, np.ones(len(u), bool), summed=False),
    ):
        pv = _p_values(items, u, e, n_items)
        good = np.array([v for j, v in pv.items() if j not in broken])
        assert len(good) == n_items - 3
        assert np.mean(good < 0.05) <= 0.12 and 0.3 < np.median(good) < 0.7
        assert all(pv[j] < 1e-4 for j in broken)


def test_adaptive_test_model_true_items_fit_and_random_answers_do_not():
    """The engine's CAT: conditioning on the earlier answers keeps the p-values of model-true
    items about uniform; two pretest items answered at random are flagged."""
    rng = np.random.default_rng(5)
    bank = simulation.generate_bank(rng, 60, ("A", "B"), np.ones(2))
    pool = engine.ItemPool.from_lists(
        [*bank.ids, "P-1", "P-2"], [*bank.a, 1.2, 1.0], [*bank.b, 0.0, 0.3],
        [*bank.c, 0.2, 0.2], [*bank.domain, "A", "B"], is_pretest=[False] * 60 + [True] * 2,
    )  # fmt: skip
    policy = engine.CatPolicy(min_items=15, max_items=15, cut_theta=0.0, pretest_count=2,
                              blueprint=(("A", 0.5), ("B", 0.5)), randomesque_k=8)  # fmt: skip
    items, answers, offsets = [], [], [0]
    for k, theta in enumerate(rng.normal(0, 1, 1500)):
        state = engine.start_attempt(policy, pool, k)
        while not engine.stop_decision(state, policy).stop:
            item = engine.select_next(state, policy, pool)
            j = pool.index[item]
            pj = 0.5 if j >= 60 else float(irt.probability(theta, pool.a, pool.b, pool.c)[j])
            state = engine.record_response(state, item, bool(rng.random() < pj), policy, pool)
        items += [pool.index[i] for i in state.item_ids]
        answers += [int(x) for x in state.responses]
        offsets.append(len(items))
    items, u = np.array(items), np.array(answers)
    grid_p = irt.probability(itemfit.QUADRATURE, pool.a, pool.b, pool.c)
    e = itemfit.sequential(grid_p, np.array(offsets), items, u, items < 60, summed=False)
    pv = _p_values(items, u, e, 62)
    good = np.array([v for j, v in pv.items() if j < 60])
    assert len(good) >= 30
    assert np.mean(good < 0.05) <= 0.15 and np.median(good) > 0.25
    assert pv[60] < 1e-4 and pv[61] < 1e-4
