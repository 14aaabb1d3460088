"""Crash safety: a real server killed with SIGKILL while candidates answer, then restarted.

Afterwards no acknowledged answer is missing from the response log, and every finished
attempt's stored result equals the engine's score of its recorded responses.
"""

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlmodel import Session, select

from app.core.db import make_engine
from app.exams import engine_bridge as bridge
from app.exams.models import ExamAttempt, ExamResponse
from app.psychometrics import engine
from tests.factories.accounts import make_token, make_user

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = 50
KILLS = 10
NETWORK_ERRORS = (httpx.TransportError,)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """uvicorn processes forked from a warm launcher (crash_server.py); killed with SIGKILL."""

    def __init__(self, database_url: str, var_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "WMI_DATABASE_URL": database_url,
            "WMI_VAR_DIR": str(var_dir),
            "WMI_SECRET_KEY": "crash-test-secret-" + "x" * 32,
            "WMI_ENVIRONMENT": "test",
            "OPENBLAS_NUM_THREADS": "1",
        }
        launcher = [
            sys.executable,
            str(Path(__file__).with_name("crash_server.py")),
            str(self.port),
        ]
        self.launcher = subprocess.Popen(
            launcher, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.pid: int | None = None

    def start(self) -> None:
        self.launcher.stdin.write("start\n")
        self.launcher.stdin.flush()
        self.pid = int(self.launcher.stdout.readline())
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except NETWORK_ERRORS:
                time.sleep(0.02)
        raise RuntimeError("the server did not come up")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the port is free once the process is gone
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.01)

    def close(self) -> None:
        if self.pid is not None:
            self.kill()
        self.launcher.stdin.close()
        self.launcher.wait(10)


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


def candidate(base: str, token: str, seed: int, acked: list, errors: list) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        try:
            r = call(client, "POST", "/api/v1/exams/CAWM/attempts")
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
                body = {"position": item["position"], "token": item["token"], "answer": answer}
                r = call(client, "POST", f"/api/v1/exams/attempts/{aid}/answers", json=body)
                assert r.status_code == 200, r.text
                acked.append((aid, item["position"], item["token"], answer))
        except Exception as exc:  # reported by the test thread
            errors.append(repr(exc))


def test_no_acknowledged_answer_is_lost_across_kill_9(session, settings, tmp_path):
    DROPPED.clear()
    tokens = [make_token(session, make_user(session)) for _ in range(CANDIDATES)]
    server = Server(settings.database_url, tmp_path)
    server.start()
    acked: list = []
    errors: list = []
    threads = [
        threading.Thread(target=candidate, args=(server.url, t, i, acked, errors), daemon=True)
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
    print(f"{kills} kills, {len(acked)} acknowledged answers, {len(DROPPED)} requests cut off")
    assert not errors, errors
    assert kills >= KILLS and not any(t.is_alive() for t in threads)
    assert DROPPED, "no kill cut off a request"
    engine_ = make_engine(settings.database_url)
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
            responses = bridge.recorded_responses(s, a.id)
            assert len(responses) == a.step == len(a.state["item_ids"])
            assert [i for i, _ in responses] == a.state["item_ids"]
            frozen = bridge.thaw(s, a.id, a.state)
            expected = engine.score_responses(responses, frozen.policy, frozen.pool, a.end_reason)
            assert a.result == expected.to_dict()
    engine_.dispose()
