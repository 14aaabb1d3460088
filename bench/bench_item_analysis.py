"""Item analysis and calibration at scale: a track with 600 items and 50,000 candidates (about
2.5 million responses) in the real database; the analysis's and a calibration run's time and
peak memory, and the time of the item list and an item page (issue 16).

Builds a SQLite database by the migrations and the real content, then inserts in
bulk (Core executemany): 600 synthetic CAWM items (580 operational over the six blueprint
domains, 20 pretest) and their versions, a pool revision holding them (put in force), 50,000
candidates and one closed attempt each. Each attempt gives 30 to 60 operational items in two
stages, as an adaptive test would (the choice depends on the answers only): 10 at random, then
the rest near the EAP of those 10 answers, with 5 pretest items among them; answered from the 3PL
with the revision's very parameters, except MISFIT items (chosen at random) answered at random;
2% of attempts expire with an item shown and unanswered. The generated database is kept under
var/bench/, its file named by the parameters (generation takes a quarter of an hour; delete the
file to generate again). Then, on that one database (--parts chooses):
  analysis: the analysis (`snapshots.run_now`, what the job runs) in a child process: seconds,
     wall time and the child's own peak RSS (wait4);
  charts: the job the analysis queued that draws every item page's charts ahead (child);
  calibration: what an administrator starts, `calibration_runs.start` (3PL, --mode, the
     platform's minimum responses per item), run by the platform's job runner (child);
  pages: on the application create_app builds (in-process ASGI, no network), signed in as an
     administrator: GET /admin/pools/CAWM/analysis and GET /admin/pools/CAWM/items/<v> for
     five items, first request and median of --repeat.

  nice -n 10 .venv/bin/python bench/bench_item_analysis.py --items 600 --candidates 50000
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import insert, update
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import wiring  # noqa: E402
from app.accounts.models import Role, User  # noqa: E402
from app.core.clock import utcnow  # noqa: E402
from app.core.config import Settings  # noqa: E402
from app.core.db import make_engine, migrate  # noqa: E402
from app.core.security import hash_password  # noqa: E402
from app.courses import service as courses  # noqa: E402
from app.exams.models import ExamAttempt, ExamPool, ExamResponse  # noqa: E402
from app.itembank import pools  # noqa: E402
from app.itembank.models import Item, ItemVersion  # noqa: E402
from app.main import create_app  # noqa: E402
from app.psychops import calibration_runs, snapshots  # noqa: E402

DOMAINS = "ABCDEF"
PRETEST, PRETEST_PER_ATTEMPT = 20, 5
MISFIT = 6  # operational items answered at random (the analysis must flag them)
STAGE = 10  # items given at random before the rest are chosen near the answers' estimate
GRID = np.linspace(-4, 4, 41)
CHUNK = 20_000
START = datetime(2026, 1, 5, tzinfo=UTC)
PASSWORD = "bench-password-123"
BENCH_DIR = ROOT / "var" / "bench"
GENERATOR = 2  # bump when build() changes what it generates (the cached file's name holds it)


def _items(session: Session, n_items: int, rng: np.random.Generator, now) -> list[dict]:
    """n_items synthetic CAWM items (the last PRETEST of them pretest) with versions; the
    revision's item dicts."""
    n_ops = n_items - PRETEST
    rows = [{"code": f"SIM-{k:04d}", "track": "CAWM",
             "pool": "exam" if k < n_ops else "pretest",
             "domain": DOMAINS[k % 6], "module": "M1",
             "status": "operational" if k < n_ops else "pretest"}
            for k in range(n_items)]  # fmt: skip
    session.execute(insert(Item), rows)
    ids = dict(session.exec(select(Item.code, Item.id).where(Item.code.like("SIM-%"))).all())
    a, b = rng.lognormal(0, 0.3, n_items), rng.normal(0, 1, n_items)
    versions = [{"item_id": ids[r["code"]], "version": 1, "digest": uuid.uuid4().hex,
                 "type": "single", "level": "recall", "stem": f"Synthetic item {r['code']}?",
                 "options": ["One", "Two", "Three", "Four"], "key": ["A"], "sources": [],
                 "difficulty": 3, "a": float(a[k]), "b": float(b[k]), "c": 0.2,
                 "created_at": now} for k, r in enumerate(rows)]  # fmt: skip
    session.execute(insert(ItemVersion), versions)
    vids = dict(session.exec(select(ItemVersion.item_id, ItemVersion.id)).all())
    for iid in ids.values():
        session.execute(update(Item).where(Item.id == iid).values(current_version_id=vids[iid]))
    return [{"id": vids[ids[r["code"]]], "item": ids[r["code"]], "a": float(a[k]),
             "b": float(b[k]), "c": 0.2, "domain": r["domain"], "fact": None,
             "pretest": r["pool"] == "pretest"} for k, r in enumerate(rows)]  # fmt: skip


def build(settings: Settings, n_items: int, n_candidates: int, seed: int = 16) -> dict:
    """The database of the benchmark (module docstring); what it holds."""
    migrate(settings)
    engine = make_engine(settings.database_url)
    rng, now = np.random.default_rng(seed), datetime.now(UTC)
    with Session(engine) as session:
        courses.load_content(session=session, root=settings.content_dir, now=now)
        items = _items(session, n_items, rng, now)
        revision = pools.create_revision(session, track="CAWM", items=items, calibrated=[],
                                         source="bench", now=now)  # fmt: skip
        pools.set_exposure(session, revision_id=revision.id, exposure={}, target=0.25,
                           report={}, now=now)  # fmt: skip
        revision_id = int(revision.id)
        session.commit()
        pools.activate(session, revision_id=revision_id, base_revision_id=None, now=now)
        pool = ExamPool(track="CAWM", digest=uuid.uuid4().hex, items=items, created_at=now)
        password = hash_password(PASSWORD)
        session.add(pool)
        session.flush()
        pool_id = int(pool.id)
        session.add(User(email="admin@bench.example", name="Admin", role=Role.admin.value,
                         password_hash=password, created_at=now))  # fmt: skip
        session.commit()
        users = [{"email": f"cand{k}@bench.example", "name": f"Candidate {k}", "role": "learner",
                  "is_active": True, "password_hash": password, "session_version": 1,
                  "created_at": now} for k in range(n_candidates)]  # fmt: skip
        for k in range(0, n_candidates, CHUNK):
            session.execute(insert(User), users[k : k + CHUNK])
        user_ids = session.exec(select(User.id).where(User.email.like("cand%@bench.example"))).all()
        n_resp = _attempts(session, items, pool_id, revision_id, list(user_ids), rng)
        session.commit()
    engine.dispose()
    return {"items": n_items, "candidates": n_candidates, "responses": n_resp,
            "revision": revision_id}  # fmt: skip


def _attempts(session, items, pool_id, revision_id, users, rng) -> int:
    ops = np.array([not p["pretest"] for p in items])
    ids = np.array([p["id"] for p in items])
    a, b = np.array([p["a"] for p in items]), np.array([p["b"] for p in items])
    op_idx, pre_idx = np.flatnonzero(ops), np.flatnonzero(~ops)
    misfit = np.isin(np.arange(len(items)), rng.choice(op_idx, MISFIT, replace=False))
    total = 0
    print("answered at random:", sorted(f"SIM-{j:04d}" for j in np.flatnonzero(misfit)))
    for start in range(0, len(users), 2000):
        block = users[start : start + 2000]
        attempts, responses, expired = [], [], []
        thetas = rng.normal(0, 1, len(block))
        for user, theta in zip(block, thetas, strict=True):
            length = int(rng.integers(30, 61))
            # two stages (selection from the answers only, as in a CAT: an ignorable design):
            # STAGE items at random, then the rest near the EAP of their answers
            first = rng.choice(op_idx, STAGE, replace=False)
            u1 = rng.random(STAGE) < _p(theta, first, a, b, misfit)
            on_grid = _p(GRID[:, None], first, a, b, misfit)
            like = np.prod(np.where(u1, on_grid, 1 - on_grid), axis=1)
            post = like * np.exp(-0.5 * GRID**2)
            estimate = float((GRID * post).sum() / post.sum())
            rest = np.setdiff1d(op_idx, first)
            near = -((b[rest] - estimate) ** 2) / (2 * 0.8**2) + rng.gumbel(size=len(rest))
            later = np.r_[rest[np.argsort(-near)[: length - STAGE]],
                          rng.choice(pre_idx, PRETEST_PER_ATTEMPT, replace=False)]  # fmt: skip
            later = later[rng.permutation(len(later))]
            given = np.r_[first, later]
            u = np.r_[u1, rng.random(len(later)) < _p(theta, later, a, b, misfit)]
            began = START + timedelta(minutes=int(rng.integers(0, 300 * 24 * 60)))
            shown, steps = began, []
            for pos, (j, ok) in enumerate(zip(given, u, strict=True), start=1):
                answered = shown + timedelta(seconds=float(rng.lognormal(3.4, 0.5)))
                steps.append({"position": pos, "item_version_id": int(ids[j]), "token": f"t{pos}",
                              "answer": ["A"] if ok else [str(rng.choice(["B", "C", "D"]))],
                              "correct": bool(ok), "presented_at": shown,
                              "answered_at": answered})  # fmt: skip
                shown = answered
            late = rng.random() < 0.02
            result = {"theta": float(theta + rng.normal(0, 0.3)), "se": 0.3,
                      "n_scored": length, "n_pretest": PRETEST_PER_ATTEMPT}  # fmt: skip
            if late:
                result["unanswered_item"] = int(ids[rng.choice(op_idx)])
            attempts.append({"user_id": user, "track": "CAWM", "status": "open",
                             "open_slot": None, "started_at": began,
                             "deadline_at": began + timedelta(minutes=90), "time_factor": 1.0,
                             "policy": {}, "pool_id": pool_id, "pool_revision_id": revision_id,
                             "state": {}, "step": len(steps), "finished_at": shown,
                             "end_reason": "time_expired" if late else "ci_rule",
                             "result": result})  # fmt: skip
            responses.append(steps)
            expired.append(late)
        rows = session.execute(insert(ExamAttempt).returning(ExamAttempt.id), attempts).all()
        flat = [{**s, "attempt_id": int(r[0])} for r, steps in zip(rows, responses, strict=True)
                for s in steps]  # fmt: skip
        for k in range(0, len(flat), CHUNK):
            session.execute(insert(ExamResponse), flat[k : k + CHUNK])
        total += len(flat)
        done = [int(r[0]) for r in rows]
        for status, which in (("finished", False), ("expired", True)):
            chosen = [i for i, late in zip(done, expired, strict=True) if late == which]
            if chosen:
                session.execute(update(ExamAttempt).where(ExamAttempt.id.in_(chosen))
                                .values(status=status))  # fmt: skip
        session.commit()
    return total


def _p(theta, given, a, b, misfit) -> np.ndarray:
    """P(correct): the 3PL (c = 0.2) with the revision's parameters; 0.5 for MISFIT items."""
    p = 0.2 + 0.8 / (1 + np.exp(-a[given] * (theta - b[given])))
    return np.where(misfit[given], 0.5, p)


def cached_db(n_items: int, n_candidates: int, seed: int, tmp: Path) -> Path:
    """The generated database for these parameters, kept under var/bench/ between runs (its
    generation takes a quarter of an hour); built (into a temporary file, then renamed) when
    absent. The file name holds every parameter and the generator's version."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"item-analysis-v{GENERATOR}-i{n_items}-c{n_candidates}-s{seed}.db"
    if path.exists():
        print(f"reusing {path.relative_to(ROOT)} (delete it to generate again)")
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    t0 = time.perf_counter()
    counts = build(_settings(f"sqlite:///{partial}", tmp), n_items, n_candidates, seed)
    print(f"built {counts} in {time.perf_counter() - t0:.0f} s")
    partial.rename(path)
    return path


def analyse(url: str, var_dir: str) -> None:
    """(child process) run the analysis once; print its seconds and the analysis id."""
    settings = _settings(url, Path(var_dir))
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        t0 = time.perf_counter()
        analysis_id = snapshots.run_now(session, track="CAWM", now=datetime.now(UTC))
        print(f"RESULT {time.perf_counter() - t0:.2f} analysis {analysis_id}")


def charts(url: str, var_dir: str) -> None:
    """(child process) run the job the analysis queued that draws every item page's charts."""
    settings = _settings(url, Path(var_dir))
    engine = make_engine(settings.database_url)
    t0 = time.perf_counter()
    done = wiring.job_runner(engine, settings, utcnow).drain(kinds=(snapshots.CHARTS,))
    seconds = time.perf_counter() - t0
    with Session(engine) as session:
        analysis_id = snapshots.latest_id(session, track="CAWM") or 0
        items = len(snapshots.listing(session, analysis_id))
        left = len(snapshots.undrawn(session, analysis_id))
    print(f"RESULT {seconds:.2f} jobs {[o.status for o in done]}, drew {items - left} of the "
          f"{items} items' charts of analysis {analysis_id}")  # fmt: skip


def calibrate(url: str, var_dir: str, mode: str) -> None:
    """(child process) what an administrator starts: a 3PL calibration run of CAWM with the
    platform's minimum responses per item, run by the platform's job runner."""
    settings = _settings(url, Path(var_dir))
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        run = calibration_runs.start(
            session, track="CAWM", model="3pl", mode=mode, now=datetime.now(UTC),
            min_responses=settings.calibration_min_responses,
        )  # fmt: skip
        run_id, key = run.id, run.job_key
    t0 = time.perf_counter()
    # this run's job only (a run of an earlier, interrupted bench stays queued in the kept file)
    wiring.job_runner(engine, settings, utcnow).run_key(key)
    seconds = time.perf_counter() - t0
    with Session(engine) as session:
        run = calibration_runs.get(session, run_id)
        print(f"RESULT {seconds:.2f} run {run_id} {run.status} {run.error or ''} {run.summary}")


def child(*args: str) -> tuple[str, float, float, float]:
    """Run this script with args in a child process: (its RESULT line, wall seconds, the
    child's CPU seconds and its own peak RSS in MiB, from wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, *args], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0), err.seek(0)
        text = out.read()
        if proc.returncode != 0 or "RESULT " not in text:
            raise SystemExit(f"child {args[0]} failed:\n{text}\n{err.read()}")
    cpu = usage.ru_utime + usage.ru_stime
    return text.split("RESULT ")[1].strip(), wall, cpu, usage.ru_maxrss / 1024  # KiB -> MiB


def _settings(url: str, var_dir: Path) -> Settings:
    return Settings(var_dir=var_dir, database_url=url, secret_key="bench-" + "k" * 40,
                    environment="test", job_threads=0)  # fmt: skip


def _time(client: TestClient, url: str, repeat: int) -> list[tuple[float, float]]:
    """(wall, CPU of this process) seconds per request: on a machine shared with other jobs
    the CPU time is the steadier figure (SQLite's work is in this process too)."""
    out = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url)
        out.append((time.perf_counter() - t0, time.process_time() - c0))
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return out


def pages(settings: Settings, repeat: int) -> dict:
    app = create_app(settings)
    out = {}
    with TestClient(app) as client, Session(app.state.engine) as session:
        token = client.get("/signin").text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/signin", data={"email": "admin@bench.example", "password": PASSWORD,
                                     "csrf_token": token})  # fmt: skip
        listed = snapshots.listing(session, snapshots.latest_id(session, track="CAWM") or 0)
        versions = [s.version for s in listed if not s.pretest][:: max(1, len(listed) // 5)]
        out["baseline /admin/users"] = _time(client, "/admin/users", repeat)
        out["item list"] = _time(client, "/admin/pools/CAWM/analysis", repeat)
        for v in versions[:5]:
            out[f"item {v}"] = _time(client, f"/admin/pools/CAWM/items/{v}", repeat)
        out["flagged"] = [(s.item, s.flags) for s in listed if s.flags]
    app.state.engine.dispose()
    return out


PARTS = ("analysis", "charts", "calibration", "pages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=600)
    parser.add_argument("--candidates", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--parts", default=",".join(PARTS), help="which of " + ", ".join(PARTS))
    parser.add_argument("--mode", default="full", choices=calibration_runs.MODES,
                        help="the calibration run's mode")  # fmt: skip
    parser.add_argument("--build-only", action="store_true", help="generate (or find) the database")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        return {"analysis": analyse, "charts": charts, "calibration": calibrate}[kind](*rest)
    tmp = Path(tempfile.mkdtemp(prefix="wmi-bench-analysis-"))
    path = cached_db(args.items, args.candidates, args.seed, tmp)
    settings = _settings(f"sqlite:///{path}", tmp)
    migrate(settings)  # a database kept from an earlier run: brought to the current head
    parts = args.parts.split(",")
    if args.build_only:
        return None
    targets = {"analysis": "targets 120 s, 2048 MiB", "calibration": "targets 120 s, 2048 MiB",
               "charts": "a background job after the analysis; no target"}  # fmt: skip
    for part in ("analysis", "charts", "calibration"):
        if part in parts:
            extra = [args.mode] if part == "calibration" else []
            result, wall, cpu, peak = child("--child", part, settings.database_url, str(tmp),
                                            *extra)  # fmt: skip
            inside = float(result.split()[0])
            print(f"{part}: {inside:.1f} s wall inside the child ({wall:.1f} s with its start-up;"
                  f" the child's CPU {cpu:.1f} s), peak RSS {peak:.0f} MiB ({targets[part]}): "
                  f"{result}")  # fmt: skip
    if "pages" in parts:
        show(pages(settings, args.repeat))


def show(timings: dict) -> None:
    flagged = timings.pop("flagged")
    for name, times in timings.items():
        wall, cpu = [t[0] for t in times], [t[1] for t in times]
        print(
            f"GET {name}: first {1000 * wall[0]:.0f} ms wall / {1000 * cpu[0]:.0f} ms CPU, median "
            f"{1000 * statistics.median(wall):.0f} / {1000 * statistics.median(cpu):.0f} ms, "
            f"worst {1000 * max(wall):.0f} / {1000 * max(cpu):.0f} ms (target 300 ms)"
        )
    print(
        f"flagged: {len(flagged)} items; the {MISFIT} answered at random among them: "
        f"{sorted(i for i, f in flagged if 'misfit (S-X2)' in f)}"
    )


if __name__ == "__main__":
    main()
