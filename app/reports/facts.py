"""Keeping the report facts and their rollup up to date with the exam records and decisions.

refresh adds the facts of closed attempts that have none (in batches) and rewrites the facts
whose attempt has a newer decision in force; in the same transaction it adds each new fact's
contributions to the rollup (report_rollup) and moves a rewritten fact's from its old state to
its new one, so the rollup always equals the counts over the facts. Two refreshes at once cannot
both write a batch: the facts' primary key refuses the second (its batch rolls back whole), and a
decision is applied by an UPDATE conditional on the fact's older decision.

The first refresh of a large database is long (minutes for 100,000 attempts): pages bring the
facts up to date themselves only when the backlog is small, and otherwise queue the job.
"""

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.core import db, jobs
from app.core.clock import as_utc
from app.exams.models import ExamAttempt, ExamDecision
from app.reports.models import AttemptFact, DomainFact, Rollup

CLOSED = ("finished", "expired")
BATCH = 2000
INLINE_LIMIT = 3000  # a page refreshes inline up to this backlog; beyond it, a job does
JOB = "reports.refresh"
SCORE_BIN = 20  # scaled points per band
TIME_BINS = 10  # tenths of the time allowed


def contributions(fact: dict, domains: list[dict]) -> Counter:
    """The rollup rows (kind, track, month, a, b) one attempt's fact counts in."""
    track, month = fact["track"], fact["month"]
    state = "void" if fact["voided"] else ("pass" if fact["passed"] else "fail")
    out = Counter({("attempt", track, month, "1" if fact["first"] else "0", state): 1})
    allowed = max(fact["seconds_allowed"], 1)
    tenth = min(fact["seconds_used"] * TIME_BINS // allowed, TIME_BINS - 1)
    out[("time", track, month, str(tenth), "expired" if fact["expired"] else "ended")] += 1
    if not fact["voided"] and fact["scaled_score"] is not None:
        band = str(fact["scaled_score"] // SCORE_BIN * SCORE_BIN)
        out[("score", track, month, band, state)] += 1
        for d in domains:
            out[("domain", track, month, d["domain"], d["label"])] += 1
    return out


def _apply(session: Session, delta: Counter) -> None:
    """Add delta to the rollup (INSERT ... ON CONFLICT DO UPDATE SET n = n + the delta)."""
    rows = [
        {"kind": k, "track": t, "month": m, "a": a, "b": b, "n": n}
        for (k, t, m, a, b), n in delta.items()
        if n
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(Rollup)
    statement = statement.on_conflict_do_update(
        index_elements=["kind", "track", "month", "a", "b"],
        set_={"n": Rollup.n + statement.excluded.n},
    )
    session.execute(statement, rows)


def _missing(limit: int):
    return (
        select(ExamAttempt.id)
        .outerjoin(AttemptFact, AttemptFact.attempt_id == ExamAttempt.id)
        .where(ExamAttempt.status.in_(CLOSED), AttemptFact.attempt_id.is_(None))
        .order_by(ExamAttempt.id)
        .limit(limit)
    )


def _stale(limit: int):
    newest = (
        select(ExamDecision.attempt_id, func.max(ExamDecision.id).label("decision_id"))
        .group_by(ExamDecision.attempt_id)
        .subquery()
    )
    return (
        select(newest.c.attempt_id, newest.c.decision_id)
        .join(AttemptFact, AttemptFact.attempt_id == newest.c.attempt_id)
        .where(func.coalesce(AttemptFact.decision_id, 0) < newest.c.decision_id)
        .limit(limit)
    )


def backlog(session: Session, limit: int = INLINE_LIMIT + 1) -> int:
    """How many attempts need their facts written or rewritten (counted up to limit). Facts
    exist only for closed attempts and attempts are never deleted, so equal counts mean none
    is missing (two counts over indexes instead of an anti-join over every attempt)."""
    closed = session.exec(select(func.count()).where(ExamAttempt.status.in_(CLOSED))).one()
    have = session.exec(select(func.count()).select_from(AttemptFact)).one()
    missing = len(session.exec(_missing(limit)).all()) if closed != have else 0
    return missing + len(session.exec(_stale(limit)).all())


def _firsts(session: Session, users: set[int]) -> dict[tuple[int, str], datetime]:
    rows = session.exec(
        select(ExamAttempt.user_id, ExamAttempt.track, func.min(ExamAttempt.started_at))
        .where(ExamAttempt.user_id.in_(users))
        .group_by(ExamAttempt.user_id, ExamAttempt.track)
    ).all()
    return {(u, t): as_utc(at) for u, t, at in rows}


def _domains(attempt_id: int, track: str, month: str, result: dict | None) -> list[dict]:
    return [
        {
            "attempt_id": attempt_id,
            "domain": str(d["domain"]),
            "track": track,
            "month": month,
            "label": d["label"],
        }
        for d in (result or {}).get("domains", [])
    ]


def _fact(r, firsts) -> dict:
    end = as_utc(r.finished_at or r.deadline_at)
    started = as_utc(r.started_at)
    return {
        "attempt_id": r.id,
        "user_id": r.user_id,
        "track": r.track,
        "month": end.strftime("%Y-%m"),
        "finished_at": end,
        "first": firsts[(r.user_id, r.track)] == started,
        "voided": False,
        "passed": r.passed,
        "scaled_score": r.scaled_score,
        "seconds_used": int((end - started).total_seconds()),
        "seconds_allowed": int((as_utc(r.deadline_at) - started).total_seconds()),
        "expired": r.status == "expired",
        "decision_id": None,
    }


def _add_new(session: Session, ids: list[int]) -> None:
    rows = session.exec(
        select(
            ExamAttempt.id,
            ExamAttempt.user_id,
            ExamAttempt.track,
            ExamAttempt.status,
            ExamAttempt.started_at,
            ExamAttempt.finished_at,
            ExamAttempt.deadline_at,
            ExamAttempt.passed,
            ExamAttempt.scaled_score,
            ExamAttempt.result,
        ).where(ExamAttempt.id.in_(ids))
    ).all()
    firsts = _firsts(session, {r.user_id for r in rows})
    facts, domains, delta = [], [], Counter[Any]()
    for r in rows:
        fact = _fact(r, firsts)
        mine = _domains(r.id, r.track, fact["month"], r.result)
        facts.append(fact)
        domains += mine
        delta.update(contributions(fact, mine))
    session.execute(insert(AttemptFact), facts)
    if domains:
        session.execute(insert(DomainFact), domains)
    _apply(session, delta)


def _state(fact: AttemptFact) -> dict:
    return {
        k: getattr(fact, k)
        for k in (
            "track",
            "month",
            "first",
            "voided",
            "passed",
            "scaled_score",
            "seconds_used",
            "seconds_allowed",
            "expired",
        )
    }


def _apply_decisions(session: Session, pairs: list[tuple[int, int]]) -> None:
    for attempt_id, decision_id in pairs:
        d = session.get(ExamDecision, decision_id)
        fact = session.get(AttemptFact, attempt_id, populate_existing=True)
        old = _state(fact)
        old_domains = [
            {"domain": x.domain, "label": x.label}
            for x in session.exec(select(DomainFact).where(DomainFact.attempt_id == attempt_id))
        ]
        voided = d.kind == "void"
        new = {
            **old,
            "voided": voided,
            "passed": None if voided else d.passed,
            "scaled_score": None if voided else d.scaled_score,
        }
        moved = session.execute(
            update(AttemptFact)
            .where(
                AttemptFact.attempt_id == attempt_id,
                func.coalesce(AttemptFact.decision_id, 0) < d.id,
            )
            .values(
                voided=voided,
                passed=new["passed"],
                scaled_score=new["scaled_score"],
                decision_id=d.id,
            )
        ).rowcount
        if not moved:  # another refresh applied it (or a newer one) first
            continue
        session.execute(delete(DomainFact).where(DomainFact.attempt_id == attempt_id))
        rows = [] if voided else _domains(attempt_id, fact.track, fact.month, d.result)
        if rows:
            session.execute(insert(DomainFact), rows)
        delta = contributions(new, rows)
        delta.subtract(contributions(old, old_domains))
        _apply(session, delta)


def refresh(session: Session, *, limit: int | None = None, progress=None) -> int:
    """Bring the facts up to date (at most limit attempts); commits each batch. The number of
    attempts whose facts this call wrote (0 when another refresh got there first)."""
    done = 0
    while limit is None or done < limit:
        size = BATCH if limit is None else min(BATCH, limit - done)
        ids = list(session.exec(_missing(size)).all())
        pairs = [] if ids else [tuple(p) for p in session.exec(_stale(size)).all()]
        if not ids and not pairs:
            break
        try:
            if ids:
                _add_new(session, ids)
            else:
                _apply_decisions(session, pairs)
            db.commit(session)
        except IntegrityError:  # another refresh wrote these facts first: it will finish
            db.rollback(session)
            break
        done += len(ids) or len(pairs)
        if progress is not None:
            progress(done)
    return done


def bring_up_to_date(session: Session, *, now: datetime) -> int:
    """For a page: refresh inline when the backlog is small, else queue the job (once an
    hour); the backlog left (0 when the facts are current)."""
    pending = backlog(session)
    if not pending:
        return 0
    if pending <= INLINE_LIMIT:
        refresh(session)
        return 0
    jobs.enqueue(session, JOB, {}, at=now, key=f"{JOB}:{now:%Y%m%d%H}")
    db.commit(session)
    return pending


@jobs.handler(JOB, lease_seconds=1800)
def refresh_job(ctx: jobs.Context) -> dict:
    """The job: refresh everything, reporting progress."""
    done = refresh(ctx.session, progress=lambda n: ctx.progress(0.0, f"{n} attempts"))
    return {"attempts": done}
