"""F-01: a passed attempt always gets its certificate, whatever dies after the result's commit.

The result's transaction records the issuance as a job (app.core.jobs); a process that dies
before running it leaves the job to any runner or the next sweep.
"""

from sqlmodel import select

from app.cli import sweep
from app.core import jobs
from app.credentials.models import Certificate
from app.exams.agreement import VERSION as AGREEMENT
from app.exams.models import ExamAttempt
from tests.factories.accounts import make_token, make_user
from tests.factories.exams import key_of, run_to_end, start


def certificate_of(session, attempt_id: int) -> Certificate | None:
    query = select(Certificate).where(Certificate.attempt_id == attempt_id)
    return session.exec(query).first()


def passed_attempt(session, clock) -> ExamAttempt:
    """A pass whose process died after committing the result, before issuing anything
    (the services are called without the credentials layer's on_exam_passed)."""
    user = make_user(session)
    attempt = start(session, user, clock)
    run_to_end(session, user, clock, attempt.id, p_correct=1.0)
    attempt = session.get(ExamAttempt, attempt.id, populate_existing=True)
    assert attempt.status == "finished" and attempt.passed
    return attempt


def test_a_pass_whose_process_died_before_issuing_is_certified_by_one_sweep(
    app, session, settings, clock
):
    attempt = passed_attempt(session, clock)
    assert certificate_of(session, attempt.id) is None
    sweep.run_sweep(settings, clock=clock)
    session.expire_all()
    cert = certificate_of(session, attempt.id)
    assert cert is not None and cert.status == "active" and cert.user_id == attempt.user_id


def test_a_pass_through_the_api_is_certified_at_once_and_its_job_runs_once(
    app, client, session, clock
):
    user = make_user(session)
    headers = {"Authorization": f"Bearer {make_token(session, user)}"}
    attempt = client.post(
        "/api/v1/exams/CAWM/attempts", headers=headers, json={"agreement": AGREEMENT}
    ).json()
    item = attempt["item"]
    while item is not None:
        body = {"position": item["position"], "token": item["token"]}
        body["answer"] = key_of(session, attempt["id"])
        reply = client.post(
            f"/api/v1/exams/attempts/{attempt['id']}/answers", json=body, headers=headers
        )
        assert reply.status_code == 200, reply.text
        item = reply.json()["attempt"]["item"]
    assert reply.json()["attempt"]["status"] == "finished"
    assert certificate_of(session, attempt["id"]) is not None  # before the response was sent
    job = jobs.find(session, f"exam.passed:{attempt['id']}")
    assert (job.kind, job.status, job.tries) == ("exam.passed", "done", 1)
    assert "exam.passed" not in [o.kind for o in app.state.jobs.drain()]


def test_passes_recorded_before_the_fix_get_a_job_from_the_migration(app, session, settings, clock):
    from alembic import command
    from app.core.db import alembic_config
    from app.core.models import Job

    attempt = passed_attempt(session, clock)
    session.delete(jobs.find(session, f"exam.passed:{attempt.id}"))  # as before the fix
    session.commit()
    app.state.engine.dispose()
    cfg = alembic_config(settings.database_url, settings)
    command.downgrade(cfg, "3f8a61c2d7e4")
    command.upgrade(cfg, "head")
    job = session.exec(select(Job).where(Job.kind == "exam.passed")).one()
    assert (job.kind, job.key, job.payload) == (
        "exam.passed",
        f"exam.passed:{attempt.id}",
        {"attempt_id": attempt.id},
    )
    sweep.run_sweep(settings, clock=clock)
    assert certificate_of(session, attempt.id) is not None
