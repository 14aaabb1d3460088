"""Standard setting over HTTP: the administrator's pages, the panelist's, and bad input."""

import re

from sqlmodel import select

from app.standards import service
from app.standards.models import Study
from tests.factories.accounts import csrf, make_user, sign_in
from tests.factories.exams import make_admin
from tests.factories.standards import item_codes, make_panelist, make_study, rate
from tests.standards.test_study_service import ROUND_1, ROUND_2


def _as(client, user):
    client.cookies.clear()
    sign_in(client, user)
    return csrf(client)


def test_the_administrator_sets_up_a_study_and_adds_the_panel(client, session):
    admin, panelist = make_admin(session), make_panelist(session)
    token = _as(client, admin)
    codes = " ".join(item_codes(session, n=4))
    response = client.post(
        "/admin/standards",
        data={
            "csrf_token": token,
            "track": "CAWM",
            "title": "Spring study",
            "rounds": "2",
            "min_panelists": "1",
            "item_codes": codes,
        },
    )
    assert response.status_code == 303
    study = session.exec(select(Study).where(Study.title == "Spring study")).one()
    assert response.headers["location"] == f"/admin/standards/{study.id}"
    added = client.post(
        f"/admin/standards/{study.id}/panelists",
        data={"csrf_token": token, "email": panelist.email},
    )
    assert added.status_code == 303
    learner = make_user(session)
    refused = client.post(
        f"/admin/standards/{study.id}/panelists", data={"csrf_token": token, "email": learner.email}
    )
    assert refused.status_code == 409
    assert "only accounts with the panelist role sit on a panel" in refused.text
    page = client.get(f"/admin/standards/{study.id}")
    assert panelist.email in page.text and "0 of 4" in page.text


def test_a_non_panelist_opening_a_rating_page_gets_403(client, session, settings, clock):
    admin, panelist = make_admin(session), make_panelist(session)
    study = make_study(session, settings, admin, clock, panelists=[panelist])
    service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
    for user in (make_user(session), admin, make_panelist(session)):  # learner, admin, not on panel
        _as(client, user)
        page = client.get(f"/panel/studies/{study.id}/items/1")
        assert page.status_code == 403, user.role
    _as(client, panelist)
    page = client.get(f"/panel/studies/{study.id}/items/1")
    assert page.status_code == 200 and "(key)" in page.text


def test_a_rating_outside_0_to_100_gets_a_message_and_keeps_the_others(
    client, session, settings, clock
):
    admin, panelist = make_admin(session), make_panelist(session)
    study = make_study(session, settings, admin, clock, panelists=[panelist])
    service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
    token = _as(client, panelist)
    form = {"csrf_token": token, "r-1": "75", "r-2": "150", "r-3": "60"}
    page = client.post(f"/panel/studies/{study.id}/ratings", data=form)
    assert page.status_code == 422
    assert "Item 2: 150 is outside 0 to 100; enter a percentage." in page.text
    assert 'value="150"' in page.text  # what was typed stays in its field
    again = client.get(f"/panel/studies/{study.id}")
    assert 'value="75"' in again.text and 'value="60"' in again.text
    one = client.post(
        f"/panel/studies/{study.id}/items/4", data={"csrf_token": token, "rating": "-3"}
    )
    assert one.status_code == 422 and "Item 4: -3 is outside 0 to 100" in one.text
    ok = client.post(
        f"/panel/studies/{study.id}/items/4", data={"csrf_token": token, "rating": "40"}
    )
    assert ok.status_code == 303
    assert ok.headers["location"] == f"/panel/studies/{study.id}/items/5"
    api = client.put(
        f"/api/v1/panel/studies/{study.id}/ratings",
        headers={"X-CSRF-Token": token},
        json={"ratings": {"5": 30, "6": 101}},
    )
    assert api.status_code == 422
    body = api.json()["error"]
    assert body["saved"] == [5] and "Item 6: 101 is outside 0 to 100" in body["refused"]["6"]


def test_ratings_stay_hidden_from_the_panel_until_the_round_closes(
    client, session, settings, clock
):
    admin, panel = make_admin(session), [make_panelist(session) for _ in range(3)]
    study = make_study(session, settings, admin, clock, panelists=panel)
    service.open_round(session=session, admin=admin, study_id=study.id, now=clock())
    for user, row in zip(panel, ROUND_1, strict=True):
        rate(session, clock, study.id, user, row)
    _as(client, panel[0])
    mine = client.get(f"/panel/studies/{study.id}")
    assert 'value="70"' in mine.text and 'value="90"' not in mine.text  # P2's first rating
    hidden = client.get(f"/panel/studies/{study.id}/rounds/1")
    assert hidden.status_code == 409 and "shown when the round closes" in hidden.text
    service.close_round(session=session, admin=admin, study_id=study.id, now=clock())
    shown = client.get(f"/panel/studies/{study.id}/rounds/1")
    assert shown.status_code == 200 and "70, 80, 90" in shown.text
    assert panel[1].name not in shown.text  # the panel sees ratings, never names


def test_approval_refusals_and_the_report(client, session, settings, clock):
    admin, panel = make_admin(session), [make_panelist(session) for _ in range(3)]
    study = make_study(session, settings, admin, clock, panelists=panel[:2])
    token = _as(client, admin)
    url = f"/admin/standards/{study.id}"
    client.post(f"{url}/rounds/open", data={"csrf_token": token})
    refused = client.post(f"{url}/approve", data={"csrf_token": token})
    assert refused.status_code == 409 and "Round 1 of 2 is still open; close it" in refused.text
    for user, row in zip(panel[:2], ROUND_1, strict=False):
        rate(session, clock, study.id, user, row)
    client.post(f"{url}/rounds/close", data={"csrf_token": token})
    client.post(f"{url}/panelists", data={"csrf_token": token, "email": panel[2].email})
    client.post(f"{url}/rounds/open", data={"csrf_token": token})
    for user, row in zip(panel, ROUND_2, strict=True):
        rate(session, clock, study.id, user, row)
    client.post(f"{url}/rounds/close", data={"csrf_token": token})
    past = client.post(
        f"{url}/approve", data={"csrf_token": token, "effective_at": "2020-01-01T00:00"}
    )
    assert past.status_code == 422 and "is in the past" in past.text
    done = client.post(f"{url}/approve", data={"csrf_token": token, "note": "Panel consensus."})
    assert done.status_code == 303
    report = client.get(f"{url}/report")
    assert "3.80" in report.text and "Panel consensus." in report.text
    assert re.search(r"theta -?\d\.\d{4}, in force for attempts started from", report.text)
    pdf = client.get(f"{url}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
