"""Item analysis: known values on constructed responses, flags, the stored run, the pages."""

import numpy as np

from app.psychometrics import irt
from app.psychops import analysis, snapshots
from app.psychops.loading import Responses
from tests.factories.accounts import csrf_from, make_user, sign_in
from tests.factories.exams import answer, make_admin, start


def _responses(rows, omits=None) -> Responses:
    """rows: (attempt, version, correct, option, theta, scored), in attempt order."""
    attempt = np.array([r[0] for r in rows])
    labels = sorted({r[3] for r in rows})
    starts = np.flatnonzero(np.r_[True, attempt[1:] != attempt[:-1]])
    return Responses(
        attempt=attempt, version=np.array([r[1] for r in rows]),
        correct=np.array([r[2] for r in rows], bool),
        option=np.array([labels.index(r[3]) for r in rows], np.int32), options=labels,
        seconds=10.0 + np.arange(len(rows)) % 7, theta=np.array([r[4] for r in rows], float),
        scored=np.array([r[5] for r in rows], bool), offsets=np.r_[starts, len(rows)],
        omits=omits or {},
    )  # fmt: skip


def _simulated(n=4000, seed=4):
    """Each candidate answers four model items (1, 4, 5, 6: scored), a pretest item answered
    at random (2) and a pretest item whose wrong option B draws the able (3), in a random
    order."""
    rng = np.random.default_rng(seed)
    thetas = rng.normal(0, 1, n)
    rows = []
    for k, t in enumerate(thetas):
        mine = []
        for v, (a, b, c) in MODEL.items():
            ok = bool(
                rng.random() < irt.probability(t, np.array([a]), np.array([b]), np.array([c]))[0]
            )
            mine.append((k + 1, v, ok, "A" if ok else "C", t, True))
        rand = bool(rng.random() < 0.5)
        pulls = t > 0.8 and rng.random() < 0.6
        mine += [(k + 1, 2, rand, "A" if rand else "D", t, False),
                 (k + 1, 3, not pulls, "B" if pulls else "A", t, False)]  # fmt: skip
        rows += [mine[j] for j in rng.permutation(len(mine))]
    return rows


MODEL = {1: (1.2, 0.0, 0.2), 4: (1.0, -1.0, 0.2), 5: (1.5, 0.5, 0.2), 6: (0.9, 1.0, 0.2)}


def test_statistics_fit_and_flags_on_simulated_responses():
    params = {**MODEL, 2: (1.2, 0.0, 0.2), 3: (1.0, -1.0, 0.2)}
    r = _responses(_simulated(), omits={2: 400})
    codes = {1: "GOOD", 2: "BAD", 3: "PRE", 4: "M4", 5: "M5", 6: "M6"}
    stats, quintiles = analysis.analyse(r, params, codes)
    s = {x.item: x for x in stats}
    assert s["GOOD"].n == 4000 and s["GOOD"].rmsd < 0.05 and s["GOOD"].r_theta > 0.3
    assert all(s[k].sx2_p > 0.01 and s[k].flags == () for k in ("GOOD", "M4", "M5", "M6"))
    assert s["GOOD"].sx2_df >= 5
    assert s["BAD"].sx2_p < 1e-6 and abs(s["BAD"].r_theta) < 0.06 and s["BAD"].pretest
    assert s["BAD"].omits == 400 and s["BAD"].omit_rate == 400 / 4400
    assert s["BAD"].flags == ("weak discrimination", "misfit (RMSD)", "misfit (S-X2)",
                              "often omitted")  # fmt: skip
    assert s["PRE"].pretest and s["PRE"].key == "A"
    assert "distractor draws the able" in s["PRE"].flags
    assert s["PRE"].choice["Q5 (highest)"]["B"] > 0.5 and s["PRE"].choice["Q1 (lowest)"] == {
        "A": 1.0
    }
    assert quintiles == sorted(quintiles) and len(quintiles) == 5
    assert s["GOOD"].median_seconds == float(np.median(r.seconds[r.version == 1]))
    # the empirical curve: ten groups of the item's respondents, rising with theta
    shares = [g[2] for g in s["GOOD"].icc]
    assert len(shares) == 10 and shares[0] < 0.35 < 0.85 < shares[-1]
    # calibrated parameters cost three degrees of freedom
    (again,) = [x for x in analysis.analyse(r, params, {}, frozenset({1}))[0] if x.version == 1]
    assert again.sx2_df == s["GOOD"].sx2_df - 3
    assert analysis.ItemStats.from_dict(s["PRE"].to_dict()) == s["PRE"]


def test_no_flags_below_the_minimum_and_no_fit_without_parameters():
    rows = [(k + 1, 7, k % 2 == 0, "A" if k % 2 == 0 else "B", k / 10, True) for k in range(20)]
    (s,) = analysis.analyse(_responses(rows), {}, {})[0]
    assert s.n < analysis.MIN_RESPONSES and s.flags == () and s.rmsd is None and s.sx2 is None


def _finished(session, clock, n: int, expire_last=False) -> list[int]:
    from tests.factories.exams import run_to_end

    ids = []
    for k in range(n):
        user = make_user(session)
        attempt = start(session, user, clock)
        if expire_last and k == n - 1:  # answers two, is shown a third, and runs out of time
            answer(session, user, clock, attempt.id, True)
            answer(session, user, clock, attempt.id, False)
            from app.exams import service as exams

            exams.present(session=session, user_id=user.id, attempt_id=attempt.id, now=clock())
            clock.advance(minutes=200)
            from app.exams.closing import expire_overdue

            expire_overdue(session=session, now=clock())
        else:
            run_to_end(session, user, clock, attempt.id, seed=k)
        ids.append(attempt.id)
    return ids


def test_the_analysis_runs_as_a_job_and_the_pages_show_it(app, client, session, clock):
    _finished(session, clock, 3, expire_last=True)
    sign_in(client, make_admin(session))
    page = client.get("/admin/pools/CAWM/analysis")
    assert (
        page.status_code == 200 and "No item analysis of CAWM yet (3 closed attempts)" in page.text
    )
    assert client.get("/admin/pools/CAWM/analysis.csv").status_code == 404
    run = client.post("/admin/pools/CAWM/analysis/run", data={"csrf_token": csrf_from(page.text)})
    assert run.status_code == 303
    assert "is being computed" not in client.get("/admin/pools/CAWM/analysis").text
    app.state.jobs.drain()
    page = client.get("/admin/pools/CAWM/analysis")
    snap = snapshots.latest(session, track="CAWM")
    assert snap.attempts == 3 and f"Analysis {snap.id}, computed" in page.text
    omitted = [s for s in snap.items if s.omits]  # shown to the last candidate, unanswered
    assert len(omitted) == 1 and omitted[0].omits == 1
    assert omitted[0].omit_rate == 1 / (omitted[0].n + 1)
    first = snap.items[0]
    # the list: every item of the analysis, in its order, with its flags, from the list columns
    links = [f'href="/admin/pools/CAWM/items/{s.version}"' for s in snap.items]
    assert all(link in page.text for link in links)
    assert [page.text.index(link) for link in links] == sorted(page.text.index(x) for x in links)
    assert f"{len(snap.flagged)} of {len(snap.items)} items flagged." in page.text
    listed = snapshots.listing(session, snap.id)
    assert [(r.version, r.n, r.p, r.sx2_p, r.flags) for r in listed] == [
        (s.version, s.n, s.p, s.sx2_p, s.flags) for s in snap.items
    ]
    # the charts job (queued by the analysis, run by the drain) drew every item's charts ahead
    assert snapshots.undrawn(session, snap.id) == []
    _stats, drawn = snapshots.item(session, snap.id, first.version)
    assert drawn["cut"] == 0.0 and drawn["icc"].startswith("data:image/svg+xml;base64,")
    item = client.get(f"/admin/pools/CAWM/items/{first.version}")
    assert item.status_code == 200 and f"Item {first.item}" in item.text
    assert item.text.count('src="data:image/svg+xml;base64,') == 3
    assert f'<img src="{drawn["icc"]}" alt="Share correct in ten ability groups' in item.text
    assert item.text.count('" alt="') == 3  # every chart has a text alternative
    assert "Observed and model share correct by ability group" in item.text
    assert client.get("/admin/pools/CAWM/items/999999").status_code == 404
    table = client.get("/admin/pools/CAWM/analysis.csv").text.splitlines()
    assert table[0].startswith("item,version,pretest,n,omits,omit_rate,p,r_theta")
    assert "sx2,sx2_df,sx2_p" in table[0] and len(table) == len(snap.items) + 1
    api = client.get("/api/v1/admin/pools/CAWM/analysis").json()
    assert api["analysis"] == snap.id and len(api["items"]) == len(snap.items)
    one = client.get(f"/api/v1/admin/pools/CAWM/items/{first.version}").json()
    assert one["p"] == first.p and one["item"] == first.item
    assert client.get("/admin/pools/NOPE/analysis").status_code == 422


def test_an_item_page_draws_its_charts_when_none_were_drawn_at_the_cut(app, client, session, clock):
    _finished(session, clock, 2)
    sign_in(client, make_admin(session))
    analysis_id = snapshots.run_now(session, track="CAWM", now=clock())
    version = snapshots.listing(session, analysis_id)[0].version
    assert snapshots.item(session, analysis_id, version)[1] is None  # the job has not run
    page = client.get(f"/admin/pools/CAWM/items/{version}")
    assert page.status_code == 200 and page.text.count('src="data:image/svg+xml;base64,') == 3
    row_id = snapshots.undrawn(session, analysis_id)[0]
    stale = {"cut": 0.5, "icc": "data:image/svg+xml;base64,STALE", "options": None,
             "information": None}  # fmt: skip
    snapshots.store_charts(session, row_id, stale)  # drawn at another cut: not shown
    session.commit()
    page = client.get(f"/admin/pools/CAWM/items/{version}")
    assert "STALE" not in page.text and page.text.count('src="data:image/svg+xml;base64,') == 3
