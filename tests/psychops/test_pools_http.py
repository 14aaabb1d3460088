"""The Item pools pages: revisions, live exposure read from stored attempts, activation,
and the response data as CSV and Parquet."""

import csv
import io

import pyarrow.parquet as pq

from app.itembank import pools
from app.psychops import monitoring, responses
from app.psychops import views as pool_views
from tests.factories.accounts import csrf_from, make_user, sign_in
from tests.factories.exams import make_admin, run_to_end, start


def _finished(session, clock, n: int) -> list[int]:
    """n attempts run to their end, each seeded (items and answers), so their records, and
    what a calibration run makes of them, are the same every time."""
    ids = []
    for k in range(n):
        user = make_user(session)
        attempt = start(session, user, clock, seed=1000 + k)
        run_to_end(session, user, clock, attempt.id, seed=k)
        ids.append(attempt.id)
    return ids


def test_pool_pages_show_the_live_exposure_of_the_stored_attempts(client, session, clock):
    _finished(session, clock, 2)
    revision = pools.active_id(session, track="CAWM")
    live = monitoring.live_exposure(session, revision_id=revision)
    assert live.attempts == 2 and live.max_rate == 1.0  # two candidates share some item
    sign_in(client, make_admin(session))
    index = client.get("/admin/pools")
    assert index.status_code == 200
    assert f"Revision {revision} in force. Live exposure over 2 finished attempts" in index.text
    page = client.get(f"/admin/pools/revisions/{revision}")
    assert "the most used item was given to <strong>1.000</strong> of candidates" in page.text
    assert "conditional on bands of ability of width 0.5, capped at 0.30 within a band" in page.text
    api = client.get(f"/api/v1/admin/pools/revisions/{revision}/exposure").json()
    assert api["max_exposure"] == live.max_rate and api["attempts"] == 2
    dashboard = client.get("/admin")
    assert "Every track has a pool revision in force" in dashboard.text, pool_views.alerts(session)


def test_activation_from_the_page_against_a_stale_base_is_refused(client, session, clock):
    old = pools.active_id(session, track="CAWM")
    sign_in(client, make_admin(session))
    page = client.get(f"/admin/pools/revisions/{old}")
    token = csrf_from(page.text)
    stale = client.post(
        f"/admin/pools/revisions/{old}/activate", data={"base": old + 1000, "csrf_token": token}
    )
    assert stale.status_code == 303
    shown = client.get(stale.headers["location"]).text
    assert f"revision {old} is now in force, not {old + 1000}" in shown
    assert pools.active_id(session, track="CAWM") == old


def test_responses_export_as_csv_and_parquet_with_pseudonyms(client, session, clock):
    ids = _finished(session, clock, 2)
    user = make_admin(session)
    sign_in(client, user)
    table = client.get("/admin/pools/CAWM/responses.csv")
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [int(r["attempt"]) for r in rows[:1]] == ids[:1]
    assert {int(r["attempt"]) for r in rows} == set(ids)
    assert set(rows[0]) == set(responses.COLUMNS)
    assert all(len(r["candidate"]) == 16 and "@" not in r["candidate"] for r in rows)
    assert {r["pretest"] for r in rows} == {"True", "False"}  # 5 pretest items per attempt
    parquet = client.get("/admin/pools/CAWM/responses.parquet")
    frame = pq.read_table(io.BytesIO(parquet.content)).to_pydict()
    assert frame["attempt"] == [int(r["attempt"]) for r in rows]
    assert frame["correct"] == [r["correct"] == "True" for r in rows]
    assert client.get("/admin/pools/XYZ/responses.csv").status_code == 422
