"""3PL probability and information: known values, invariants, agreement with catsim."""

import numpy as np
import pytest
from catsim import irt as cat_irt

from app.psychometrics import irt


def test_probability_at_b_is_midway_between_c_and_one():
    a, b, c = np.array([0.7, 1.3, 2.0]), np.array([-1.0, 0.5, 2.0]), np.array([0.0, 0.2, 0.25])
    for i in range(3):
        p = irt.probability(b[i], a[i : i + 1], b[i : i + 1], c[i : i + 1])
        assert p[0] == pytest.approx(c[i] + (1 - c[i]) / 2, abs=1e-15)


def test_logistic_metric_has_no_1_7_constant():
    p = irt.probability(1.0, np.array([1.0]), np.array([0.0]), np.array([0.0]))[0]
    assert p == pytest.approx(1 / (1 + np.exp(-1.0)), abs=1e-15)


def test_shapes_scalar_and_grid(rng):
    a, b, c = rng.lognormal(0, 0.3, 7), rng.normal(0, 1, 7), np.full(7, 0.2)
    assert irt.probability(0.3, a, b, c).shape == (7,)
    assert irt.information(np.linspace(-3, 3, 5), a, b, c).shape == (5, 7)
    assert irt.test_information(np.linspace(-3, 3, 5), a, b, c).shape == (5,)
    assert np.ndim(irt.test_information(0.0, a, b, c)) == 0


def test_information_non_negative_and_additive(rng):
    a, b, c = rng.lognormal(0, 0.5, 50), rng.normal(0, 2, 50), rng.uniform(0, 0.3, 50)
    grid = np.linspace(-8, 8, 161)
    info = irt.information(grid, a, b, c)
    assert (info >= 0).all()
    np.testing.assert_allclose(irt.test_information(grid, a, b, c), info.sum(axis=1))


def test_information_at_equals_information_at_every_theta(rng):
    """The engine's per-pool kernel gives the textbook formula's values (3PL and 2PL items,
    abilities far outside the items' range) and so the same argmax."""
    a, b = rng.lognormal(0, 0.5, 300), rng.normal(0, 1.5, 300)
    c = np.where(rng.random(300) < 0.5, 0.0, rng.uniform(0, 0.35, 300))
    kernel = irt.InformationAt(a, b, c)
    for theta in np.linspace(-8, 8, 33):
        want = irt.information(theta, a, b, c)
        got = kernel(theta)
        # atol: far below b, the textbook's P - c cancels (1e-4 relative at 1e-18); the kernel
        # takes (1 - c) L directly
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-14)
        assert int(got.argmax()) == int(want.argmax())
    assert kernel(0.5) is not kernel(0.5)  # a fresh array per call: callers mask it in place


def test_probability_and_information_match_catsim(rng):
    n = 200
    a, b, c = rng.lognormal(0, 0.4, n), rng.normal(0, 1.2, n), rng.uniform(0, 0.35, n)
    items = np.column_stack([a, b, c, np.ones(n)])
    for theta in (-4.0, -1.3, 0.0, 0.77, 3.5):
        np.testing.assert_allclose(
            irt.probability(theta, a, b, c), cat_irt.icc_hpc(theta, items), rtol=0, atol=1e-9
        )
        np.testing.assert_allclose(
            irt.information(theta, a, b, c), cat_irt.inf_hpc(theta, items), rtol=0, atol=1e-9
        )
        scalar = [cat_irt.inf(theta, a[i], b[i], c[i]) for i in range(5)]
        np.testing.assert_allclose(irt.information(theta, a, b, c)[:5], scalar, atol=1e-9)


def test_log_likelihood_matches_catsim(rng):
    a, b, c = rng.lognormal(0, 0.3, 30), rng.normal(0, 1, 30), np.full(30, 0.2)
    u = rng.random(30) < 0.5
    items = np.column_stack([a, b, c, np.ones(30)])
    for theta in (-2.0, 0.0, 1.5):
        ours = float(irt.log_likelihood(theta, a, b, c, u))
        assert ours == pytest.approx(cat_irt.log_likelihood(theta, u.tolist(), items), abs=1e-9)
