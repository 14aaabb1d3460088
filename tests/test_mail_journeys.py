"""Every event a person must hear about goes through the outbox (issue 14, finding 5): the
exam result (pass or fail), the certificate's issue, revocation and reinstatement; and the
pass page names the certificate just issued."""

from sqlmodel import select

from app.core.models import OutboxMessage
from app.credentials import revocation
from app.exams.ports import Ports
from tests.factories import credentials as cf
from tests.factories import exams as fx
from tests.factories.accounts import make_user, sign_in


def outbox(session, kind=None):
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    rows = session.exec(query.execution_options(populate_existing=True)).all()
    return [m for m in rows if kind is None or m.kind == kind]


def _sit(app, session, clock, correct):
    """A whole attempt through the services, the pass port wired as the app wires it."""
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    passed = app.state.ports.on_exam_passed
    while True:
        clock.advance(minutes=0.5)
        v = fx.exams.present(session=session, user_id=user.id, attempt_id=attempt.id, now=clock())
        if v.item is None:
            break
        key = fx.key_of(session, attempt.id) if correct else fx.wrong_answer(session, attempt.id)
        fx.exams.submit_answer(
            session,
            fx.exams.Answer(user.id, attempt.id, v.item.position, v.item.token, key),
            now=clock(),
            ports=Ports(on_exam_passed=passed),
        )
    app.state.jobs.drain()
    return user, attempt.id


def test_a_pass_mails_the_result_and_the_certificate_and_the_page_names_it(
    app, client, session, clock
):
    user, aid = _sit(app, session, clock, correct=True)
    result = outbox(session, "exam_result")
    assert [m.to_address for m in result] == [user.email]
    assert result[0].subject == "Your CAWM exam result: passed"
    assert f"/exams/attempts/{aid}" in result[0].body and "Result: Pass" in result[0].body
    issued = outbox(session, "certificate_issued")
    assert len(issued) == 1 and issued[0].to_address == user.email
    number = issued[0].subject.split()[3]
    assert f"/verify/{number}" in issued[0].body and f"/certificates/{number}.pdf" in issued[0].body
    assert "unsubscribe" not in (result[0].body + issued[0].body).lower()

    sign_in(client, user)
    page = client.get(f"/exams/attempts/{aid}").text
    assert f"your CAWM certificate <strong>{number}</strong> has been issued" in page
    assert f'href="/verify/{number}"' in page
    app.state.jobs.drain()
    assert len(outbox(session, "exam_result")) == 1, "one result mail, however often drained"


def test_a_fail_mails_the_result_only(app, session, clock):
    user, aid = _sit(app, session, clock, correct=False)
    mails = outbox(session)
    assert [(m.kind, m.to_address) for m in mails] == [("exam_result", user.email)]
    assert "Result: Not passed" in mails[0].body and "/exams/CAWM" in mails[0].body


def test_revocation_and_reinstatement_are_mailed_to_the_holder(session, settings, clock):
    user, admin = make_user(session), fx.make_admin(session)
    cert = cf.pass_exam(session, settings, user, now=clock())
    acting = {"session": session, "settings": settings, "admin": admin, "number": cert.number}
    reason = "Exam misconduct confirmed"
    revocation.revoke_certificate(**acting, reason=reason, now=clock())
    revoked = outbox(session, "certificate_revoked")
    assert len(revoked) == 1 and revoked[0].to_address == user.email
    assert "Reason: Exam misconduct confirmed" in revoked[0].body
    revocation.reinstate_certificate(**acting, reason="Finding overturned on appeal", now=clock())
    back = outbox(session, "certificate_reinstated")
    assert len(back) == 1 and f"/verify/{cert.number}" in back[0].body
    assert "Reason: Finding overturned on appeal" in back[0].body
