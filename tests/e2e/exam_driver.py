"""Drive a browser's exam attempt through the JSON API (the browser's own cookie and CSRF token)
until the pending question is of a wanted kind, so a test can meet it on the page."""

import random

from app.exams.agreement import VERSION as AGREEMENT
from tests.e2e.test_accounts_e2e import sign_up


def csrf_of(page) -> str:
    """The session's CSRF token, read from the sign-out form every signed-in page carries."""
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


def _start(page, base, track):
    page.goto(f"{base}/exams/{track}")
    token = csrf_of(page)
    response = page.request.post(
        f"{base}/api/v1/exams/{track}/attempts",
        headers={"X-CSRF-Token": token},
        data={"agreement": AGREEMENT},
    )
    assert response.status == 201, response.text()
    return response.json(), token


def attempt_with_pending(page, base, kind: str, track="CAWM", tries=12, seed=7) -> int:
    """Sign up (a new candidate per try) and answer through the API until the pending question
    is of `kind` (single, multiple, ordering); returns the attempt id. Each try is a whole
    attempt, so a kind the engine rarely picks is still met within a few tries."""
    rng = random.Random(seed)
    page.goto(base + "/")
    if page.get_by_role("button", name="Sign out").count():
        page.get_by_role("button", name="Sign out").click()
    for _ in range(tries):
        sign_up(page, base, name="Mary Jackson")
        attempt, token = _start(page, base, track)
        while attempt["status"] == "open":
            item = attempt["item"]
            if item["type"] == kind:
                return attempt["id"]
            letters = list("ABCDE"[: len(item["options"])])
            answer = (
                rng.sample(letters, len(letters)) if item["type"] == "ordering" else letters[:1]
            )
            response = page.request.post(
                f"{base}/api/v1/exams/attempts/{attempt['id']}/answers",
                headers={"X-CSRF-Token": token},
                data={"position": item["position"], "token": item["token"], "answer": answer},
            )
            assert response.status == 200, response.text()
            attempt = response.json()["attempt"]
        page.get_by_role("button", name="Sign out").click()
    raise AssertionError(f"no {kind} question met in {tries} attempts")


def pending_key(db_path, attempt_id: int) -> list[str]:
    """The pending item's key, read from the server's SQLite file (tests only, read-only)."""
    import json
    import sqlite3

    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        (key,) = db.execute(
            "SELECT v.key FROM exam_attempt a JOIN item_version v ON v.id = a.pending_item_id "
            "WHERE a.id = ?",
            (attempt_id,),
        ).fetchone()
    return json.loads(key) if isinstance(key, str) else list(key)


def pass_through_api(page, base, db_path, track="CAWM") -> int:
    """The signed-in candidate starts and answers every question correctly; the attempt id."""
    attempt, token = _start(page, base, track)
    while attempt["status"] == "open":
        item = attempt["item"]
        response = page.request.post(
            f"{base}/api/v1/exams/attempts/{attempt['id']}/answers",
            headers={"X-CSRF-Token": token},
            data={
                "position": item["position"],
                "token": item["token"],
                "answer": pending_key(db_path, attempt["id"]),
            },
        )
        assert response.status == 200, response.text()
        attempt = response.json()["attempt"]
    return attempt["id"]


def open_rules(page, base, track="CAWM"):
    """From the exam's page to its rules and candidate agreement (the clock not yet running)."""
    page.goto(f"{base}/exams/{track}")
    page.get_by_role("link", name="Read the rules and the candidate agreement").click()
    page.wait_for_url(f"{base}/exams/{track}/start")


def start_in_page(page, base, track="CAWM") -> int:
    """Start an exam as a candidate does: rules, the agreement ticked, Start; the attempt id."""
    open_rules(page, base, track)
    page.get_by_label("I have read the rules and accept the candidate agreement").check()
    page.get_by_role("button", name="Start the exam now").click()
    page.wait_for_url(base + "/exams/attempts/*")
    return int(page.url.rstrip("/").split("/")[-1])
