"""The reported scale: fixed anchors, a version, the passing score derived from the cut."""

import numpy as np
import pytest

from app.psychometrics import scoring
from app.psychometrics.engine import CatPolicy, ItemPool, score_responses
from app.psychometrics.scoring import Scale


def test_the_scale_maps_theta_through_its_anchors():
    scale = Scale("T-1", ((-1.0, 400.0), (1.0, 500.0)), 100, 900)  # 50 points per logit
    assert scale.slope == 50.0
    assert scale.raw(0.0) == 450.0 and scale.raw(3.0) == 600.0
    assert scale.cut_score(0.3) == 465
    assert scoring.scaled_score(0.3, 0.3, scale) == 465
    assert scoring.scaled_score(0.29, 0.3, scale) == 464  # a fail never shows the passing score
    assert scoring.scaled_score(-99.0, 0.3, scale) == 100
    assert scoring.scaled_score(99.0, 0.3, scale) == 900


def test_the_score_does_not_move_with_the_cut():
    scale = Scale("T-1")
    assert scoring.scaled_score(1.234, 0.0, scale) == scoring.scaled_score(1.234, 0.8, scale) == 623
    assert (scale.cut_score(0.0), scale.cut_score(0.8), scale.cut_score(-0.25)) == (500, 580, 475)


def test_pass_if_and_only_if_the_score_reaches_the_passing_score():
    rng = np.random.default_rng(3)
    scale = Scale("T-1", ((0.0, 500.0), (1.0, 537.0)))  # 0.37 points per 0.01 logit: ties
    for cut in rng.uniform(-2.0, 2.0, 40):
        thetas = np.concatenate([rng.uniform(-4, 4, 200), cut + rng.uniform(-0.02, 0.02, 50)])
        for theta in thetas:
            score = scoring.scaled_score(theta, cut, scale)
            assert (score >= scale.cut_score(cut)) == scoring.passed(theta, cut)


def test_the_legacy_scale_reproduces_scores_reported_before_versions():
    for cut in (-0.5, 0.0, 0.7):
        for theta in (-3.0, cut - 0.004, cut, 0.4, 2.9):
            old = min(max(round(500 + 100 * (theta - cut)), 200), 800)
            old = min(old, 499) if theta < cut else old
            assert scoring.scaled_score(theta, cut, Scale.legacy(cut)) == old


@pytest.mark.parametrize(
    "anchors,low,high",
    [(((1.0, 500.0), (1.0, 600.0)), 200, 800), (((0.0, 600.0), (1.0, 500.0)), 200, 800),
     (((0.0, 500.0), (1.0, 600.0)), 800, 200)],
)  # fmt: skip
def test_unusable_scales_are_refused(anchors, low, high):
    with pytest.raises(ValueError):
        Scale("T-1", anchors, low, high)


def test_a_cut_off_the_scale_is_refused_when_the_policy_is_built():
    with pytest.raises(ValueError, match="outside its range"):
        CatPolicy(cut_theta=3.5, scale=Scale("T-1"))
    with pytest.raises(ValueError, match="outside its range"):
        CatPolicy(cut_theta=-3.0, scale=Scale("T-1"))  # 200: a fail could not go below it


def test_the_policy_freezes_the_scale_and_the_result_names_it():
    scale = Scale("CAWM-7", ((0.0, 300.0), (2.0, 500.0)), 100, 700)
    policy = CatPolicy(min_items=2, max_items=4, cut_theta=0.5, scale=scale)
    again = CatPolicy.from_dict(policy.to_dict())
    assert again == policy and again.scale == scale and hash(again) == hash(policy)
    pool = ItemPool.from_lists(["i1", "i2"], [1.0, 1.2], [0.0, 0.5], [0.2, 0.2], ["A", "A"])
    result = score_responses([("i1", True), ("i2", True)], policy, pool)
    assert (result.scale_version, result.cut_score) == ("CAWM-7", 350)
    assert result.scaled_score == round(300 + 100 * result.theta)
    assert result.to_dict()["scale_version"] == "CAWM-7"
