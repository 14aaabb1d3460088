"""MML-EM calibration: recovery, missing data, anchors, item fit, and girth on the same data."""

import sys

import numpy as np
import pytest

from app.psychometrics import calibration, irt, squarem


def _rmse(est, true):
    return float(np.sqrt(np.mean((est - true) ** 2)))


def _data(seed, n_items=200, n_people=2000, guess=0.2, missing=0.0, mean=0.0, sd=1.0):
    rng = np.random.default_rng(seed)
    a, b = rng.lognormal(0, 0.3, n_items), rng.normal(0, 1, n_items)
    c = np.full(n_items, guess)
    theta = rng.normal(mean, sd, n_people)
    x = (rng.random((n_people, n_items)) < irt.probability(theta, a, b, c)).astype(float)
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return x, a, b, c


def _girth():
    """girth 0.8 with a shim: its fminbound callbacks return shape-(1,) arrays, which
    SciPy >= 1.15 rejects; wrapping them to return floats changes nothing numerically."""
    girth = pytest.importorskip("girth")
    from scipy.optimize import fmin_slsqp, fminbound

    def scalar(f):
        return lambda x, *args: float(np.squeeze(f(x, *args)))

    for name in ("rasch_mml", "threepl_mml"):
        module = sys.modules[f"girth.unidimensional.dichotomous.{name}"]
        module.fminbound = lambda f, *a, **k: fminbound(scalar(f), *a, **k)
        module.fmin_slsqp = lambda f, x0, *a, **k: fmin_slsqp(scalar(f), x0, *a, **k)
    return girth


def _girth_2pl(x):
    girth = _girth()
    data = x.T.copy()
    data[np.isnan(data)] = girth.INVALID_RESPONSE
    out = girth.twopl_mml(data.astype(int))
    return out["Discrimination"], out["Difficulty"]


def test_3pl_recovery_with_priors():
    x, a, b, c = _data(3)
    res = calibration.calibrate(x, "3pl", tol=1e-3)
    assert res.converged
    assert _rmse(res.a, a) <= 0.16 and _rmse(res.b, b) <= 0.24 and _rmse(res.c, c) <= 0.06
    assert np.isfinite(res.se_a).all() and (res.se_b > 0).all()


def test_2pl_recovery():
    x, a, b, _ = _data(3, guess=0.0)
    res = calibration.calibrate(x, "2pl", tol=1e-3)
    assert _rmse(res.a, a) <= 0.07 and _rmse(res.b, b) <= 0.10


def test_2pl_recovery_with_70_percent_missing():
    x, a, b, _ = _data(3, guess=0.0, missing=0.7)
    res = calibration.calibrate(x, "2pl", tol=1e-3)
    assert _rmse(res.a, a) <= 0.135 and _rmse(res.b, b) <= 0.16
    assert (res.n_responses < 2000).all()


@pytest.mark.parametrize("missing", [0.0, 0.7])
def test_2pl_at_least_as_accurate_as_girth_on_the_same_data(missing):
    # smaller than the recovery tests to keep girth's run short; full size: bench/
    x, a, b, _ = _data(4, n_items=40, n_people=1200, guess=0.0, missing=missing)
    res = calibration.calibrate(x, "2pl", tol=1e-3)
    ga, gb = _girth_2pl(x)
    assert _rmse(res.a, a) <= _rmse(ga, a) + 0.002 and _rmse(res.b, b) <= _rmse(gb, b) + 0.002


def test_standard_errors_match_the_spread_of_estimates():
    x, a, b, _ = _data(5, n_items=60, n_people=1500, guess=0.0)
    res = calibration.calibrate(x, "2pl", tol=1e-3)
    z_b = (res.b - b) / res.se_b
    assert 0.7 < np.std(z_b) < 1.3


def test_fixed_anchor_calibration_lands_on_the_operational_scale():
    # the new sample is more able (mean 0.5, sd 1.2); anchors carry the scale
    x, a, b, c = _data(8, n_items=80, n_people=2000, guess=0.0, mean=0.5, sd=1.2)
    mask = np.zeros(80, bool)
    mask[:30] = True
    anchors = calibration.Anchors(mask, a, b, c)
    res = calibration.calibrate(x, "2pl", anchors=anchors, tol=1e-3)
    np.testing.assert_array_equal(res.a[mask], a[mask])
    assert (res.se_b[mask] == 0).all()
    assert res.pop_mean == pytest.approx(0.5, abs=0.1) and res.pop_sd == pytest.approx(1.2, abs=0.1)
    new = ~mask
    assert abs(np.mean(res.b[new] - b[new])) < 0.05 and _rmse(res.b[new], b[new]) < 0.15
    free = calibration.calibrate(x, "2pl", tol=1e-3)
    assert abs(np.mean(free.b[new] - b[new])) > 0.3  # without anchors the scale drifts


def test_item_fit_flags_a_misfitting_item():
    rng = np.random.default_rng(9)
    a, b, c = rng.lognormal(0, 0.3, 40), rng.normal(0, 1, 40), np.zeros(40)
    theta = rng.normal(0, 1, 3000)
    prob = irt.probability(theta, a, b, c)
    prob[:, 0] = np.where(np.abs(theta) > 0.8, 0.9, 0.2)  # U-shaped: no 2PL curve fits it
    x = (rng.random(prob.shape) < prob).astype(float)
    res = calibration.calibrate(x, "2pl", tol=1e-3)
    assert res.fit_p[0] < 0.001
    assert np.mean(res.fit_p[1:] < 0.01) < 0.15


def test_empirical_log_a_prior_estimates_the_spread_of_the_discriminations():
    # a ~ lognormal(0, 0.3): the hierarchical prior should find mean ~0 and SD ~0.3, not 0.5
    x, a, b, _ = _data(6, n_items=80, n_people=1500, guess=0.0)
    res = calibration.calibrate(x, "2pl", priors=calibration.Priors(empirical_log_a=True), tol=1e-3)
    mu, tau = res.log_a_prior
    assert abs(mu - np.log(a).mean()) < 0.05 and 0.2 < tau < 0.4
    fixed = calibration.calibrate(x, "2pl", tol=1e-3)
    assert fixed.log_a_prior == (0.0, 0.5)
    assert abs(_rmse(res.a, a) - _rmse(fixed.a, a)) < 0.01  # no large change either way


def test_squarem_reaches_the_plain_em_fixed_point_in_far_fewer_em_steps():
    x, _, _, _ = _data(11, n_items=40, n_people=1500)
    tight = calibration.calibrate(x, "3pl", tol=1e-6, accelerate=False, max_iter=3000)
    plain = calibration.calibrate(x, "3pl", tol=1e-4, accelerate=False)
    fast = calibration.calibrate(x, "3pl", tol=1e-4)
    assert tight.converged and plain.converged and fast.converged
    assert plain.iterations > 30 and fast.iterations < 25 and fast.cycles < fast.iterations
    for est in ("a", "b", "c"):  # the fixed point plain EM reaches at a tight tolerance
        np.testing.assert_allclose(getattr(fast, est), getattr(tight, est), atol=1e-3)
    assert fast.log_likelihood >= plain.log_likelihood - 0.01


def _linear_em(rates, target):
    """A slow linear EM-like map: each coordinate moves a share `rates` of its distance."""

    def step(z):
        new = z + rates * (target - z)
        return new, -float(((z - target) ** 2).sum()), float(np.abs(new - z).max())

    return step


def test_squarem_accelerates_a_slow_fixed_point_map():
    rates, target = np.array([0.5, 0.05, 0.01]), np.array([1.0, -2.0, 3.0])
    step, lower, upper = _linear_em(rates, target), np.full(3, -10.0), np.full(3, 10.0)
    plain = squarem.plain(step, np.zeros(3), 1e-8, 5000, None)
    fast = squarem.squarem(step, np.zeros(3), 1e-8, 5000, None, lower, upper)
    assert plain.converged and fast.converged and fast.rejected == 0
    assert plain.steps > 1000 and fast.steps < 100
    np.testing.assert_allclose(fast.z, target, atol=1e-6)


def test_squarem_falls_back_to_the_plain_steps_when_the_objective_drops():
    rates, target = np.array([0.2, 0.1]), np.array([1.0, 1.0])
    slow = _linear_em(rates, target)

    def step(z):  # an objective that any move towards the target lowers: every jump rejected
        new, _, moved = slow(z)
        return new, -1e6 * float(z.sum()), moved

    calls = []
    fast = squarem.squarem(step, np.zeros(2), 1e-6, 2000, lambda k, n: calls.append(k),
                           np.full(2, -5.0), np.full(2, 5.0))  # fmt: skip
    plain = squarem.plain(slow, np.zeros(2), 1e-6, 2000, None)
    assert fast.converged and fast.rejected > 0 and calls == list(range(1, fast.steps + 1))
    np.testing.assert_allclose(fast.z, plain.z, atol=1e-5)
