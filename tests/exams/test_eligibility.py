"""Eligibility: prerequisites, waivers, the certified-tracks port, retakes, one open attempt."""

from datetime import timedelta

import pytest

from app.core.clock import as_utc
from app.exams import eligibility
from app.exams import service as exams
from app.exams.errors import NotEligible
from app.exams.ports import Ports
from tests.factories import exams as fx
from tests.factories.accounts import make_user


def check(session, user, clock, track="CAWM", certified=fx.no_certs):
    return exams.eligibility_for(
        session=session,
        user_id=user.id,
        track=track,
        now=clock(),
        ports=Ports(certified_tracks=certified),
    )


def finish_quickly(session, user, clock, attempt_id):
    fx.run_to_end(session, user, clock, attempt_id, p_correct=0.0)


def test_foundation_track_has_no_prerequisite(session, clock):
    e = check(session, make_user(session), clock)
    assert e.eligible and e.reasons == []


def test_prerequisite_missing_says_what_is_needed(session, clock):
    user = make_user(session)
    e = check(session, user, clock, "WMP")
    assert not e.eligible
    assert e.reasons == [
        "The WMP exam requires an active CAWM certificate or an administrator's waiver."
    ]
    assert e.available_from is None
    with pytest.raises(NotEligible):
        fx.start(session, user, clock, "WMP")


def test_certified_tracks_port_satisfies_the_prerequisite(session, clock):
    user = make_user(session)
    e = check(session, user, clock, "CWA", certified=lambda s, uid: {"CAWM"})
    assert e.eligible
    attempt = fx.start(session, user, clock, "CWA", certified=lambda s, uid: {"CAWM"})
    assert attempt.status == "open"


def test_waiver_satisfies_and_withdrawal_removes_it(session, clock):
    user, admin = make_user(session), fx.make_admin(session)
    fx.waive(session, user, "WMP", clock, admin)
    e = check(session, user, clock, "WMP")
    assert e.eligible and e.waiver
    assert not check(session, user, clock, "CWA").eligible  # a waiver is per track
    eligibility.withdraw_waiver(
        session=session,
        actor=admin,
        user_id=user.id,
        track="WMP",
        reason="granted in error",
        now=clock(),
    )
    assert not check(session, user, clock, "WMP").eligible


def test_waiver_not_allowed_on_foundation_track(session, clock):
    from app.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        fx.waive(session, make_user(session), "CAWM", clock)


def test_one_open_attempt_per_track(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    e = check(session, user, clock)
    assert not e.eligible and e.open_attempt_id == attempt.id
    assert "attempt in progress" in e.reasons[0]
    with pytest.raises(NotEligible):
        fx.start(session, user, clock)


def test_retake_wait_says_from_when(session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    finish_quickly(session, user, clock, attempt.id)
    session.refresh(attempt)
    finished = as_utc(attempt.finished_at)
    clock.advance(days=3)
    e = check(session, user, clock)
    assert not e.eligible
    assert e.available_from == finished + timedelta(days=14)
    assert e.reasons == ["After an attempt you wait 14 days before the next."]
    clock.now = finished + timedelta(days=14)
    assert check(session, user, clock).eligible


def test_yearly_limit_says_when_the_next_attempt_frees_up(session, clock):
    user = make_user(session)
    first_start = as_utc(clock())
    for _ in range(3):
        attempt = fx.start(session, user, clock)
        finish_quickly(session, user, clock, attempt.id)
        clock.advance(days=15)
    e = check(session, user, clock)
    assert not e.eligible and e.attempts_last_12_months == 3
    assert "at most 3 attempts in 12 months" in e.reasons[0]
    assert e.available_from == first_start.replace(year=first_start.year + 1)
    clock.now = e.available_from
    assert check(session, user, clock).eligible
