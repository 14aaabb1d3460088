"""A certificate holder is told they hold it and until when (not a red refusal with one date
twice), and dates and times are shown in the user's own time zone, stored in UTC."""

import re

from sqlmodel import select

from app.accounts.models import User
from app.credentials.models import Certificate
from tests.factories.accounts import csrf, make_user, sign_in
from tests.test_mail_journeys import _sit


def test_a_holder_reads_that_they_hold_the_certificate_and_until_when(app, client, session, clock):
    user, attempt_id = _sit(app, session, clock, correct=True)
    cert = session.exec(select(Certificate).where(Certificate.attempt_id == attempt_id)).one()
    sign_in(client, user)
    page = client.get("/exams/CAWM").text
    held = f'You hold the CAWM certificate <a href="/verify/{cert.number}">{cert.number}</a>'
    assert f"{held}, valid until {cert.expires_at:%d %B %Y}." in page
    assert "You may not start this exam yet" not in page
    assert "You may sit this exam again from <strong>" in page
    main = page.split('<main id="main"', 1)[1].split("<h2>Your attempts", 1)[0]
    days = re.findall(r"\d{2} (?:[A-Z][a-z]{2,8}) 20\d\d", main)
    assert len([d for d in days if d != f"{cert.expires_at:%d %B %Y}"]) == 1, days  # date once
    api = client.get("/api/v1/exams/CAWM/eligibility").json()
    assert api["held"]["number"] == cert.number
    assert api["reasons"] == ["After an attempt you wait 14 days before the next."]
    assert client.get("/api/v1/exams/WMP/eligibility").json()["held"] is None


def test_dates_and_times_show_in_the_time_zone_of_the_profile(client, session, clock):
    user = make_user(session, name="Hiro Tanaka")
    sign_in(client, user)
    profile = client.get("/profile").text
    assert "<option selected>UTC</option>" in profile and "<option>Asia/Tokyo</option>" in profile
    client.post("/profile/tokens", data={"csrf_token": csrf(client), "name": "script"})
    assert "25 Nov 2026 09:00 UTC" in client.get("/profile").text  # the token's creation

    saved = client.post(
        "/profile",
        data={"csrf_token": csrf(client), "name": "Hiro Tanaka", "time_zone": "Asia/Tokyo"},
    )
    assert saved.status_code == 303
    session.expire_all()
    assert session.get(User, user.id).time_zone == "Asia/Tokyo"
    page = client.get("/profile").text
    assert "<option selected>Asia/Tokyo</option>" in page
    assert "25 Nov 2026 18:00 JST" in page and "09:00 UTC" not in page

    wrong = client.post(
        "/profile", data={"csrf_token": csrf(client), "name": "Hiro T", "time_zone": "Mars/Olympus"}
    )
    assert wrong.status_code == 422 and "Choose your time zone from the list" in wrong.text
    assert 'value="Hiro T"' in wrong.text  # what was typed is kept
    session.expire_all()
    assert session.get(User, user.id).time_zone == "Asia/Tokyo"
