"""The oracle classification bound and the blueprint-assembled fixed form."""

import numpy as np
import pytest
from scipy.stats import norm

from app.psychometrics import bounds, estimation, irt, metrics, simulation

DOMAINS = ("A", "B", "C", "D", "E", "F")
WEIGHTS = np.array([0.15, 0.20, 0.15, 0.20, 0.15, 0.15])
BLUEPRINT = tuple(zip(DOMAINS, WEIGHTS.tolist(), strict=True))


@pytest.fixture(scope="module")
def small():
    pool = simulation.generate_bank(np.random.default_rng(1), 80, DOMAINS, WEIGHTS)
    thetas = np.random.default_rng(2).normal(0, 1, 1500)
    return pool, thetas


def _approx_accuracy(form, pool, thetas):
    info = bounds.interval_information(thetas, 0.0, pool.a[form], pool.b[form], pool.c[form])
    info = info.sum(1)
    return float(np.mean(norm.cdf(np.abs(thetas) * np.sqrt(info))))


def test_blueprint_form_meets_the_counts_and_is_best_within_each_domain(bank300):
    form = simulation.blueprint_fixed_form(bank300, 60, 0.0, BLUEPRINT)
    code = np.array([DOMAINS.index(d) for d in bank300.domain])
    assert len(set(form.tolist())) == 60
    np.testing.assert_array_equal(np.bincount(code[form], minlength=6), [9, 12, 9, 12, 9, 9])
    assert metrics.blueprint_deviation([form], code, WEIGHTS)["mean_abs_deviation"] == 0.0
    info = irt.information(0.0, bank300.a, bank300.b, bank300.c)
    for d in range(6):
        inside, outside = form[code[form] == d], np.setdiff1d(np.flatnonzero(code == d), form)
        assert info[inside].min() >= info[outside].max()
    free = simulation.best_fixed_form(bank300, 60, 0.0)
    assert info[form].sum() <= info[free].sum()
    assert metrics.blueprint_deviation([free], code, WEIGHTS)["mean_abs_deviation"] > 0.01


def test_blueprint_counts_sum_to_the_length():
    for length in (10, 25, 33, 60):
        counts = simulation.blueprint_counts(length, WEIGHTS)
        assert counts.sum() == length and (np.abs(counts - WEIGHTS * length) < 1).all()


def test_uncapped_oracle_matches_or_beats_the_best_fixed_form(small):
    pool, thetas = small
    res = bounds.oracle_allocation(thetas, pool.a, pool.b, pool.c, 0.0, 15, 1.0)
    fixed = _approx_accuracy(simulation.best_fixed_form(pool, 15, 0.0), pool, thetas)
    assert res.relaxed >= fixed - 0.002  # the fixed form is one feasible allocation
    assert res.bound >= res.relaxed
    assert max(len(s) for s in res.items) <= 15


def test_exposure_cap_lowers_the_bound_and_is_respected(small):
    pool, thetas = small
    free = bounds.oracle_allocation(thetas, pool.a, pool.b, pool.c, 0.0, 15, 1.0)
    capped = bounds.oracle_allocation(thetas, pool.a, pool.b, pool.c, 0.0, 15, 0.25)
    assert capped.bound < free.relaxed
    assert capped.max_exposure <= 0.25 + 0.02  # systematic rounding: a few per item
    short = bounds.oracle_allocation(thetas, pool.a, pool.b, pool.c, 0.0, 15, 0.25, 8.0)
    assert short.mean_items <= 8.1 and short.bound < capped.relaxed


def test_eap_of_item_sets_matches_the_estimator(small):
    pool, thetas = small
    grid = estimation.make_grid()
    u = np.random.default_rng(3).random((3, len(pool.ids)))
    items = [np.array([0, 5, 9]), np.arange(20), np.array([], dtype=int)]
    hat = bounds.eap_of_item_sets(items, thetas[:3], pool.a, pool.b, pool.c, grid, u)
    for e, idx in enumerate(items):
        x = (u[e, idx] < irt.probability(thetas[e], pool.a[idx], pool.b[idx], pool.c[idx])) * 1.0
        log_post = estimation.log_posterior(grid, pool.a[idx], pool.b[idx], pool.c[idx], x)
        assert hat[e] == pytest.approx(estimation.eap_from_log_posterior(log_post, grid).theta)


def test_issue_bank_classification_is_bounded_under_the_exposure_cap(bank300):
    # docs section 8.3.2: with r_max 0.25 even an oracle that knows theta stays below the fixed
    # 60-item form (same normal approximation), and further below with a mean of 30 items
    thetas = np.random.default_rng(4).normal(0, 1, 1500)
    a, b, c = bank300.a, bank300.b, bank300.c
    fixed = _approx_accuracy(simulation.best_fixed_form(bank300, 60, 0.0), bank300, thetas)
    kw = dict(min_items=10, bin_width=0.2, iterations=30)  # coarser than the bench: a quick bound
    capped = bounds.oracle_allocation(thetas, a, b, c, 0.0, 60, 0.25, **kw)
    short = bounds.oracle_allocation(thetas, a, b, c, 0.0, 60, 0.25, 30.0, **kw)
    assert capped.bound < fixed - 0.003
    assert short.bound < capped.relaxed - 0.005
    assert min(len(s) for s in short.items) >= 9  # 10 up to systematic rounding
