"""Answer-and-next-item throughput of the real server, as a ratio against a bare endpoint.

Starts `wmi serve` in its own process (SQLite with one worker, or PostgreSQL with two), creates
candidates with API tokens and starts their attempts, then, in the same run, with one asyncio
client (aiohttp, keep-alive connections; the client costs a fraction of a millisecond per request,
printed, so the figures are the server's) measures three phases in interleaved rounds (default 5
rounds of 2 s each: bare, /me, answer, bare, /me, answer, ...), so that all three meet the same
machine; the totals over the rounds give the rates, and the per-round ratios show the spread:
  1. bare: C connections call GET /api/v1/ping (no database) as fast as they can;
  1b. authenticated read: the same C connections call GET /api/v1/me (bearer token, one
     query, validated response): what any authenticated database route costs on this stack;
  2. saturated: C candidates loop answer -> next item as fast as they can (closed loop; one
     request per question: the answer's response carries the next item). Each candidate keeps its
     attempt from one window to the next and takes a fresh started attempt when one ends, so C
     stay busy. The ratio is cycles/s over bare requests/s;
  3. paced (after the rounds): the same C candidates, each waiting between answers so that
     together they offer --load (default 0.5) of the saturated rate: the latency a candidate meets
     on a busy server that is not overloaded (in a closed loop, latency is C / throughput);
  4. (--starts N) simultaneous start: N more candidates start at evenly spread moments in 10 s.
Also prints the server's CPU time per request (from /proc), and the client's; and, for the answer
phase, each server process's share of the server's CPU (an uneven share means the workers got
uneven numbers of the client's keep-alive connections), the kernel's share of it, and how busy the
whole machine was (server, database and client together).

  .venv/bin/python bench/bench_exam_throughput.py --backend sqlite --workers 1 --pin
  .venv/bin/python bench/bench_exam_throughput.py --backend postgres --workers 2 --starts 500

--pin puts the server on the last CPU and the client on the first (one worker uses one core).
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
import time
from pathlib import Path

import aiohttp
import httpx
import psycopg
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.clock import utcnow  # noqa: E402
from app.core.db import make_engine  # noqa: E402
from app.core.security import new_token, token_digest  # noqa: E402
from app.exams.agreement import VERSION as AGREEMENT  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(backend: str, prefix: str) -> tuple[str, Path]:
    """A new empty database (a SQLite file, or a PostgreSQL database) and a scratch directory."""
    var = Path(tempfile.mkdtemp(prefix=prefix.replace("_", "-") + "-"))
    if backend == "sqlite":
        return f"sqlite:///{var}/bench.db", var
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(f"{PG}/test", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}", var


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


def server_pids(proc: subprocess.Popen) -> list[int]:
    """The `wmi serve` process and its uvicorn worker processes, if any."""
    out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout
    return [proc.pid] + [int(p) for p in out.split()]


def cpu_by_process(pids: list[int], kernel: bool = False) -> dict[int, float]:
    """CPU seconds (user + system, or with kernel only system) each process has used so far."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        used[pid] = (int(fields[12]) + (0 if kernel else int(fields[11]))) / os.sysconf(
            "SC_CLK_TCK"
        )
    return used


def cpu_seconds(pids: list[int], kernel: bool = False) -> float:
    return sum(cpu_by_process(pids, kernel).values())


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), sum(ticks) / os.sysconf("SC_CLK_TCK")


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


def answer_for(item: dict, rng: random.Random) -> list[str]:
    letters = "ABCDE"[: len(item["options"])]
    if item["type"] == "single":
        return [rng.choice(letters)]
    if item["type"] == "multiple":
        return rng.sample(letters, 2)
    return rng.sample(letters, len(letters))


class Client:
    """One asyncio HTTP client for every phase (keep-alive connections, at most `limit`)."""

    def __init__(self, base: str, limit: int) -> None:
        self.base, self.limit = base, limit

    async def __aenter__(self):
        timeout = aiohttp.ClientTimeout(total=120)
        connector = aiohttp.TCPConnector(limit=self.limit)
        self.http = aiohttp.ClientSession(self.base, connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *exc):
        await self.http.close()

    async def ping(self) -> int:
        async with self.http.get("/api/v1/ping") as r:
            await r.read()
            return r.status

    async def me(self, token: str) -> int:
        async with self.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}) as r:
            await r.read()
            return r.status

    async def start(self, token: str) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.post(
            "/api/v1/exams/CAWM/attempts", headers=headers, json={"agreement": AGREEMENT}
        ) as r:
            return r.status, await r.json()

    async def answer(self, token: str, attempt: dict, rng: random.Random) -> tuple[int, dict]:
        item = attempt["item"]
        body = {
            "position": item["position"],
            "token": item["token"],
            "answer": answer_for(item, rng),
        }
        headers = {"Authorization": f"Bearer {token}"}
        url = f"/api/v1/exams/attempts/{attempt['id']}/answers"
        async with self.http.post(url, json=body, headers=headers) as r:
            return r.status, await r.json()


async def gets(client: Client, clients: int, seconds: float, tokens=None):
    """C connections call /api/v1/ping (tokens None) or, with tokens, GET /api/v1/me: the same
    stack plus bearer authentication, one read and a validated response."""
    latencies, errors = [], 0
    stop = time.monotonic() + seconds

    async def loop(k: int):
        nonlocal errors
        while time.monotonic() < stop:
            t = time.perf_counter()
            status = await (client.ping() if tokens is None else client.me(tokens[k]))
            ok = status == 200
            latencies.append(time.perf_counter() - t)
            errors += 0 if ok else 1

    started = time.monotonic()
    await asyncio.gather(*(loop(k) for k in range(clients)))
    return len(latencies) / (time.monotonic() - started), latencies, errors


async def start_all(client: Client, tokens: list[str]) -> list[tuple[str, dict]]:
    """Start one attempt per token (8 at a time) before the measured windows."""
    gate = asyncio.Semaphore(8)

    async def one(token):
        async with gate:
            status, attempt = await client.start(token)
            if status != 201:
                raise SystemExit(f"start failed: {status} {attempt}")
            return token, attempt

    return list(await asyncio.gather(*(one(t) for t in tokens)))


def seats(clients: int) -> list[list]:
    """Each candidate's seat: [token, current attempt, random generator], kept between windows
    so that a candidate goes on with its attempt from one window to the next."""
    return [[None, None, random.Random(k)] for k in range(clients)]


async def cycles(client, queue, seats, seconds, think=None) -> tuple[float, list[float], int]:
    """The seated candidates answer until the window closes; think: seconds each waits between
    answers. A candidate whose attempt ends takes the next started one from the queue."""
    latencies, errors = [], 0
    stop = time.monotonic() + seconds

    async def candidate(seat: list):
        nonlocal errors
        rng = seat[2]
        if think:
            await asyncio.sleep(rng.uniform(0, think))  # spread the first answers
        while time.monotonic() < stop:
            token, attempt = seat[0], seat[1]
            if attempt is None or attempt.get("status") != "open" or not attempt.get("item"):
                if not queue:
                    return
                seat[0], seat[1] = queue.pop()
                continue
            t = time.perf_counter()
            status, body = await client.answer(token, attempt, rng)
            latencies.append(time.perf_counter() - t)
            if status != 200:
                errors += 1
                seat[1] = None
                continue
            seat[1] = body["attempt"]
            if think:
                await asyncio.sleep(rng.expovariate(1 / think))

    started = time.monotonic()
    await asyncio.gather(*(candidate(seat) for seat in seats))
    return len(latencies) / (time.monotonic() - started), latencies, errors


async def simultaneous_starts(client: Client, tokens: list[str], window: float):
    latencies, errors = [], 0

    async def one(token: str, delay: float):
        nonlocal errors
        await asyncio.sleep(delay)
        t = time.perf_counter()
        try:
            status, _ = await client.start(token)
        except aiohttp.ClientError:
            status = 0
        latencies.append(time.perf_counter() - t)
        errors += 0 if status == 201 else 1

    await asyncio.gather(*(one(t, window * i / len(tokens)) for i, t in enumerate(tokens)))
    return latencies, errors


def profile(args, pids: list[int], phase: str, seconds: float) -> subprocess.Popen | None:
    """--profile FILE: sample the last server process (the worker; with several workers, only
    one of them) while its threads hold the GIL during the
    first --profile-phase window with py-spy (not a project dependency: `pip install py-spy`);
    writes collapsed stacks, for a flame graph or a per-function sum."""
    if not args.profile or args.profile_phase != phase:
        return None
    return subprocess.Popen(
        ["py-spy", "record", "--pid", str(pids[-1]), "--duration", str(max(1, int(seconds))),
         "--rate", "250", "--gil", "--format", "raw", "--output", args.profile, "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def line(label: str, rate: float, unit: str, lat: list[float], errors: int, cpu_ms: float) -> str:
    return (
        f"{label:<14}: {rate:8.1f} {unit}  p50 {pct(lat, 0.5):6.1f} ms  p95 {pct(lat, 0.95):6.1f}"
        f" ms  p99 {pct(lat, 0.99):6.1f} ms  ({len(lat)} requests, {errors} errors; server CPU"
        f" {cpu_ms:.2f} ms each)"
    )


class Phase:
    """What one kind of request did over all its windows: rate, latencies, server CPU."""

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self.count, self.seconds, self.cpu, self.client, self.errors = 0, 0.0, 0.0, 0.0, 0
        self.latencies: list[float] = []
        self.rates: list[float] = []
        self.by_process: dict[int, float] = {}
        self.busy, self.machine, self.kernel = 0.0, 0.0, 0.0

    async def measure(self, pids: list[int], window) -> None:
        before, t, mine = cpu_by_process(pids), time.monotonic(), time.process_time()
        kernel = cpu_seconds(pids, kernel=True)
        busy, machine = machine_busy()
        rate, latencies, errors = await window
        self.seconds += time.monotonic() - t
        after = cpu_by_process(pids)
        for pid, used in after.items():
            self.by_process[pid] = self.by_process.get(pid, 0.0) + used - before.get(pid, used)
        self.cpu += sum(after.values()) - sum(before.values())
        self.kernel += cpu_seconds(pids, kernel=True) - kernel
        busy_after, machine_after = machine_busy()
        self.busy += busy_after - busy
        self.machine += machine_after - machine
        self.client += time.process_time() - mine
        self.count += len(latencies)
        self.latencies += latencies
        self.errors += errors
        self.rates.append(rate)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def line(self) -> str:
        return line(self.label, self.rate, self.unit, self.latencies, self.errors,
                    self.cpu / max(self.count, 1) * 1e3)  # fmt: skip

    def shares(self) -> str:
        """Where the machine's CPU went in this phase: each server process's share of the server's
        CPU, and how busy the whole machine was (server, database, client and the rest)."""
        server = sum(self.by_process.values()) or 1.0
        each = " / ".join(  # the workers (the parent of several workers uses next to nothing)
            f"{used / server:.0%}" for used in self.by_process.values() if used > 0.01 * server
        )
        return (f"{each} of the server's CPU by process, {self.kernel / server:.0%} of it in the "
                f"kernel; machine {self.busy / self.machine:.0%} busy")  # fmt: skip


async def run(args, base: str, tokens: list[str], pids: list[int]) -> None:
    starts = tokens[len(tokens) - args.starts :] if args.starts else []
    exam_tokens = tokens[: len(tokens) - args.starts]
    async with Client(base, max(args.clients, args.starts or 1)) as client:
        await gets(client, args.clients, 1.0)  # warm up
        queue = await start_all(client, exam_tokens)
        await cycles(client, queue, seats(1), 5.0)  # the first exam requests build caches
        queue.reverse()
        seated = seats(args.clients)
        bare = Phase("bare endpoint", "req/s")
        me = Phase("auth read /me", "req/s")
        answer = Phase("answer + next", "cyc/s")
        window = args.seconds / args.rounds
        for r in range(args.rounds):  # interleaved: the three see the same machine
            await bare.measure(pids, gets(client, args.clients, window))
            spy = profile(args, pids, "me", window) if r == 0 else None
            await me.measure(pids, gets(client, args.clients, window, exam_tokens))
            if spy is not None:
                spy.wait()
            spy = profile(args, pids, "answer", window) if r == 0 else None
            await answer.measure(pids, cycles(client, queue, seated, window))
            if spy is not None:
                spy.wait()
        think = args.clients / (args.load * answer.rate)
        paced, paced_lat, paced_err = await cycles(client, queue, seated, args.seconds, think)
        print(f"backend={args.backend} workers={args.workers} clients={args.clients} "
              f"rounds={args.rounds} x {window:.1f} s per phase")  # fmt: skip
        for phase in (bare, me, answer):
            print(phase.line())
        print(
            f"paced         : {paced:8.1f} cyc/s offered {args.load:.2f} x saturated "
            f"(each candidate thinks {think * 1000:.0f} ms on average)  p50 "
            f"{pct(paced_lat, 0.5):6.1f} ms  p95 {pct(paced_lat, 0.95):6.1f} ms  p99 "
            f"{pct(paced_lat, 0.99):6.1f} ms  ({len(paced_lat)} requests, {paced_err} errors)"
        )
        print(f"client CPU    : {bare.client / bare.count * 1e3:.2f} ms per ping, "
              f"{answer.client / answer.count * 1e3:.2f} ms per cycle")  # fmt: skip
        per_round = [a / b for a, b in zip(answer.rates, bare.rates, strict=True)]
        print(f"ratio (answer+next cycles / bare requests): {answer.rate / bare.rate:.3f}"
              f"  (per round: {', '.join(f'{x:.3f}' for x in per_round)})")  # fmt: skip
        print(f"ratio (authenticated read / bare requests): {me.rate / bare.rate:.3f}")
        print(f"answer phase  : {answer.shares()}")
        if len(queue) < args.clients:
            print("warning: the started attempts ran out before the windows ended")
        if starts:
            lat, errs = await simultaneous_starts(client, starts, 10.0)
            print(
                f"simultaneous start: {len(lat)} candidates in 10 s, {errs} errors, "
                f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, "
                f"max {max(lat) * 1000:.1f} ms, mean {statistics.mean(lat) * 1000:.1f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="time per phase, all rounds")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the phases")
    parser.add_argument("--attempts", type=int, default=800, help="attempts started beforehand")
    parser.add_argument("--load", type=float, default=0.5, help="paced load, share of saturated")
    parser.add_argument("--starts", type=int, default=0, help="simultaneous starts (0: skip)")
    parser.add_argument("--profile", help="write py-spy collapsed stacks of one window to FILE")
    parser.add_argument("--profile-phase", choices=["me", "answer"], default="answer")
    parser.add_argument("--pin", action="store_true", help="server on the last CPU, client first")
    args = parser.parse_args()
    url, var = fresh_database(args.backend, "wmi_bench")
    proc, base = start_server(url, args.workers, var)
    try:
        pids = server_pids(proc)
        if args.pin:
            cpus = sorted(os.sched_getaffinity(0))
            for pid in pids:  # every thread of the server processes
                subprocess.run(["taskset", "-a", "-p", "-c", str(cpus[-1]), str(pid)], check=True,
                               capture_output=True)  # fmt: skip
            os.sched_setaffinity(0, {cpus[0]})
        tokens = make_candidates(url, args.attempts + args.starts)
        asyncio.run(run(args, base, tokens, pids))
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
