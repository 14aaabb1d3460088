"""Per-domain diagnostics (scoring.domain_diagnostic): known values, invariants, and honesty
measured by simulation (confident labels are rarely wrong; the interval covers the truth)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from app.psychometrics import estimation, irt, scoring, simulation
from tests.psychometrics.conftest import DOMAINS


def test_number_correct_distribution_is_binomial_for_equal_items_and_sums_to_one():
    p = np.tile([0.3, 0.3, 0.3, 0.3], (2, 1))
    dist = scoring.number_correct_distribution(p)
    assert dist.shape == (2, 5)
    np.testing.assert_allclose(dist[0], stats.binom.pmf(np.arange(5), 4, 0.3))
    unequal = scoring.number_correct_distribution(np.array([[0.1, 0.5, 0.9]]))
    assert abs(unequal.sum() - 1) < 1e-12
    assert abs(unequal[0, 0] - 0.9 * 0.5 * 0.1) < 1e-12 and abs(unequal[0, 3] - 0.045) < 1e-12


def test_posterior_quantiles_of_a_normal():
    points = np.linspace(-6, 6, 2001)
    log_post = -0.5 * ((points - 1.0) / 0.5) ** 2
    low, mid, high = scoring.posterior_quantiles(log_post, points, (0.05, 0.5, 0.95))
    assert abs(mid - 1.0) < 0.01
    assert abs(low - (1.0 - 1.645 * 0.5)) < 0.01 and abs(high - (1.0 + 1.645 * 0.5)) < 0.01


def _domain(theta_overall, theta_domain, n_domain, rng, n_rest=40):
    """Responses of a candidate: n_rest items elsewhere at theta_overall, n_domain here."""
    grid = estimation.make_grid()
    a, c = np.full(n_rest + n_domain, 1.2), np.full(n_rest + n_domain, 0.2)
    b = np.concatenate([np.linspace(-2, 2, n_rest), np.linspace(-1, 1, n_domain)])
    truth = np.concatenate([np.full(n_rest, theta_overall), np.full(n_domain, theta_domain)])
    u = (rng.random(truth.size) < irt.probability(truth, a, b, c).diagonal()).astype(float)
    log_post = estimation.log_posterior(grid, a, b, c, u)
    here = slice(n_rest, None)
    return scoring.domain_diagnostic("A", grid, a[here], b[here], c[here], u[here], 0.0, log_post)


def test_a_strong_candidate_is_above_in_a_short_domain_answered_correctly(rng):
    grid = estimation.make_grid()
    a, b, c = np.full(45, 1.2), np.linspace(-1, 3, 45), np.full(45, 0.2)
    u = np.ones(45)
    log_post = estimation.log_posterior(grid, a, b, c, u)
    d = scoring.domain_diagnostic("A", grid, a[:5], b[:5], c[:5], u[:5], 0.0, log_post)
    assert d.label == "above" and d.relative == "in_line" and d.n_correct == 5
    assert d.low > 0.0 and d.low < d.theta < d.high
    alone = scoring.domain_diagnostic("A", grid, a[:5], b[:5], c[:5], u[:5], 0.0)
    assert alone.relative == "none" and alone.low < d.low, "the rest of the exam informs it"


def test_a_domain_far_below_the_rest_is_weaker_and_a_domain_without_items_says_so(rng):
    d = _domain(1.5, -2.5, 12, rng)
    assert d.relative == "weaker" and d.n_correct < d.expected_low <= d.expected
    assert d.expected_low <= d.expected <= d.expected_high <= 12
    empty = scoring.domain_diagnostic(
        "A", estimation.make_grid(), np.array([]), np.array([]), np.array([]), np.array([]), 0.0
    )
    assert empty.label == "none" and empty.relative == "none" and empty.n_items == 0


def test_labels_are_honest_when_domains_really_differ(bank300, policy):
    """Candidates whose domains differ by N(0, 0.5^2) around N(0, 1): a confident label
    ("above"/"below") is wrong for under 6% of domains, the 90% interval covers the true
    domain ability at least 85% of the time, and a "weaker"/"stronger" flag almost never
    points the wrong way."""
    rng = np.random.default_rng(2026)
    wrong = confident = covered = n = flagged_wrong = 0
    for seed in range(120):
        theta = rng.normal()
        truth = {d: theta + rng.normal(0, 0.5) for d in DOMAINS}
        result, _ = simulation.run_attempt(policy, bank300, truth, seed, rng)
        for d in result.domains:
            n += 1
            covered += d.low <= truth[d.domain] <= d.high
            if d.label in ("above", "below"):
                confident += 1
                wrong += (d.label == "above") != (truth[d.domain] > policy.cut_theta)
            if d.relative in ("weaker", "stronger"):
                above_own_level = truth[d.domain] > theta
                flagged_wrong += above_own_level == (d.relative == "weaker")
    assert confident > 0.2 * n, "the labels say something"
    assert wrong <= 0.06 * confident
    assert covered >= 0.85 * n
    assert flagged_wrong <= 0.05 * n
