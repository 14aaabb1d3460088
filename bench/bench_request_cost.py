"""Instructions per request of the real server, counted by Valgrind (callgrind): a noise-free
view of what the throughput benchmark measures in seconds.

bench_exam_throughput.py measures requests per second, and on a shared two-core machine its
absolute figures move by 1.5x within a day (other tenants, CPU steal). This benchmark counts the
instructions the server process executes per request instead, which does not depend on the
machine's speed at the moment: the same code and inputs give the same count within a fraction of
a percent. It is the tool for deciding whether a change to the request path made it cheaper.

One client, one keep-alive connection, requests one after another (so the count is the
request's own cost, without the thread contention of a loaded server; the throughput benchmark
shows that part). In one run:
  1. bare: GET /api/v1/ping (no database), the baseline;
  2. authenticated read: GET /api/v1/me (bearer token, one query);
  3. answer + next: POST an answer to the pending question; the response carries the next one;
  4. web question: what a browser candidate costs per question without JavaScript, the question
     page (GET) and the form post that answers it (303 back to the page).
Prints instructions per request and each route's cost as a multiple of the bare request; the
reciprocal is the throughput ratio the server would reach if the CPU were its only limit.

  .venv/bin/python bench/bench_request_cost.py              # SQLite (default)
  .venv/bin/python bench/bench_request_cost.py --backend postgres
  .venv/bin/python bench/bench_request_cost.py --cpu-time   # no Valgrind: CPU seconds from /proc

Needs valgrind (Debian package `valgrind`); the server runs about 30x slower under it, so the
run takes a few minutes.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import bench_exam_throughput as throughput  # noqa: E402

from app.exams.agreement import VERSION as AGREEMENT  # noqa: E402


def valgrind_server(url: str, var: Path, valgrind: bool = True) -> tuple[subprocess.Popen, str]:
    """The application under callgrind (instrumentation off until asked), on a migrated and
    loaded database; uvicorn directly, one process, as `wmi serve` runs it. valgrind=False:
    the same server without Valgrind (--cpu-time)."""
    port = throughput.free_port()
    env = {
        **os.environ,
        "WMI_DATABASE_URL": url,
        "WMI_VAR_DIR": str(var),
        "WMI_BASE_URL": f"http://127.0.0.1:{port}",
        "WMI_SWEEP_INTERVAL_SECONDS": "3600",
    }
    out = var / "callgrind.out"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        * valgrind + [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--proxy-headers", "--log-level", "info"],
        env=env, cwd=ROOT, stdout=(var / "valgrind.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(900):
        try:
            if httpx.get(base + "/healthz", timeout=5).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(1)
    proc.kill()
    raise SystemExit("server did not start: " + (var / "valgrind.log").read_text()[-2000:])


def control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _run_ns(pid: int) -> int:
    """Nanoseconds on a CPU of all the process's live threads (/proc schedstat: finer than
    the clock ticks of /proc stat, which count 10 ms at a time)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
    return total


def cpu_counted(pid: int, work) -> float:
    """CPU seconds (all threads) the server uses while `work` runs."""
    before = _run_ns(pid)
    work()
    return (_run_ns(pid) - before) / 1e9


def counted(pid: int, var: Path, label: str, work) -> int:
    """Instructions the server executes while `work` runs (all its threads)."""
    before = set(var.glob("callgrind.out*"))
    control(pid, "--zero")
    work()
    control(pid, f"--dump={label}")
    for _ in range(100):
        new = set(var.glob("callgrind.out*")) - before
        if new:
            break
        time.sleep(0.1)
    (dump,) = new
    match = re.search(r"^(?:summary|totals):\s*(\d+)", dump.read_text(errors="replace"), re.M)
    return int(match.group(1))


PASSWORD = "bench-password-not-secret"


def web_candidates(url: str, n: int) -> list[str]:
    """n learners who sign in with a password (hashed once, shared)."""
    from sqlmodel import Session

    from app.accounts.models import User
    from app.core.clock import utcnow
    from app.core.db import make_engine
    from app.core.security import hash_password

    engine, digest, emails = make_engine(url), hash_password(PASSWORD), []
    with Session(engine) as session:
        for i in range(n):
            emails.append(f"web{os.getpid()}-{i}@example.org")
            session.add(
                User(email=emails[-1], name=f"Web {i}", password_hash=digest, created_at=utcnow())
            )
        session.commit()
    engine.dispose()
    return emails


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def start_in_browser(base: str, email: str) -> tuple[httpx.Cookies, str]:
    """Sign in with the form, start a CAWM attempt with the form: the cookies and the page."""
    with httpx.Client(base_url=base, timeout=60) as b:
        data = {"email": email, "password": PASSWORD, "csrf_token": csrf_of(b.get("/signin").text)}
        assert b.post("/signin", data=data).status_code == 303
        token = csrf_of(b.get("/exams/CAWM").text)
        r = b.post("/exams/CAWM/start", data={"csrf_token": token, "agreement": AGREEMENT})
        assert r.status_code == 303, r.text[:300]
        return b.cookies, r.headers["location"]


def form_fields(html: str) -> dict:
    """The hidden fields of the question form, or {} when the page shows a result."""
    position = re.search(r'name="position" value="(\d+)"', html)
    if not position:
        return {}
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    return {"position": position.group(1), "token": token, "csrf_token": csrf_of(html)}


def web_answer(html: str, rng: random.Random) -> dict:
    letters = "ABCDE"[: len(re.findall(r'id="(?:answer|rank)_?-?[A-E]"', html))]
    if "rank_A" in html:
        ranks = rng.sample(range(1, len(letters) + 1), len(letters))
        return {f"rank_{x}": str(r) for x, r in zip(letters, ranks, strict=True)}
    if 'type="checkbox"' in html:
        return {"answer": rng.sample(letters, 2)}
    return {"answer": rng.choice(letters)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=200, help="requests per phase")
    parser.add_argument(
        "--timeout",
        type=float,
        default=900,
        help="seconds a request to the server under Valgrind may take (the first ones build "
        "caches at Valgrind's speed; on a machine shared by many processes, minutes)",
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="no Valgrind: the server's CPU time per request from /proc (fast, but it moves "
        "with the machine's load: compare two versions only in runs side by side)",
    )
    args = parser.parse_args()
    url, var = throughput.fresh_database(args.backend, "wmi_cost")
    n = args.requests
    # Migrate, load content and banks with the normal server, and start the attempts there.
    proc, base = throughput.start_server(url, 1, var)
    try:
        tokens = throughput.make_candidates(url, n // 10 + 10)
        attempts = []
        with httpx.Client(base_url=base, timeout=60) as http:
            for token in tokens:
                r = http.post(
                    "/api/v1/exams/CAWM/attempts",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"agreement": AGREEMENT},
                )
                r.raise_for_status()
                attempts.append((token, r.json()))
        browsers = [start_in_browser(base, email) for email in web_candidates(url, n // 20 + 4)]
    finally:
        proc.terminate()
        proc.wait(30)
    proc, base = valgrind_server(url, var, valgrind=not args.cpu_time)
    try:
        pid = proc.pid
        if not args.cpu_time:
            control(pid, "--instr=on")
        rng = random.Random(7)
        with httpx.Client(base_url=base, timeout=args.timeout) as http:

            def get(path: str, token: str | None = None) -> None:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                http.get(path, headers=headers).raise_for_status()

            def answers(count: int) -> None:
                done = 0
                while done < count:
                    if not attempts:
                        raise SystemExit("the started attempts ran out; raise --requests/10")
                    token, attempt = attempts[-1]
                    if attempt.get("status") != "open" or not attempt.get("item"):
                        attempts.pop()
                        continue
                    item = attempt["item"]
                    body = {
                        "position": item["position"],
                        "token": item["token"],
                        "answer": throughput.answer_for(item, rng),
                    }
                    r = http.post(
                        f"/api/v1/exams/attempts/{attempt['id']}/answers",
                        json=body,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    r.raise_for_status()
                    attempts[-1] = (token, r.json()["attempt"])
                    done += 1

            for _ in range(20):  # warm up every route (first requests build caches)
                get("/api/v1/ping")
                get("/api/v1/me", tokens[0])
            answers(20)

            open_browsers: dict[str, httpx.Client] = {}

            def questions(count: int) -> None:
                done = 0
                while done < count:
                    if not browsers:
                        raise SystemExit("the browser attempts ran out; raise --requests/20")
                    cookies, page = browsers[-1]
                    if page not in open_browsers:  # one keep-alive connection per browser
                        open_browsers[page] = httpx.Client(
                            base_url=base, timeout=args.timeout, cookies=cookies
                        )
                    b = open_browsers[page]
                    html = b.get(page).text
                    fields = form_fields(html)
                    if not fields:
                        browsers.pop()
                        b.close()
                        continue
                    r = b.post(f"{page}/answer", data={**fields, **web_answer(html, rng)})
                    if r.status_code != 303:
                        raise SystemExit(f"answer form: {r.status_code} {r.text[:300]}")
                    done += 1

            questions(10)
            phases = [
                ("bare GET /api/v1/ping", lambda: [get("/api/v1/ping") for _ in range(n)]),
                (
                    "auth read GET /api/v1/me",
                    lambda: [get("/api/v1/me", tokens[0]) for _ in range(n)],
                ),  # noqa: E501
                ("answer + next", lambda: answers(n)),
                ("web question (page + post)", lambda: questions(n)),
            ]
            results = {}
            for label, work in phases:
                if args.cpu_time:
                    results[label] = cpu_counted(pid, work) * 1e6 / n  # microseconds
                else:
                    results[label] = counted(pid, var, label.split()[0], work) / n
        bare = results["bare GET /api/v1/ping"]
        print(f"backend={args.backend}  {n} requests per phase, one connection, sequential")
        for label, per in results.items():
            unit = "question" if label.startswith("web") else "request "
            cost = f"{per:7.0f} us of CPU" if args.cpu_time else f"{per / 1e6:7.3f} M instructions"
            print(
                f"{label:<26}: {cost} per {unit}  "
                f"{per / bare:5.2f} x bare  (throughput ratio bound {bare / per:.3f})"
            )
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
