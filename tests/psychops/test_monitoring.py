"""Pool monitoring (app/psychops/health.py): overlap, information at the cut against the
blueprint, drift, pretest items ready to calibrate, the page, the API and the dashboard."""

from itertools import combinations
from types import SimpleNamespace

import numpy as np
import pytest

from app.itembank import pools
from app.psychometrics import irt
from app.psychops import health, monitoring
from tests.factories.accounts import sign_in
from tests.factories.exams import make_admin
from tests.psychops.test_pools_http import _finished


def test_overlap_is_the_mean_share_of_items_two_candidates_have_in_common():
    tests = [{1, 2, 3}, {1, 2, 3}, {1, 2, 4}, {1, 2, 5, 6}]
    counts = {i: sum(i in t for t in tests) for i in range(1, 7)}
    live = monitoring.Exposure(
        revision_id=1, track="CAWM", attempts=4, rates={i: n / 4 for i, n in counts.items()},
        pretest_rates={}, target=0.25, by_band=(),
    )  # fmt: skip
    pairs = list(combinations(tests, 2))
    mean_length = np.mean([len(t) for t in tests])
    by_pairs = np.mean([len(a & b) for a, b in pairs]) / mean_length
    assert health.overlap(live) == pytest.approx(by_pairs)


def test_information_at_the_cut_against_the_blueprint():
    items = [{"id": k, "domain": "A" if k < 30 else "B", "a": 1.0, "b": 0.0, "c": 0.2,
              "pretest": k == 0} for k in range(34)]  # fmt: skip
    policy = {"exam": {"max_items": 40}, "blueprint": [{"code": "A", "weight": 0.5},
                                                        {"code": "B", "weight": 0.5}]}  # fmt: skip
    a, b = health.domain_supply(items, policy, cut=0.0, target=0.25)
    one = float(irt.information(0.0, np.array([1.0]), np.array([0.0]), np.array([0.2]))[0])
    assert a.items == 29 and a.quota == 20 and a.items_needed == 80  # 20 per test / 0.25
    assert a.information == pytest.approx(29 * one, abs=1e-3)
    assert a.need == pytest.approx(0.5 / 0.09, abs=1e-3) and a.supply == pytest.approx(
        0.25 * 29 * one, abs=1e-3
    )
    assert a.short and b.items == 4 and b.ratio < a.ratio


def test_drift_between_the_two_newest_revisions_that_differ():
    def rev(i, items):
        return SimpleNamespace(
            id=i, items=[{"id": v, "a": a, "b": b, "c": 0.2} for v, a, b in items]
        )

    r1 = rev(1, [(10, 1.0, 0.0), (11, 1.0, 1.0)])
    r2 = rev(2, [(10, 1.0, 0.4), (11, 1.8, 1.1), (12, 1.0, 0.0)])
    r3 = rev(3, [(10, 1.0, 0.4), (11, 1.8, 1.1), (12, 1.0, 0.0)])  # same parameters as r2
    d = health.drift([r3, r2, r1])
    assert (d.older, d.newer, d.common) == (1, 2, 2)
    assert d.mean_b == pytest.approx(0.25) and [c[0] for c in d.large] == [11]
    assert health.drift([r3, r2]) is None


def test_monitoring_page_api_and_dashboard_alerts(app, client, session, clock):
    _finished(session, clock, 3)
    app.state.settings = app.state.settings.model_copy(update={"calibration_min_responses": 1})
    revision = pools.active(session, track="CAWM")
    pretest = {p["id"] for p in revision.items if p["pretest"]}
    sign_in(client, make_admin(session))
    page = client.get("/admin/pools/CAWM/monitoring")
    assert page.status_code == 200 and "CAWM pool monitoring" in page.text
    api = client.get("/api/v1/admin/pools/CAWM/monitoring").json()
    assert api["revision"] == revision.id and api["exposure"]["attempts"] == 3
    assert 0 < api["overlap"] <= 1
    assert {d["domain"] for d in api["information_at_cut"]} == {"A", "B", "C", "D", "E", "F"}
    ready = [p for p in api["pretest"]["items"] if p["ready"]]
    assert {p["version"] for p in api["pretest"]["items"]} == pretest
    assert len(ready) >= 5 and all(p["responses"] >= 1 for p in ready)  # 5 pretest items each
    alert = f"CAWM: {len(ready)} pretest item(s) have at least 1 responses: ready to calibrate."
    assert alert in api["alerts"] and alert in page.text
    assert alert in client.get("/admin").text
    assert client.get("/admin/pools/XYZ/monitoring").status_code == 422


def test_overlap_alerts_only_from_enough_closed_attempts():
    def alerts(attempts: int) -> list[str]:
        live = monitoring.Exposure(
            revision_id=1, track="CAWM", attempts=attempts, rates={1: 0.9, 2: 0.9, 3: 0.1},
            pretest_rates={}, target=0.25, by_band=(),
        )  # fmt: skip
        return health.Health(
            track="CAWM", revision_id=1, cut=0.0, live=live, overlap=health.overlap(live),
            supply=[], drift=None, analysis=None, pretest=[], min_responses=1,
        ).alerts  # fmt: skip

    few, enough = monitoring.MIN_ATTEMPTS_TO_ALERT - 1, monitoring.MIN_ATTEMPTS_TO_ALERT
    assert alerts(few) == []  # two or three candidates sharing items by chance is noise
    assert [a for a in alerts(enough) if "share" in a and "of their items" in a]
