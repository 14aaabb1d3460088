"""The modified-Angoff computation: the worked example of docs/STANDARD_SETTING.md, by hand."""

import math

import numpy as np
import pytest

from app.psychometrics import standard_setting as ss

# The worked example (docs/STANDARD_SETTING.md): six items, three panelists, two rounds.
A = [1.0, 1.2, 0.8, 1.5, 1.0, 0.9]
B = [-1.0, -0.5, 0.0, 0.5, 1.0, -1.5]
C = [0.2, 0.2, 0.25, 0.2, 0.2, 0.2]
ROUND_1 = [[70, 60, 50, 40, 30, 80], [90, 80, 70, 60, 50, 95], [80, 70, 60, 50, 40, 85]]
ROUND_2 = [[80, 70, 60, 45, 40, 85], [75, 65, 55, 45, 30, 90], [85, 75, 70, 55, 35, 80]]
THETAS = [-1.6, -1.2, -0.9, -0.6, -0.4, -0.3, -0.2, -0.1, 0.0, 0.05]
THETAS += [0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.8, 1.0, 1.3]


def p3(theta, a, b, c):
    """The 3PL written out, independent of app.psychometrics.irt."""
    return c + (1 - c) / (1 + math.exp(-a * (theta - b)))


def test_worked_example_round_2_gives_the_hand_computed_cut():
    result = ss.angoff(ROUND_2, A, B, C, THETAS)
    # 80+70+60+45+40+85 = 380 -> 3.80; 75+65+55+45+30+90 = 360 -> 3.60; 85+75+70+55+35+80 = 400
    assert result.panelist_cuts == pytest.approx((3.80, 3.60, 4.00))
    assert result.raw_cut == pytest.approx(3.80)  # (3.80 + 3.60 + 4.00) / 3
    assert result.sd == pytest.approx(0.20)  # sqrt((0 + 0.04 + 0.04) / 2)
    assert result.se == pytest.approx(0.2 / math.sqrt(3))  # 0.11547
    assert result.percent_cut == pytest.approx(63.333, abs=1e-3)  # 3.80 of 6 items
    assert result.item_means == pytest.approx((80, 70, 61.667, 48.333, 35, 85), abs=1e-3)
    # theta* = -0.0315: the six probabilities there add up to the raw cut
    assert result.theta.theta == pytest.approx(-0.0315, abs=5e-5)
    at_cut = [p3(result.theta.theta, *abc) for abc in zip(A, B, C, strict=True)]
    assert [round(p, 4) for p in at_cut] == [0.7799, 0.7096, 0.6203, 0.4485, 0.4102, 0.8316]
    assert sum(at_cut) == pytest.approx(3.80, abs=1e-9)


def test_worked_example_impact_at_the_cut_and_one_and_two_standard_errors():
    result = ss.angoff(ROUND_2, A, B, C, THETAS)
    rows = {r.step: r for r in result.impact}
    assert [round(rows[k].raw, 4) for k in (-2, -1, 0, 1, 2)] == [
        3.5691,
        3.6845,
        3.8,
        3.9155,
        4.0309,
    ]
    assert [round(rows[k].theta, 4) for k in (-2, -1, 0, 1, 2)] == [
        -0.2496,
        -0.1403,
        -0.0315,
        0.0771,
        0.1861,
    ]
    # 14, 13, 12, 10 and 8 of the 20 candidates are at or above those thetas
    assert [rows[k].pass_rate for k in (-2, -1, 0, 1, 2)] == [0.70, 0.65, 0.60, 0.50, 0.40]


def test_worked_example_round_1_is_wider():
    result = ss.angoff(ROUND_1, A, B, C, THETAS)
    assert result.panelist_cuts == pytest.approx((3.30, 4.45, 3.85))
    assert result.raw_cut == pytest.approx(11.6 / 3)
    assert result.se == pytest.approx(0.33208, abs=1e-5)
    assert result.theta.theta == pytest.approx(0.0312, abs=5e-5)


def test_theta_inversion_agrees_with_a_dense_grid():
    rng = np.random.default_rng(7)
    a = rng.lognormal(0, 0.3, 40)
    b = rng.normal(0, 1, 40)
    c = np.full(40, 0.2)
    grid = np.linspace(-6, 6, 1_200_001)
    curve = ss.tcc(grid, a, b, c)
    for raw in (10.0, 20.0, 27.5, 35.0):
        expected = grid[np.argmin(np.abs(curve - raw))]
        assert ss.theta_for_raw(raw, a, b, c).theta == pytest.approx(expected, abs=2e-5)


def test_a_raw_cut_outside_the_curve_is_clipped_and_says_so():
    low = ss.theta_for_raw(1.0, A, B, C)  # below what guessing alone gives (1.277)
    high = ss.theta_for_raw(6.0, A, B, C)  # every item right: beyond any finite theta
    assert (low.theta, low.clipped) == (-6.0, -1)
    assert (high.theta, high.clipped) == (6.0, 1)


def test_the_cut_rises_with_the_ratings_and_the_se_falls_with_agreement():
    base = ss.angoff(ROUND_2, A, B, C)
    higher = ss.angoff(np.asarray(ROUND_2) + 5, A, B, C)
    agreed = ss.angoff([ROUND_2[0]] * 3, A, B, C)
    assert higher.theta.theta > base.theta.theta
    assert agreed.se == pytest.approx(0.0, abs=1e-12) and base.se > 0.1


@pytest.mark.parametrize("bad", [[[101, 50]], [[-1, 50]], [[float("nan"), 5]], [[]], [1, 2]])
def test_ratings_outside_0_to_100_are_refused(bad):
    with pytest.raises(ValueError, match="0 to 100|at least one"):
        ss.check_ratings(bad)


def test_one_panelist_has_no_spread_and_no_candidates_no_pass_rate():
    result = ss.angoff([ROUND_2[0]], A, B, C)
    assert result.se == 0.0 and result.row(0).pass_rate is None


def test_hofstee_compromise_crosses_the_fail_rate_curve():
    scores = np.arange(0, 100)  # uniform percent scores: F(k) = k / 100
    # line from (50, 0.60) to (70, 0.10): 0.6 - 0.025 (k - 50) = k / 100 at k = 1.85 / 0.035
    result = ss.hofstee(scores, 50, 70, 0.10, 0.60)
    assert result.k == pytest.approx(52.857, abs=0.1)
    assert result.fail_rate == pytest.approx(0.5286, abs=0.011)
    assert ss.hofstee(scores, 10, 20, 0.5, 0.9).k is None  # F stays under the line
