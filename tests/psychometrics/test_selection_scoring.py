"""Selection rules (balancing, exposure control) and scoring (scale, diagnostics)."""

import numpy as np
import pytest

from app.psychometrics import estimation, irt, scoring, selection


def test_randomesque_stays_within_best_k(rng):
    ranked = np.arange(20)
    picks = {selection.pick_with_exposure_control(ranked, rng, 4)[0] for _ in range(200)}
    assert picks == {0, 1, 2, 3}


def test_sympson_hetter_rejection_lasts_the_whole_attempt(rng):
    ranked = np.array([5, 2, 9])
    k = np.ones(10)
    k[5] = 0.3
    u = np.full(10, 0.5)  # 0.5 >= 0.3: item 5 fails its lottery for this attempt
    item, tried = selection.pick_with_exposure_control(ranked, rng, 1, k, u)
    assert (item, tried) == (2, [5, 2])
    u[5] = 0.1
    assert selection.pick_with_exposure_control(ranked, rng, 1, k, u)[0] == 5


def test_an_all_rejected_lottery_falls_back_to_the_item_closest_to_acceptance(rng):
    """When every item fails its lottery the attempt goes on, with the best-ranked items'
    least-rejected one (smallest u / K), not always the best-ranked: a band whose candidates
    exhaust their admitted items would otherwise all get the same item."""
    ranked = np.array([5, 2, 9])
    k = np.full(10, 0.2)
    u = np.full(10, 0.9)
    u[9] = 0.3  # 0.3 / 0.2 is the closest to acceptance
    item, tried = selection.pick_with_exposure_control(ranked, rng, 1, k, u)
    assert (item, tried) == (9, [5, 2, 9])
    picks = set()
    for _ in range(200):  # random uniforms: every best-ranked item takes some fallbacks
        u = rng.uniform(0.2, 1.0, 10)
        picks.add(selection.pick_with_exposure_control(ranked, rng, 1, k, u)[0])
    assert picks == {5, 2, 9}
    window = np.arange(40)  # only the best FALLBACK_WINDOW are considered
    u = np.full(40, 0.9)
    u[selection.FALLBACK_WINDOW :] = 0.25
    assert selection.pick_with_exposure_control(window, rng, 1, np.full(40, 0.2), u)[0] < (
        selection.FALLBACK_WINDOW
    )


def test_scaled_score_transform():
    assert scoring.scaled_score(0.0, 0.0) == 500
    assert scoring.scaled_score(1.234, 0.0) == 623
    assert scoring.scaled_score(0.5, 0.5) == 550  # the scale is anchored apart from the cut
    assert scoring.scaled_score(-0.003, 0.0) == 499  # a fail never shows 500
    assert scoring.scaled_score(9.0, 0.0) == 800 and scoring.scaled_score(-9.0, 0.0) == 200
    assert scoring.passed(0.0, 0.0) and not scoring.passed(-1e-9, 0.0)


@pytest.mark.parametrize("theta,label", [(-2.0, "below"), (0.0, "unclear"), (2.0, "above")])
def test_domain_diagnostic_labels(rng, theta, label):
    n = 40
    a, b, c = np.full(n, 1.5), np.linspace(-2.5, 2.5, n), np.full(n, 0.2)
    u = (rng.random(n) < irt.probability(theta, a, b, c)).astype(float)
    d = scoring.domain_diagnostic("A", estimation.make_grid(), a, b, c, u, 0.0)
    assert d.label == label and d.n_items == n


def test_short_domain_is_unclear_rather_than_a_confident_label():
    a, b, c = np.ones(2), np.zeros(2), np.full(2, 0.2)
    d = scoring.domain_diagnostic("A", estimation.make_grid(), a, b, c, np.zeros(2), 0.0)
    assert d.label == "unclear"


def test_step_random_is_reproducible_and_uniform():
    a, b = selection.StepRandom(99, 4), selection.StepRandom(99, 4)
    assert [a.random() for _ in range(5)] == [b.random() for _ in range(5)]
    draws = np.array([selection.StepRandom(7, step).random() for step in range(20000)])
    assert abs(draws.mean() - 0.5) < 0.01 and abs(np.mean(draws < 0.25) - 0.25) < 0.01
    picks = np.bincount([selection.StepRandom(s, 3).integers(4) for s in range(8000)])
    assert picks.min() > 1800


def test_blueprint_rounding_floor():
    from app.psychometrics import metrics

    w = np.array([0.15, 0.20, 0.15, 0.20, 0.15, 0.15])
    assert metrics.rounding_floor(20, w) == pytest.approx(0.0)
    assert metrics.rounding_floor(10, w) == pytest.approx(4 * 0.05 / 6)
    code = np.repeat(np.arange(6), 10)
    form = np.array([0, 1, 10, 11, 20, 30, 31, 40, 50, 51])  # counts 2,2,1,2,1,2 at L = 10
    dev = metrics.blueprint_deviation([form], code, w)
    assert dev["mean_abs_deviation"] >= dev["floor"]
