"""Reports: figures from the stored attempts and decisions, CSV, filters and bad input."""

import csv
import io
from collections import Counter

from sqlmodel import select

from app.exams import service as exams
from app.exams.models import ExamAttempt
from app.reports import facts, queries
from app.reports.models import AttemptFact, DomainFact, Rollup
from app.reports.queries import Filters
from tests.factories.accounts import csrf, make_user, sign_in
from tests.factories.appeals import finished
from tests.factories.exams import make_admin


def assert_rollup_matches_facts(session) -> None:
    """The rollup equals the contributions of the facts as they now stand."""
    expected = Counter()
    for fact in session.exec(select(AttemptFact)).all():
        domains = session.exec(select(DomainFact).where(DomainFact.attempt_id == fact.attempt_id))
        rows = [{"domain": d.domain, "label": d.label} for d in domains]
        expected.update(facts.contributions(fact.model_dump(), rows))
    actual = {(r.kind, r.track, r.month, r.a, r.b): r.n for r in session.exec(select(Rollup))}
    assert {k: n for k, n in actual.items() if n} == dict(+expected)


def test_attempts_report_counts_first_attempts_retakes_and_decisions_in_force(session, clock):
    admin = make_admin(session)
    a, b = make_user(session), make_user(session)
    first_a = finished(session, a, clock, p_correct=0.2)
    clock.advance(days=15)
    retake_a = finished(session, a, clock, p_correct=0.95)
    first_b = finished(session, b, clock, p_correct=0.95)
    assert (first_a.passed, retake_a.passed, first_b.passed) == (False, True, True)
    assert facts.refresh(session) == 3
    assert_rollup_matches_facts(session)
    rows = queries.attempts_by_month(session, Filters(track="CAWM"))
    total = {k: sum(r[k] for r in rows) for k in ("attempts", "passed", "first", "retakes")}
    assert total == {"attempts": 3, "passed": 2, "first": 2, "retakes": 1}
    exams.void(
        session,
        attempt_id=first_b.id,
        reason="Proctor error.",
        source="test",
        actor_id=admin.id,
        now=clock(),
    )
    session.commit()
    assert facts.backlog(session) == 1 and facts.refresh(session) == 1
    rows = queries.attempts_by_month(session, Filters(track="CAWM"))
    assert sum(r["attempts"] for r in rows) == 2 and sum(r["voided"] for r in rows) == 1
    fact = session.get(AttemptFact, first_b.id)
    assert fact.voided and fact.passed is None
    assert_rollup_matches_facts(session)
    wrong = [r.item_version_id for r in exams.responses_of(session, first_a.id) if not r.correct]
    exams.rescore(
        session,
        attempt_id=first_a.id,
        exclude=wrong,
        reason="Faulty items.",
        source="test",
        actor_id=admin.id,
        now=clock(),
    )
    session.commit()
    assert facts.refresh(session) == 1
    assert_rollup_matches_facts(session)
    rows = queries.attempts_by_month(session, Filters(track="CAWM"))
    assert sum(r["passed"] for r in rows) == 2 and sum(r["first_passed"] for r in rows) == 1
    assert facts.refresh(session) == 0


def test_domain_score_and_time_reports_cover_every_closed_attempt(session, clock):
    for k in range(3):
        finished(session, make_user(session), clock, p_correct=0.5 + 0.1 * k, seed=k)
    facts.refresh(session)
    closed = session.exec(select(ExamAttempt).where(ExamAttempt.status != "open")).all()
    domains = queries.domain_performance(session, Filters())
    assert sum(r["results"] for r in domains) == sum(len(a.result["domains"]) for a in closed)
    scores = queries.score_distribution(session, Filters())
    assert sum(r["results"] for r in scores) == 3
    bands = Counter(a.scaled_score // 20 * 20 for a in closed)  # a band holds [from, from + 19]
    assert {r["from"]: r["results"] for r in scores} == dict(bands)
    assert sum(r["attempts"] for r in queries.time_used(session, Filters())) == 3
    assert queries.attempts_by_month(session, Filters(since="2030-01")) == []


def test_report_pages_csv_and_bad_filters(client, session, clock):
    finished(session, make_user(session), clock, p_correct=0.6)
    sign_in(client, make_admin(session))
    csrf(client)
    for name in ("attempts", "scores", "domains", "time", "certificates"):
        page = client.get(f"/admin/reports/{name}?track=CAWM")
        assert page.status_code == 200, name
        assert "data:image/svg+xml;base64," in page.text or name == "certificates", name
    table = client.get("/admin/reports/attempts.csv?track=CAWM")
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0][:3] == ["Track", "Month", "Attempts"] and rows[1][0] == "CAWM"
    assert rows[1][2] == "1"
    bad = client.get("/admin/reports/attempts?since=2026-13")
    assert bad.status_code == 422 and "From month 2026-13 is not a month" in bad.text
    backwards = client.get("/admin/reports/attempts?since=2026-10&until=2026-01")
    assert backwards.status_code == 422 and "the start is after the end" in backwards.text
    assert client.get("/admin/reports/nope").status_code == 404
    assert client.get("/admin/reports/attempts?track=XYZ").status_code == 422
