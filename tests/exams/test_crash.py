"""Crash safety: a real server killed with SIGKILL while candidates answer, then restarted.

Afterwards no acknowledged answer is missing from the response log, every finished
attempt's stored result equals the engine's score of its recorded responses, and every
passed attempt has its certificate after one sweep, although the server also killed itself
inside the result-to-certificate window of each pass (crash_server.py, WMI_CRASH_WINDOW).
"""

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import Session, select

from app.cli import sweep
from app.core import jobs
from app.core.clock import utcnow
from app.core.db import make_engine
from app.credentials.models import Certificate
from app.exams import engine_bridge as bridge
from app.exams import store
from app.exams.agreement import VERSION as AGREEMENT
from app.exams.models import ExamAttempt, ExamResponse
from app.psychometrics import engine
from tests.factories.accounts import make_token, make_user
from tests.factories.exams import key_of

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = 50
KILLS = 10
NETWORK_ERRORS = (httpx.TransportError,)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn processes forked from a warm launcher (crash_server.py); killed with SIGKILL.
    Two workers on one socket on PostgreSQL (as deployed there), one on SQLite."""

    def __init__(self, database_url: str, var_dir: Path, window: Path, secret_key: str) -> None:
        self.workers = 1 if database_url.startswith("sqlite") else 2
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "WMI_DATABASE_URL": database_url,
            "WMI_VAR_DIR": str(var_dir),
            "WMI_SECRET_KEY": secret_key,  # the test database's signing key is sealed under it
            "WMI_ENVIRONMENT": "test",
            "OPENBLAS_NUM_THREADS": "1",
            "WMI_CRASH_WINDOW": str(window),
            "WMI_CRASH_WORKERS": str(self.workers),
        }
        launcher = [
            sys.executable,
            str(Path(__file__).with_name("crash_server.py")),
            str(self.port),
        ]
        self.launcher = subprocess.Popen(
            launcher, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.pids: list[int] = []

    def start(self) -> None:
        for _ in range(50):  # a server may die in the certificate window before it is up
            self.kill()  # what is left of the last start (a worker that did not die)
            self.launcher.stdin.write("start\n")
            self.launcher.stdin.flush()
            self.pids = [int(pid) for pid in self.launcher.stdout.readline().split()]
            assert len(self.pids) == self.workers
            if self._up():
                return
        raise RuntimeError("the server kept dying at start")

    def _up(self) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return True
            except NETWORK_ERRORS:
                if not self.alive():
                    return False
                time.sleep(0.02)
        raise RuntimeError("the server did not come up")

    def alive(self) -> bool:
        """Whether any worker is still running."""
        return any(_running(pid) for pid in self.pids)

    def kill(self) -> None:
        """SIGKILL every worker still running (one may have died in the certificate window)."""
        for pid in self.pids:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        self.kill()
        self.launcher.stdin.close()
        self.launcher.wait(10)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


DROPPED: list[str] = []  # requests cut off by a kill (list.append is thread-safe)


def call(client: httpx.Client, method: str, url: str, **kw) -> httpx.Response:
    """Retry through the server's deaths; the API is safe to repeat."""
    for _ in range(2000):
        try:
            return client.request(method, url, **kw)
        except NETWORK_ERRORS:
            DROPPED.append(url)
            time.sleep(0.05)
    raise RuntimeError("the server never came back")


def candidate(base: str, token: str, seed: int, acked: list, errors: list, keys=None) -> None:
    """Answer at random, or (keys given) correctly, so as to pass."""
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        try:
            r = call(client, "POST", "/api/v1/exams/CAWM/attempts", json={"agreement": AGREEMENT})
            if r.status_code == 409:  # started before a crash swallowed the response
                r = call(client, "GET", "/api/v1/exams/CAWM/eligibility")
                aid = r.json()["open_attempt_id"]
            else:
                assert r.status_code == 201, r.text
                aid = r.json()["id"]
            while True:
                r = call(client, "GET", f"/api/v1/exams/attempts/{aid}")
                assert r.status_code == 200, r.text
                item = r.json()["item"]
                if item is None:
                    return
                letters = list("ABCDE"[: len(item["options"])])
                rng.shuffle(letters)
                answer = letters if item["type"] == "ordering" else letters[:1]
                if item["type"] == "multiple":
                    answer = sorted(letters[:2])
                if keys is not None:
                    answer = keys(aid)
                body = {"position": item["position"], "token": item["token"], "answer": answer}
                r = call(client, "POST", f"/api/v1/exams/attempts/{aid}/answers", json=body)
                assert r.status_code == 200, r.text
                acked.append((aid, item["position"], item["token"], answer))
        except Exception as exc:  # reported by the test thread
            errors.append(repr(exc))


def key_reader(engine_):
    def keys(attempt_id: int) -> list[str]:
        with Session(engine_) as s:
            return key_of(s, attempt_id)

    return keys


def test_no_acknowledged_answer_is_lost_across_kill_9(session, settings, tmp_path):
    DROPPED.clear()
    tokens = [make_token(session, make_user(session)) for _ in range(CANDIDATES)]
    window = tmp_path / "window-kills"
    window.touch()
    server = Server(settings.database_url, tmp_path, window, settings.secret_key)
    server.start()
    acked: list = []
    errors: list = []
    engine_ = make_engine(settings.database_url)
    keys = key_reader(engine_)
    threads = [  # half the candidates pass, and each pass kills the server once in its window
        threading.Thread(
            target=candidate,
            args=(server.url, t, i, acked, errors, keys if i % 2 else None),
            daemon=True,
        )
        for i, t in enumerate(tokens)
    ]
    for t in threads:
        t.start()
    rng, kills = random.Random(7), 0
    try:  # kill at random moments for as long as candidates are answering, at least KILLS times
        while kills < KILLS or (any(t.is_alive() for t in threads) and kills < 5 * KILLS):
            time.sleep(rng.uniform(0.2, 1.5))
            server.kill()
            kills += 1
            server.start()
        for t in threads:
            t.join(300)
    finally:
        server.close()
    window_kills = window.read_text().splitlines()
    print(
        f"{kills} kills, {len(window_kills)} in the certificate window, {len(acked)} "
        f"acknowledged answers, {len(DROPPED)} requests cut off"
    )
    assert not errors, errors
    assert kills >= KILLS and not any(t.is_alive() for t in threads)
    assert DROPPED, "no kill cut off a request"
    with Session(engine_) as s:
        logged = {
            (r.attempt_id, r.position): (r.token, list(r.answer))
            for r in s.exec(select(ExamResponse))
        }
        for aid, position, token, answer in acked:
            assert logged[(aid, position)] == (token, answer)
        attempts = s.exec(select(ExamAttempt)).all()
        assert len(attempts) == CANDIDATES
        for a in attempts:
            assert a.status == "finished"
            responses = store.recorded_responses(s, a.id)
            assert len(responses) == a.step == len(a.state["item_ids"])
            assert [i for i, _ in responses] == a.state["item_ids"]
            frozen = bridge.thaw(s, a.id, a.state)
            expected = engine.score_responses(responses, frozen.policy, frozen.pool, a.end_reason)
            assert a.result == expected.to_dict()
    assert_every_pass_is_certified_after_one_sweep(engine_, settings)
    engine_.dispose()
    assert len(window_kills) >= KILLS, window_kills


def assert_every_pass_is_certified_after_one_sweep(engine_, settings) -> None:
    """One sweep, run once the leases of jobs held by killed servers have run out."""
    lease = jobs.REGISTRY["exam.passed"].lease_seconds
    sweep.run_sweep(settings, clock=lambda: utcnow() + timedelta(seconds=lease + 1))
    with Session(engine_) as s:
        passed = set(s.exec(select(ExamAttempt.id).where(ExamAttempt.passed)).all())
        certified = set(s.exec(select(Certificate.attempt_id)).all())
        print(f"{len(passed)} passes, {len(passed & certified)} certified after one sweep")
        assert len(passed) >= KILLS
        assert passed <= certified
        states = {j.key: j.status for j in jobs.list_jobs(s, limit=1000)}
        assert {states.get(f"exam.passed:{a}") for a in passed} == {"done"}
