"""EAP / MAP / MLE: brute-force integrals, incremental updates, catsim's ML estimator."""

import numpy as np
import pytest
from catsim.estimation import NumericalSearchEstimator
from catsim.item_bank import ItemBank

from app.psychometrics import estimation, irt


def _pattern(rng, n, theta):
    a, b, c = rng.lognormal(0, 0.3, n), rng.normal(0, 1, n), np.full(n, 0.2)
    u = (rng.random(n) < irt.probability(theta, a, b, c)).astype(float)
    return a, b, c, u


def _brute_force_eap(a, b, c, u, n=4001, lo=-8.0, hi=8.0):
    """Posterior mean and SD by the trapezoid rule on a fine grid, N(0, 1) prior."""
    t = np.linspace(lo, hi, n)
    dens = np.exp(irt.log_likelihood(t, a, b, c, u) - 0.5 * t**2)
    z = np.trapezoid(dens, t)
    mean = np.trapezoid(t * dens, t) / z
    return mean, np.sqrt(np.trapezoid((t - mean) ** 2 * dens, t) / z)


@pytest.mark.parametrize("theta,n", [(-2.0, 5), (-0.5, 15), (0.0, 30), (1.2, 40), (2.8, 60)])
def test_eap_matches_brute_force_integral(rng, theta, n):
    a, b, c, u = _pattern(rng, n, theta)
    est = estimation.eap(estimation.make_grid(81), a, b, c, u)
    mean, sd = _brute_force_eap(a, b, c, u)
    assert abs(est.theta - mean) <= 0.002
    assert abs(est.se - sd) <= 0.004


def test_incremental_update_equals_full_posterior(rng):
    a, b, c, u = _pattern(rng, 40, 0.4)
    grid = estimation.make_grid()
    log_post = estimation.normalise(np.array(grid.log_prior))
    for i in range(40):
        log_post = estimation.update(log_post, grid, a[i], b[i], c[i], bool(u[i]))
    full = estimation.log_posterior(grid, a, b, c, u)
    np.testing.assert_allclose(log_post, full, atol=1e-9)


def test_posterior_sd_falls_as_items_are_added(rng):
    a, b, c, u = _pattern(rng, 60, 0.0)
    grid = estimation.make_grid()
    ses = [estimation.eap(grid, a[:k], b[:k], c[:k], u[:k]).se for k in (0, 5, 15, 30, 60)]
    assert ses[0] == pytest.approx(1.0, abs=1e-3)
    assert all(x > y for x, y in zip(ses, ses[1:], strict=False))


def test_mle_standard_error_falls_with_test_information(rng):
    a, b, c = rng.lognormal(0, 0.3, 60), rng.normal(0, 1, 60), np.full(60, 0.2)
    info = [float(irt.test_information(0.3, a[:k], b[:k], c[:k])) for k in (10, 20, 40, 60)]
    assert all(x < y for x, y in zip(info, info[1:], strict=False))


def test_mle_matches_catsim(rng):
    n = 40
    a, b, c = rng.lognormal(0, 0.3, n), rng.normal(0, 1, n), np.full(n, 0.2)
    bank = ItemBank(np.column_stack([a, b, c, np.ones(n)]))
    estimator = NumericalSearchEstimator(method="bounded")
    checked = 0
    for theta in np.linspace(-2.0, 2.0, 9):
        u = rng.random(n) < irt.probability(theta, a, b, c)
        if u.all() or not u.any():
            continue
        ours = estimation.mle_estimate(a, b, c, u.astype(float))
        theirs = estimator.estimate(
            item_bank=bank,
            administered_items=list(range(n)),
            response_vector=u.tolist(),
            est_theta=0.0,
        )
        assert ours.method == "mle"
        assert ours.theta == pytest.approx(theirs, abs=1e-4)
        checked += 1
    assert checked >= 7


def test_mle_fallback_for_all_correct_and_all_wrong(rng):
    a, b, c = rng.lognormal(0, 0.3, 10), rng.normal(0, 1, 10), np.full(10, 0.2)
    high = estimation.mle_estimate(a, b, c, np.ones(10))
    low = estimation.mle_estimate(a, b, c, np.zeros(10))
    assert high.method == low.method == "eap-fallback"
    assert high.theta > 0.5 and low.theta < -0.5
    assert np.isfinite(high.se) and np.isfinite(low.se)


def test_map_is_the_mode_of_the_posterior(rng):
    a, b, c, u = _pattern(rng, 25, 0.8)
    est = estimation.map_estimate(a, b, c, u)
    t = np.linspace(-6, 6, 120001)
    log_post = irt.log_likelihood(t, a, b, c, u) - 0.5 * t**2
    assert est.theta == pytest.approx(t[np.argmax(log_post)], abs=2e-4)
    eap = estimation.eap(estimation.make_grid(), a, b, c, u)
    assert abs(est.theta - eap.theta) < 0.3  # close but not the same statistic
