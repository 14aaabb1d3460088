"""Report pages with 100,000 attempts in the database: render time per page, SQLite and PostgreSQL.

Builds a database by the migrations, loads the real content and banks, then inserts (Core bulk
inserts) N closed attempts over 24 months on the three tracks (N/1.6 candidates, so about 38% of
attempts are retakes), their results with per-domain labels, a few hundred decisions (rescores
and voids), and a certificate for each first pass (some renewed by CE credits, some revoked).
It then times, in the same process and on the application create_app builds for `wmi serve`
(the same Settings, routes, templates and charts; in-process ASGI, no network):
  1. the first bring-up of the report facts for all N attempts (a background job in production;
     a page only refreshes inline up to facts.INLINE_LIMIT attempts);
  2. every report page and its CSV, unfiltered and filtered by track and a 6-month period,
     --repeat times each (default 5): median and worst, and their ratio to the baseline;
  3. the baseline: GET /admin/users (a plain administrator page, one query) in the same run.
A refresh with nothing to do is part of every report page's time (the backlog check).

  .venv/bin/python bench/bench_reports.py --backend sqlite --attempts 100000
  .venv/bin/python bench/bench_reports.py --backend postgres --attempts 100000
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.accounts.models import Role, User  # noqa: E402
from app.core.config import Settings  # noqa: E402
from app.core.db import make_engine, migrate  # noqa: E402
from app.core.security import hash_password  # noqa: E402
from app.courses import service as courses  # noqa: E402
from app.credentials.models import Certificate  # noqa: E402
from app.exams.models import ExamAttempt, ExamDecision, ExamPool  # noqa: E402
from app.itembank import service as itembank  # noqa: E402
from app.main import create_app  # noqa: E402
from app.reports import facts  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
TRACKS = {"CAWM": "ABCDEF", "WMP": "123456", "CWA": "123456"}
START = datetime(2025, 1, 1, tzinfo=UTC)
PAGES = ("attempts", "scores", "domains", "time", "certificates")
CHUNK = 5000


def _users(session: Session, n: int, now: datetime) -> list[int]:
    password = hash_password("bench-password-123")
    rows = [
        {
            "email": f"cand{k}@bench.example",
            "name": f"Candidate {k}",
            "role": "learner",
            "is_active": True,
            "password_hash": password,
            "session_version": 1,
            "created_at": now,
        }
        for k in range(n)
    ]
    for k in range(0, n, CHUNK):
        session.execute(insert(User), rows[k : k + CHUNK])
    session.commit()
    return list(session.exec(select(User.id).where(User.email.like("cand%@bench.example"))))


def _result(rng: random.Random, theta: float, track: str) -> dict:
    labels = ("below", "unclear", "above")
    domains = [
        {
            "domain": d,
            "label": labels[min(2, max(0, int(theta + rng.gauss(1, 0.8))))],
            "n_items": 8,
            "theta": theta,
            "se": 0.5,
        }
        for d in TRACKS[track]
    ]
    return {
        "theta": theta,
        "se": 0.3,
        "passed": theta >= 0,
        "domains": domains,
        "n_scored": 40,
        "n_pretest": 5,
        "reason": "ci_rule",
    }


def build(settings: Settings, n_attempts: int, seed: int = 7) -> dict:
    """The database of the benchmark (see the module docstring); counts of what it holds."""
    migrate(settings)
    engine = make_engine(settings.database_url)
    rng, now = random.Random(seed), datetime.now(UTC)
    with Session(engine) as session:
        courses.load_content(session=session, root=settings.content_dir, now=now)
        itembank.load_banks(session=session, root=settings.banks_dir, now=now)
        pool = ExamPool(track="CAWM", digest=uuid.uuid4().hex, items=[], created_at=now)
        session.add(pool)
        admin = User(
            email="admin@bench.example",
            name="Admin",
            role=Role.admin.value,
            password_hash=hash_password("bench-password-123"),
            created_at=now,
        )
        session.add(admin)
        session.commit()
        users = _users(session, int(n_attempts / 1.6), now)
        attempts, certs, passed_once = [], [], set()
        for k in range(n_attempts):
            user = users[k % len(users)] if k < len(users) else rng.choice(users)
            track = ("CAWM", "CAWM", "WMP", "CWA")[user % 4]
            started = START + timedelta(minutes=rng.randrange(0, 730 * 24 * 60))
            theta = rng.gauss(0.1, 1.0)
            used = timedelta(minutes=rng.uniform(20, 90))
            passed = theta >= 0
            attempts.append(
                {
                    "user_id": user,
                    "track": track,
                    "status": "finished",
                    "open_slot": None,
                    "started_at": started,
                    "deadline_at": started + timedelta(minutes=90),
                    "time_factor": 1.0,
                    "policy": {"exam": {"cut_theta": 0.0}},
                    "pool_id": pool.id,
                    "state": {},
                    "step": 45,
                    "finished_at": started + used,
                    "end_reason": "ci_rule",
                    "passed": passed,
                    "scaled_score": max(200, min(800, round(500 + 100 * theta))),
                    "result": _result(rng, theta, track),
                }
            )
        for k in range(0, n_attempts, CHUNK):
            session.execute(insert(ExamAttempt), attempts[k : k + CHUNK])
        session.commit()
        rows = session.exec(
            select(
                ExamAttempt.id,
                ExamAttempt.user_id,
                ExamAttempt.track,
                ExamAttempt.passed,
                ExamAttempt.finished_at,
            )
        ).all()
        for attempt_id, user, track, passed, at in rows:
            if passed and (user, track) not in passed_once:
                passed_once.add((user, track))
                route = rng.choices(("exam", "reexam", "ceu"), (8, 1, 1))[0]
                status = rng.choices(("active", "revoked", "superseded"), (95, 2, 3))[0]
                certs.append(
                    {
                        "number": f"WMI-{track}-B-{attempt_id}",
                        "user_id": user,
                        "track": track,
                        "attempt_id": attempt_id,
                        "route": route,
                        "status": status,
                        "holder_name": "Candidate",
                        "earned_at": at,
                        "issued_at": at,
                        "expires_at": at + timedelta(days=3 * 365),
                        "created_at": at,
                    }
                )
        for k in range(0, len(certs), CHUNK):
            session.execute(insert(Certificate), certs[k : k + CHUNK])
        decisions = [
            {
                "attempt_id": attempt_id,
                "kind": rng.choice(("rescore", "void")),
                "passed": True,
                "scaled_score": 520,
                "result": _result(rng, 0.2, track),
                "excluded": [],
                "previous_passed": passed,
                "reason": "bench",
                "source": "bench",
                "decided_by": admin.id,
                "decided_at": now,
            }
            for attempt_id, _u, track, passed, _a in rng.sample(rows, 300)
        ]
        session.execute(insert(ExamDecision), decisions)
        session.commit()
    engine.dispose()
    return {
        "attempts": n_attempts,
        "candidates": len(users),
        "certificates": len(certs),
        "decisions": len(decisions),
    }


def _time(client: TestClient, url: str, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU seconds per request (on SQLite the CPU includes the
    database's work; on a machine shared with other jobs the CPU time is the steadier figure)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return wall, cpu


def run(settings: Settings, repeat: int) -> None:
    app = create_app(settings)
    with Session(app.state.engine) as session:
        t0 = time.perf_counter()
        written = facts.refresh(session)
        print(
            f"first bring-up of the report facts: {written} attempts in "
            f"{time.perf_counter() - t0:.1f} s (a background job in production)"
        )
    with TestClient(app) as client:
        page = client.get("/signin")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post(
            "/signin",
            data={
                "email": "admin@bench.example",
                "password": "bench-password-123",
                "csrf_token": token,
            },
        )
        base_wall, base_cpu = (statistics.median(x) for x in _time(client, "/admin/users", repeat))
        print(
            f"baseline GET /admin/users: median {1000 * base_wall:.0f} ms wall, "
            f"{1000 * base_cpu:.0f} ms CPU"
        )
        print(f"{'page':66} {'median':>7} {'worst':>7} {'x base':>6} {'cpu med':>7} {'worst':>7}")
        worst_all = worst_cpu = 0.0
        for name in PAGES:
            for query in ("", "?track=CAWM&since=2025-07&until=2025-12"):
                for suffix in ("", ".csv"):
                    url = f"/admin/reports/{name}{suffix}{query}"
                    wall, cpu = _time(client, url, repeat)
                    med, worst = statistics.median(wall), max(wall)
                    worst_all, worst_cpu = max(worst_all, worst), max(worst_cpu, max(cpu))
                    print(
                        f"{url:66} {1000 * med:5.0f}ms {1000 * worst:5.0f}ms "
                        f"{med / base_wall:6.1f} {1000 * statistics.median(cpu):5.0f}ms "
                        f"{1000 * max(cpu):5.0f}ms"
                    )
        print(
            f"worst of all report requests: {1000 * worst_all:.0f} ms wall, "
            f"{1000 * worst_cpu:.0f} ms CPU (target: 500 ms)"
        )
    app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wmi-bench-reports-"))
    name = f"wmi_bench_reports_{uuid.uuid4().hex[:8]}"
    if args.backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG}/{name}"
    settings = Settings(
        var_dir=tmp,
        database_url=url,
        secret_key="bench-" + "k" * 40,
        environment="test",
        job_threads=0,
    )
    try:
        t0 = time.perf_counter()
        counts = build(settings, args.attempts)
        print(f"{args.backend}: built {counts} in {time.perf_counter() - t0:.0f} s")
        run(settings, args.repeat)
    finally:
        if args.backend == "postgres":
            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
