"""Appeals and complaints through the services: windows, flags, outcomes, certificates."""

import pytest
from sqlmodel import select

from app.appeals import service, withdrawals
from app.appeals.errors import WindowClosed
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.models import AuditEntry, OutboxMessage
from app.courses import service as courses
from app.credentials.models import Certificate
from app.exams import engine_bridge as bridge
from app.exams import service as exams
from app.exams.models import ExamDecision, ExamResponse
from app.exams.ports import Ports
from app.itembank.models import Item, ItemVersion
from tests.factories.accounts import make_user
from tests.factories.appeals import certify, expired_after, finished
from tests.factories.exams import make_admin, start

GROUNDS = "Question 3 had two defensible answers and I lost time on it."


def _appeal(session, settings, user, attempt, clock):
    return service.submit_appeal(
        session=session,
        settings=settings,
        user=user,
        attempt_id=attempt.id,
        grounds=GROUNDS,
        now=clock(),
    )


def _decide(session, admin, case, clock, outcome, exclude=()):
    return service.decide(
        session=session,
        admin=admin,
        case_id=case.id,
        outcome=outcome,
        reasons="Reviewed the log and the item statistics.",
        exclude=list(exclude),
        now=clock(),
    )


def _log(session, attempt_id):
    query = select(ExamResponse).where(ExamResponse.attempt_id == attempt_id)
    return list(session.exec(query.order_by(ExamResponse.position)))


def test_an_appeal_after_its_window_is_refused_with_the_windows_dates(session, settings, clock):
    user = make_user(session)
    attempt = finished(session, user, clock, p_correct=0.5)
    clock.advance(days=31)
    with pytest.raises(WindowClosed) as refused:
        _appeal(session, settings, user, attempt, clock)
    ended = attempt.finished_at
    assert f"ran from {ended:%d %B %Y %H:%M} to " in refused.value.message
    assert "it has closed" in refused.value.message and refused.value.status_code == 409


def test_appeals_need_grounds_an_own_closed_attempt_and_one_at_a_time(session, settings, clock):
    user, other = make_user(session), make_user(session)
    attempt = finished(session, user, clock, p_correct=0.5)
    with pytest.raises(NotFound):
        _appeal(session, settings, other, attempt, clock)
    with pytest.raises(InvalidInput, match="20 to 5000 characters"):
        service.submit_appeal(
            session=session,
            settings=settings,
            user=user,
            attempt_id=attempt.id,
            grounds="unfair",
            now=clock(),
        )
    case = _appeal(session, settings, user, attempt, clock)
    with pytest.raises(Conflict, match=f"Your appeal {case.id} against this result is still"):
        _appeal(session, settings, user, attempt, clock)
    running = start(session, other, clock)
    with pytest.raises(Conflict, match="still in progress"):
        _appeal(session, settings, other, running, clock)


def test_an_item_is_flagged_right_after_the_exam_once(session, settings, clock):
    user = make_user(session)
    attempt = finished(session, user, clock, p_correct=0.5)
    flag = service.flag_item(
        session=session,
        settings=settings,
        user=user,
        attempt_id=attempt.id,
        position=2,
        comment="No option is right.",
        now=clock(),
    )
    assert flag.item_version_id == _log(session, attempt.id)[1].item_version_id
    with pytest.raises(Conflict, match="already flagged question 2"):
        service.flag_item(
            session=session,
            settings=settings,
            user=user,
            attempt_id=attempt.id,
            position=2,
            comment="Again.",
            now=clock(),
        )
    with pytest.raises(NotFound, match="no question 999"):
        service.flag_item(
            session=session,
            settings=settings,
            user=user,
            attempt_id=attempt.id,
            position=999,
            comment="Missing.",
            now=clock(),
        )
    clock.advance(hours=73)
    with pytest.raises(WindowClosed, match="flagging items of"):
        service.flag_item(
            session=session,
            settings=settings,
            user=user,
            attempt_id=attempt.id,
            position=3,
            comment="Late flag.",
            now=clock(),
        )


def test_a_rescore_that_turns_a_fail_into_a_pass_issues_the_certificate(
    app, session, settings, clock
):
    user, admin = make_user(session), make_admin(session)
    attempt = finished(session, user, clock, p_correct=0.3)
    assert attempt.passed is False
    wrong = [r.item_version_id for r in _log(session, attempt.id) if not r.correct]
    case = _appeal(session, settings, user, attempt, clock)
    decided = _decide(session, admin, case, clock, "rescored", exclude=wrong)
    app.state.jobs.drain()
    decision = session.get(ExamDecision, decided.decision_id)
    assert decision.passed is True and decision.previous_passed is False
    assert sorted(decision.excluded) == sorted(wrong)
    cert = session.exec(select(Certificate).where(Certificate.attempt_id == attempt.id)).one()
    assert cert.status == "active" and cert.user_id == user.id
    assert exams.in_force(session, attempt.id).passed is True
    again = exams.attempt_by_id(session, attempt.id)
    assert again.passed is False  # the attempt's own record is never changed
    mail = session.exec(
        select(OutboxMessage).where(
            OutboxMessage.to_address == user.email, OutboxMessage.kind == "appeal"
        )
    ).one()
    assert "rescored" in mail.body and "now stands as a pass" in mail.body


def test_a_rescore_that_turns_a_pass_into_a_fail_revokes_with_the_reason(
    app, session, settings, clock
):
    user, admin = make_user(session), make_admin(session)
    attempt = finished(session, user, clock, p_correct=0.9)
    assert attempt.passed is True
    cert = certify(session, settings, attempt, clock)
    right = [r.item_version_id for r in _log(session, attempt.id) if r.correct]
    case = _appeal(session, settings, user, attempt, clock)
    _decide(session, admin, case, clock, "rescored", exclude=right)
    app.state.jobs.drain()
    session.refresh(cert)
    assert cert.status == "revoked"
    assert cert.revocation_reason.startswith(f"Rescored (appeal {case.id}): Reviewed the log")


def test_a_void_gives_a_free_retake_and_revokes_its_certificate(app, session, settings, clock):
    user, admin = make_user(session), make_admin(session)
    attempt = finished(session, user, clock, p_correct=0.9)
    cert = certify(session, settings, attempt, clock)
    assert not exams.eligibility_for(
        session=session,
        user_id=user.id,
        track="CAWM",
        now=clock(),
        ports=Ports(certified_tracks=lambda s, u: set()),
    ).eligible
    case = _appeal(session, settings, user, attempt, clock)
    _decide(session, admin, case, clock, "voided")
    app.state.jobs.drain()
    session.refresh(cert)
    assert cert.status == "revoked"
    verdict = exams.eligibility_for(
        session=session,
        user_id=user.id,
        track="CAWM",
        now=clock(),
        ports=Ports(certified_tracks=lambda s, u: set()),
    )
    assert verdict.eligible, verdict.reasons


def test_only_another_administrator_decides_and_only_once(session, settings, clock):
    admin, other = make_admin(session), make_admin(session)
    attempt = finished(session, admin, clock, p_correct=0.5)
    case = _appeal(session, settings, admin, attempt, clock)
    with pytest.raises(Forbidden, match="another administrator must review it"):
        _decide(session, admin, case, clock, "dismissed")
    with pytest.raises(InvalidInput, match="withdraws one or more items"):
        _decide(session, other, case, clock, "rescored")
    _decide(session, other, case, clock, "dismissed")
    with pytest.raises(Conflict, match="was decided on"):
        _decide(session, other, case, clock, "voided")
    actions = session.exec(select(AuditEntry.action).where(AuditEntry.subject == f"case:{case.id}"))
    assert list(actions) == ["appeal.submitted", "appeal.decided"]


def test_a_complaint_is_recorded_and_answered(session, clock):
    user, admin = make_user(session), make_admin(session)
    case = service.submit_complaint(
        session=session,
        user=user,
        subject="Noisy room",
        grounds="The test centre was noisy throughout my exam.",
        now=clock(),
    )
    with pytest.raises(InvalidInput, match="upheld, not_upheld"):
        _decide(session, admin, case, clock, "rescored")
    done = _decide(session, admin, case, clock, "upheld")
    assert (done.status, done.outcome, done.decision_id) == ("decided", "upheld", None)
    mail = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "appeal")).one()
    assert "complaint 'Noisy room' has been decided: upheld" in mail.body


def test_withdrawing_an_item_rescores_every_attempt_that_saw_it(app, session, settings, clock):
    admin = make_admin(session)
    courses.add_cut(
        session,
        track=courses.get_track(session, "CAWM"),
        cut_theta=-0.15,
        effective_at=clock(),
        source="test",
        approved_by=admin.id,
        now=clock(),
    )
    session.commit()
    user = make_user(session)
    # one answer, to the faulty item, wrong: theta about -0.35 (fail); without it the estimate
    # is the prior's mean 0 (pass at a cut of -0.15)
    attempt = expired_after(session, user, clock, [False])
    assert attempt.passed is False
    faulty = _log(session, attempt.id)[0].item_version_id
    others = [expired_after(session, make_user(session), clock, [True]) for _ in range(3)]
    code = session.exec(
        select(Item.code)
        .join(ItemVersion, ItemVersion.item_id == Item.id)
        .where(ItemVersion.id == faulty)
    ).one()
    run = withdrawals.start_withdrawal(
        session=session, admin=admin, code=code, reason="Two options are correct.", now=clock()
    )
    app.state.jobs.drain()
    run = withdrawals.get_run(session, run.id)
    affected = exams.attempts_that_saw(session, [faulty])
    assert run.status == "done" and run.attempts == len(affected) and attempt.id in affected
    decided = exams.latest_decisions(session, affected)
    assert all(decided[a].source == f"withdrawal {run.id}" for a in affected)
    changed = sorted(a for a in affected if decided[a].passed != decided[a].previous_passed)
    assert sorted(c["attempt_id"] for c in run.changes) == changed
    assert attempt.id in changed and decided[attempt.id].passed is True
    cert = session.exec(select(Certificate).where(Certificate.attempt_id == attempt.id)).one()
    assert cert.status == "active"
    fresh = start(session, make_user(session), clock)
    assert faulty not in {int(p["id"]) for p in bridge.pool_items(session, fresh.id)}
    assert all(o.status == "expired" for o in others)
