"""Answer-and-next-item throughput of the real server, as a ratio against a bare endpoint.

Starts `wmi serve` in its own process (SQLite with one worker, or PostgreSQL with two), creates
candidates with API tokens, then, in the same run:
  1. baseline: C concurrent clients call GET /api/v1/ping (no database) for a few seconds;
  2. exam: C candidates each start a CAWM attempt and loop answer -> next item until it ends
     (one request per question: the answer's response carries the next item);
  3. (PostgreSQL) simultaneous start: S candidates start within 10 seconds.
Prints requests per second, p50/p95/p99 latencies and the ratio exam/baseline.

  .venv/bin/python bench/bench_exam_throughput.py --backend sqlite --workers 1
  .venv/bin/python bench/bench_exam_throughput.py --backend postgres --workers 2 --starts 500
"""

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psycopg
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.clock import utcnow  # noqa: E402
from app.core.db import make_engine  # noqa: E402
from app.core.security import new_token, token_digest  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int, var: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "WMI_DATABASE_URL": url,
        "WMI_VAR_DIR": str(var),
        "WMI_BASE_URL": f"http://127.0.0.1:{port}",
        "WMI_SWEEP_INTERVAL_SECONDS": "3600",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=(var / "server.log").open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                time.sleep(1.0 if workers > 1 else 0.1)
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start: " + (var / "server.log").read_text()[-2000:])


def make_candidates(url: str, n: int) -> list[str]:
    """n learners with API tokens, written straight to the database (fast, no Argon2 per user)."""
    from app.accounts.models import ApiToken, User

    engine = make_engine(url)
    tokens = []
    with Session(engine) as session:
        stamp = int(time.time() * 1000)
        for i in range(n):
            user = User(
                email=f"bench{stamp}-{i}@example.org",
                name=f"Bench {i}",
                password_hash="!",
                created_at=utcnow(),
            )
            session.add(user)
            session.flush()
            secret = new_token("wmi_")
            session.add(
                ApiToken(
                    user_id=user.id,
                    name="bench",
                    token_hash=token_digest(secret),
                    prefix=secret[:10],
                    created_at=utcnow(),
                )
            )
            tokens.append(secret)
        session.commit()
    engine.dispose()
    return tokens


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def baseline(base: str, clients: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock, stop = threading.Lock(), time.monotonic() + seconds

    def run():
        with httpx.Client(base_url=base, timeout=10) as c:
            mine = []
            while time.monotonic() < stop:
                t = time.perf_counter()
                c.get("/api/v1/ping").raise_for_status()
                mine.append(time.perf_counter() - t)
            with lock:
                latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.monotonic() - started), latencies


def exam_cycles(base: str, tokens: list[str], max_cycles: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def run(token: str, seed: int):
        rng = random.Random(seed)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=30, headers=headers) as c:
            attempt = c.post("/api/v1/exams/CAWM/attempts").json()
            mine = []
            for _ in range(max_cycles):
                item = attempt.get("item")
                if attempt.get("status") != "open" or not item:
                    break
                letters = "ABCDE"[: len(item["options"])]
                answer = (
                    [rng.choice(letters)]
                    if item["type"] == "single"
                    else rng.sample(letters, 2)
                    if item["type"] == "multiple"
                    else rng.sample(letters, len(letters))
                )
                t = time.perf_counter()
                r = c.post(
                    f"/api/v1/exams/attempts/{attempt['id']}/answers",
                    json={"position": item["position"], "token": item["token"], "answer": answer},
                )
                mine.append(time.perf_counter() - t)
                if r.status_code != 200:
                    with lock:
                        errors[0] += 1
                    break
                attempt = r.json()["attempt"]  # the answer's response carries the next item
            with lock:
                latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(tok, i)) for i, tok in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.monotonic() - started), latencies, errors[0]


def simultaneous_starts(base: str, tokens: list[str], window: float) -> tuple[list[float], int]:
    """Each candidate starts at its own moment, spread evenly over the window (asyncio client)."""

    async def run_all():
        latencies, errors = [], 0
        limits = httpx.Limits(max_connections=len(tokens))
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

            async def one(token: str, delay: float):
                nonlocal errors
                await asyncio.sleep(delay)
                t = time.perf_counter()
                try:
                    r = await client.post(
                        "/api/v1/exams/CAWM/attempts", headers={"Authorization": f"Bearer {token}"}
                    )
                    ok = r.status_code == 201
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t)
                errors += 0 if ok else 1

            await asyncio.gather(
                *(one(tok, window * i / len(tokens)) for i, tok in enumerate(tokens))
            )
        return latencies, errors

    return asyncio.run(run_all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--cycles", type=int, default=40, help="answers per candidate at most")
    parser.add_argument("--starts", type=int, default=0, help="simultaneous starts (0: skip)")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="wmi-bench-"))
    if args.backend == "sqlite":
        url = f"sqlite:///{var}/bench.db"
    else:
        name = f"wmi_bench_{os.getpid()}"
        with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG}/{name}"
    proc, base = start_server(url, args.workers, var)
    try:
        tokens = make_candidates(url, args.clients + args.starts)
        rps, base_lat = baseline(base, args.clients, args.seconds)
        cps, exam_lat, errors = exam_cycles(base, tokens[: args.clients], args.cycles)
        print(f"backend={args.backend} workers={args.workers} clients={args.clients}")
        print(
            f"bare endpoint : {rps:8.1f} req/s  p50 {pct(base_lat, 0.5):6.1f} ms  "
            f"p99 {pct(base_lat, 0.99):6.1f} ms"
        )
        print(
            f"answer + next : {cps:8.1f} cyc/s  p50 {pct(exam_lat, 0.5):6.1f} ms  "
            f"p95 {pct(exam_lat, 0.95):6.1f} ms  p99 {pct(exam_lat, 0.99):6.1f} ms  "
            f"({len(exam_lat)} cycles, {errors} errors)"
        )
        print(f"ratio (answer+next cycles / bare requests): {cps / rps:.3f}")
        if args.starts:
            lat, errs = simultaneous_starts(base, tokens[args.clients :], 10.0)
            print(
                f"simultaneous start: {len(lat)} candidates in 10 s, {errs} errors, "
                f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, "
                f"max {max(lat) * 1000:.1f} ms, mean {statistics.mean(lat) * 1000:.1f} ms"
            )
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
