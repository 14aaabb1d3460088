"""An approved cut applies to attempts started from its effective date; earlier ones keep theirs."""

from datetime import timedelta

import pytest
from sqlmodel import select

from app.core.errors import InvalidInput
from app.core.models import AuditEntry
from app.courses import service as courses
from app.exams.models import ExamAttempt
from tests.factories.accounts import make_user
from tests.factories.exams import make_admin, run_to_end, start


def _approve(session, clock, admin, *, theta, hours_ahead=0.0):
    track = courses.get_track(session, "CAWM")
    row = courses.add_cut(
        session,
        track=track,
        cut_theta=theta,
        effective_at=clock() + timedelta(hours=hours_ahead),
        source="test",
        approved_by=admin.id,
        now=clock(),
    )
    session.commit()
    return row


def test_attempts_started_from_the_effective_date_use_the_new_cut(session, clock):
    admin = make_admin(session)
    before, after = make_user(session), make_user(session)
    _approve(session, clock, admin, theta=0.7, hours_ahead=2)
    early = start(session, before, clock)
    clock.advance(hours=2)
    late = start(session, after, clock)
    assert early.policy["exam"]["cut_theta"] == 0.0
    assert early.policy["cut"]["source"] == "track file"
    assert late.policy["exam"]["cut_theta"] == 0.7
    assert late.policy["cut"]["source"] == "test"
    for user, attempt in ((before, early), (after, late)):
        run_to_end(session, user, clock, attempt.id, p_correct=0.6)
        row = session.get(ExamAttempt, attempt.id, populate_existing=True)
        theta = row.result["theta"]
        assert row.passed == (theta >= attempt.policy["exam"]["cut_theta"])


def test_the_latest_effective_cut_wins_and_the_file_cut_applies_without_one(session, clock):
    admin = make_admin(session)
    track = courses.get_track(session, "CAWM")
    assert courses.cut_in_force(session, track=track, now=clock()).theta == 0.0
    _approve(session, clock, admin, theta=0.3)
    _approve(session, clock, admin, theta=-0.2, hours_ahead=24)
    assert courses.cut_in_force(session, track=track, now=clock()).theta == 0.3
    clock.advance(hours=24)
    assert courses.cut_in_force(session, track=track, now=clock()).theta == -0.2
    actions = session.exec(select(AuditEntry.action)).all()
    assert actions.count("track.cut_approved") == 2


@pytest.mark.parametrize(
    ("theta", "hours", "message"),
    [(0.5, -1, "is in the past"), (4.5, 0, "between theta -4 and 4")],
)
def test_a_backdated_or_impossible_cut_is_refused(session, clock, theta, hours, message):
    admin = make_admin(session)
    with pytest.raises(InvalidInput, match=message):
        _approve(session, clock, admin, theta=theta, hours_ahead=hours)
