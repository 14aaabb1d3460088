"""The deadline is judged by when an answer arrived, not by when its turn in the exam lane came
(issue 15, F-14: answers sent 15.8 ms before the deadline were refused on a busy server)."""

import threading
import time
from datetime import datetime, timedelta

from app.exams.agreement import VERSION as AGREEMENT
from app.exams.models import ExamAttempt
from tests.factories.accounts import make_token, make_user

AGREED = {"agreement": AGREEMENT}

LANE_WAIT = 10  # seconds a test waits for the lane at most


def _hold_the_lane(client, app) -> threading.Event:
    """Occupy every lane thread until the returned event is set (a busy server)."""
    lane, release = app.state.lane, threading.Event()
    started = threading.Semaphore(0)

    def busy(session):
        started.release()
        release.wait(LANE_WAIT)

    for _ in range(lane.threads):
        client.portal.start_task_soon(lane.run, busy)
    for _ in range(lane.threads):
        assert started.acquire(timeout=LANE_WAIT)
    return release


def _until(condition) -> None:
    deadline = time.monotonic() + LANE_WAIT
    while not condition():
        assert time.monotonic() < deadline, "the request never reached the lane"
        time.sleep(0.005)


def test_an_answer_that_arrived_before_the_deadline_counts(client, app, session, clock):
    bearer = {"Authorization": f"Bearer {make_token(session, make_user(session))}"}
    started = client.post("/api/v1/exams/CAWM/attempts", headers=bearer, json=AGREED)
    assert started.status_code == 201, started.text
    attempt = started.json()
    item = attempt["item"]
    clock.now = datetime.fromisoformat(attempt["deadline_at"]) - timedelta(milliseconds=5)
    release = _hold_the_lane(client, app)
    replies: list = []
    body = {"position": item["position"], "token": item["token"], "answer": ["A"]}
    if item["type"] == "ordering":
        body["answer"] = list("ABCDE"[: len(item["options"])])
    sender = threading.Thread(
        target=lambda: replies.append(
            client.post(
                f"/api/v1/exams/attempts/{attempt['id']}/answers", json=body, headers=bearer
            )
        )
    )
    sender.start()
    _until(lambda: app.state.lane._queue.qsize() > 0)  # it arrived and waits for the lane
    clock.advance(milliseconds=20)  # its turn comes after the deadline
    release.set()
    sender.join(LANE_WAIT)
    reply = replies[0]
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] is True
    session.expire_all()
    assert session.get(ExamAttempt, attempt["id"]).step == 1


def test_an_answer_that_arrived_after_the_deadline_is_refused(client, session, clock):
    bearer = {"Authorization": f"Bearer {make_token(session, make_user(session))}"}
    attempt = client.post("/api/v1/exams/CAWM/attempts", headers=bearer, json=AGREED).json()
    item = attempt["item"]
    clock.now = datetime.fromisoformat(attempt["deadline_at"]) + timedelta(milliseconds=1)
    body = {"position": item["position"], "token": item["token"], "answer": ["A"]}
    r = client.post(f"/api/v1/exams/attempts/{attempt['id']}/answers", json=body, headers=bearer)
    assert r.status_code == 409
    assert "time ran out" in r.json()["error"]["message"]
