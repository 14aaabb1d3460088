"""Exams over HTTP: pages without JavaScript, the JSON API, administrators, and no leaks."""

import html
import json
import random
import re

from sqlmodel import select

from app.accounts.models import ApiToken
from app.core.clock import as_utc
from app.exams import engine_bridge as bridge
from app.exams import service as exams
from app.exams.agreement import VERSION as AGREEMENT
from app.exams.models import Accommodation, ExamAttempt, ExamWaiver
from app.itembank.models import Item, ItemVersion
from tests.factories import exams as fx
from tests.factories.accounts import csrf, make_token, make_user, sign_in

FORBIDDEN = [
    "rationale",
    "theta",
    "estimate",
    '"se"',
    "standard error",
    "pretest",
    "unscored",
    "provisional",
    '"key"',
    '"a":',
    '"b":',
    '"c":',
    "discrimination",
    "difficulty",
    "item_version",
    "first_delivered",
]


def form_fields(html: str) -> dict:
    position = re.search(r'name="position" value="(\d+)"', html)
    token = re.search(r'name="token" value="([^"]+)"', html)
    if not position:
        return {}
    n = len(re.findall(r'id="(?:answer|rank)_?-?[A-E]"', html))
    kind = "ordering" if "rank_A" in html else "multiple" if 'type="checkbox"' in html else "single"
    return {"position": position.group(1), "token": token.group(1), "kind": kind, "n": n}


def web_answer(fields: dict, rng: random.Random) -> dict:
    letters = "ABCDE"[: fields["n"]]
    data = {"position": fields["position"], "token": fields["token"]}
    if fields["kind"] == "ordering":
        ranks = list(range(1, len(letters) + 1))
        rng.shuffle(ranks)
        data.update({f"rank_{x}": str(r) for x, r in zip(letters, ranks, strict=True)})
    elif fields["kind"] == "multiple":
        data["answer"] = rng.sample(letters, 2)
    else:
        data["answer"] = rng.choice(letters)
    return data


def api_answer(item: dict, rng: random.Random) -> list[str]:
    letters = list("ABCDE"[: len(item["options"])])
    if item["type"] == "ordering":
        rng.shuffle(letters)
        return letters
    return rng.sample(letters, 2) if item["type"] == "multiple" else [rng.choice(letters)]


def test_exams_page_explains_eligibility(client, session):
    sign_in(client, make_user(session))
    page = client.get("/exams")
    assert page.status_code == 200
    assert "The WMP exam requires an active CAWM certificate or an administrator" in page.text
    track = client.get("/exams/CAWM")
    assert "You may start this exam now." in track.text and "90 minutes" in track.text


def test_start_answer_and_stale_form_post(client, session, clock):
    user = make_user(session)
    sign_in(client, user)
    token = csrf(client)
    r = client.post("/exams/CAWM/start", data={"csrf_token": token, "agreement": AGREEMENT})
    assert r.status_code == 303
    url = r.headers["location"]
    assert re.fullmatch(r"/exams/attempts/\d+", url)
    page = client.get(url)
    assert "Answered: <strong>0</strong>" in page.text and "Time left" in page.text
    assert 'data-countdown="5400"' in page.text
    first = form_fields(page.text)
    assert client.get(url).text.count(first["token"]) == 1  # reloading shows the same item
    data = {**web_answer(first, random.Random(1)), "csrf_token": token}
    r = client.post(f"{url}/answer", data=data)
    assert r.status_code == 303 and r.headers["location"] == url
    second = form_fields(client.get(url).text)
    assert second["position"] == "2"
    # the same post again: the same outcome, nothing recorded twice
    r = client.post(f"{url}/answer", data=data)
    assert r.status_code == 303 and r.headers["location"] == url
    # an answer for the first item with another choice: 409 with the current item on the page
    stale = next(
        x
        for seed in range(100)
        if (x := {**web_answer(first, random.Random(seed)), "csrf_token": token}) != data
    )
    r = client.post(f"{url}/answer", data=stale)
    assert r.status_code == 409
    assert "no longer current" in r.text and second["token"] in r.text
    # no answer chosen: the page says so, the item stays
    r = client.post(
        f"{url}/answer",
        data={"position": second["position"], "token": second["token"], "csrf_token": token},
    )
    assert r.status_code == 422 and second["token"] in r.text
    # without the CSRF token nothing is accepted
    r = client.post(f"{url}/answer", data=web_answer(second, random.Random(2)))
    assert r.status_code == 403


def test_another_user_gets_404_everywhere(client, session, clock):
    owner, other = make_user(session), make_user(session)
    attempt = fx.start(session, owner, clock)
    sign_in(client, other)
    for path in (f"/exams/attempts/{attempt.id}", f"/exams/attempts/{attempt.id}/report"):
        assert client.get(path).status_code == 404
    r = client.post(
        f"/exams/attempts/{attempt.id}/answer",
        data={"position": "1", "token": "x", "answer": "A", "csrf_token": csrf(client)},
    )
    assert r.status_code == 404
    bearer = {"Authorization": f"Bearer {make_token(session, other)}"}
    assert client.get(f"/api/v1/exams/attempts/{attempt.id}", headers=bearer).status_code == 404
    assert (
        client.get(f"/api/v1/exams/attempts/{attempt.id}/result", headers=bearer).status_code == 404
    )


def test_expired_attempt_page_says_time_ran_out(client, session, clock):
    user = make_user(session)
    attempt = fx.start(session, user, clock)
    fx.answer(session, user, clock, attempt.id, correct=True)
    sign_in(client, user)
    clock.now = as_utc(attempt.deadline_at)
    page = client.get(f"/exams/attempts/{attempt.id}")
    assert page.status_code == 200
    assert "Your time ran out. The result is based on the 1 questions you answered" in page.text
    report = client.get(f"/exams/attempts/{attempt.id}/report")
    assert report.status_code == 200 and "WMI score report" in report.text


def test_api_flow_stale_repeat_result_and_history(client, session, clock):
    user = make_user(session)
    bearer = {"Authorization": f"Bearer {make_token(session, user)}"}
    e = client.get("/api/v1/exams/CAWM/eligibility", headers=bearer).json()
    assert e["eligible"] and e["time_limit_minutes"] == 90
    r = client.post("/api/v1/exams/CAWM/attempts", headers=bearer, json={"agreement": AGREEMENT})
    assert r.status_code == 201
    attempt = r.json()
    aid, item = attempt["id"], attempt["item"]
    assert attempt["seconds_left"] == 5400 and item["position"] == 1
    again = client.post(
        "/api/v1/exams/CAWM/attempts", headers=bearer, json={"agreement": AGREEMENT}
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_eligible"
    body = {"position": 1, "token": item["token"], "answer": api_answer(item, random.Random(1))}
    first = client.post(f"/api/v1/exams/attempts/{aid}/answers", headers=bearer, json=body)
    again = client.post(f"/api/v1/exams/attempts/{aid}/answers", headers=bearer, json=body)
    assert first.status_code == again.status_code == 200
    assert first.json()["accepted"] and not first.json()["duplicate"]
    assert again.json()["duplicate"] and again.json()["answered"] == 1
    current = client.get(f"/api/v1/exams/attempts/{aid}", headers=bearer).json()["item"]
    stale = client.post(
        f"/api/v1/exams/attempts/{aid}/answers",
        headers=bearer,
        json={**body, "answer": ["B"] if body["answer"] != ["B"] else ["C"]},
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "stale_item"
    assert stale.json()["error"]["current"]["token"] == current["token"]
    assert client.get(f"/api/v1/exams/attempts/{aid}/result", headers=bearer).status_code == 409
    result = run_api_exam(client, bearer, aid, random.Random(5), [])
    assert result["status"] == "finished" and 200 <= result["scaled_score"] <= 800
    assert {d["result"] for d in result["domains"]} <= {"below", "unclear", "above", "none"}
    for d in result["domains"]:
        if d["result"] == "below" or d["relative"] == "weaker":
            assert d["study"] and all(
                s["href"].startswith("/tracks/CAWM/modules/") for s in d["study"]
            )
    history = client.get("/api/v1/exams/history", headers=bearer).json()
    assert [h["id"] for h in history] == [aid] and history[0]["passed"] == result["passed"]


def test_exam_loop_routes_authenticate_like_every_other_route(client, session, clock):
    """The answer and attempt routes sign the caller in inside their one thread hand-off
    (app.accounts.deps.in_lane); the rules are the same as CurrentUser's."""
    user = make_user(session)
    secret = make_token(session, user)
    bearer = {"Authorization": f"Bearer {secret}"}
    attempt = client.post(
        "/api/v1/exams/CAWM/attempts", headers=bearer, json={"agreement": AGREEMENT}
    ).json()
    aid, item = attempt["id"], attempt["item"]
    url = f"/api/v1/exams/attempts/{aid}"
    body = {"position": 1, "token": item["token"], "answer": api_answer(item, random.Random(2))}
    assert client.get(url).status_code == 401  # nobody signed in
    wrong = {"Authorization": "Bearer wmi_not-a-token"}
    assert client.post(f"{url}/answers", headers=wrong, json=body).status_code == 401
    # the account's owner signed in with the session cookie: CSRF header needed for the post
    sign_in(client, user)
    assert client.get(url).json()["item"]["token"] == item["token"]
    assert client.post(f"{url}/answers", json=body).status_code == 403
    r = client.post(f"{url}/answers", json=body, headers={"X-CSRF-Token": csrf(client)})
    assert r.status_code == 200 and r.json()["accepted"]
    client.cookies.clear()
    # a revoked token, then a deactivated account, are refused at once
    token = session.exec(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    token.revoked_at = clock()
    session.add(token)
    session.commit()
    assert client.get(url, headers=bearer).status_code == 401
    fresh = {"Authorization": f"Bearer {make_token(session, user)}"}
    assert client.get(url, headers=fresh).status_code == 200
    user.is_active = False
    session.add(user)
    session.commit()
    r = client.get(url, headers=fresh)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    # nothing was recorded for the refused calls: one answer, as accepted above
    session.expire_all()
    assert session.get(ExamAttempt, aid).step == 1


def run_api_exam(client, bearer, aid, rng, bodies) -> dict:
    while True:
        r = client.get(f"/api/v1/exams/attempts/{aid}", headers=bearer)
        bodies.append(r.text)
        data = r.json()
        if data["item"] is None:
            break
        item = data["item"]
        body = {
            "position": item["position"],
            "token": item["token"],
            "answer": api_answer(item, rng),
        }
        r = client.post(f"/api/v1/exams/attempts/{aid}/answers", headers=bearer, json=body)
        assert r.status_code == 200, r.text
        bodies.append(r.text)
    r = client.get(f"/api/v1/exams/attempts/{aid}/result", headers=bearer)
    bodies.append(r.text)
    return r.json()


def test_nothing_secret_leaks_through_pages_or_api(client, session, clock):
    user = make_user(session)
    sign_in(client, user)
    token, rng, bodies = csrf(client), random.Random(11), []
    bodies.append(client.get("/exams/CAWM").text)
    url = client.post(
        "/exams/CAWM/start", data={"csrf_token": token, "agreement": AGREEMENT}
    ).headers["location"]
    web_id = int(url.rsplit("/", 1)[1])
    while True:
        page = client.get(url)
        bodies.append(page.text)
        fields = form_fields(page.text)
        if not fields:
            break
        data = {**web_answer(fields, rng), "csrf_token": token}
        if rng.random() < 0.1:  # a stale submission now and then: its 409 page is scanned too
            bad = client.post(f"{url}/answer", data={**data, "token": "stale"})
            assert bad.status_code == 409
            bodies.append(bad.text)
        bodies.append(client.post(f"{url}/answer", data=data).text)
    bodies.append(client.get(f"{url}/report").text)
    bodies.append(client.get("/exams").text)
    bearer = {"Authorization": f"Bearer {make_token(session, user)}"}
    other = make_user(session)
    fx.waive(session, other, "WMP", clock)
    bearer2 = {"Authorization": f"Bearer {make_token(session, other)}"}
    start = client.post(
        "/api/v1/exams/WMP/attempts", headers=bearer2, json={"agreement": AGREEMENT}
    )
    bodies.append(start.text)
    aid = start.json()["id"]
    item = start.json()["item"]
    bad = client.post(
        f"/api/v1/exams/attempts/{aid}/answers",
        headers=bearer2,
        json={"position": 9, "token": "x", "answer": ["A"]},
    )
    assert bad.status_code == 409
    bodies.append(bad.text)
    assert item is not None
    run_api_exam(client, bearer2, aid, rng, bodies)
    bodies.append(client.get("/api/v1/exams/history", headers=bearer2).text)
    bodies.append(client.get("/api/v1/exams", headers=bearer).text)
    secrets_ = secret_strings(session, [web_id, aid])
    assert len(secrets_) > 300 and len(bodies) > 70  # the scan has something to find
    text = "\n".join(bodies)
    # item wording shown to the candidate may use any word ("estimate"): the scan looks at the rest
    scanned = text
    for shown in sorted(public_strings(session, [web_id, aid]), key=len, reverse=True):
        forms = {shown, html.escape(shown), html.escape(shown, False), json.dumps(shown)[1:-1]}
        for form in forms:
            scanned = scanned.replace(form, "")
    assert len(scanned) < len(text)  # the wording was there and is gone from the scan
    for word in FORBIDDEN:
        assert word not in scanned.lower(), word
    for s in secrets_:
        assert s not in text, s
    attempts = session.exec(select(ExamAttempt).where(ExamAttempt.id.in_([web_id, aid]))).all()
    assert all(a.status == "finished" for a in attempts)


def public_strings(session, attempt_ids) -> set[str]:
    """Stems and option texts of every item in the pools of these attempts (shown to candidates)."""
    out = set()
    for attempt in session.exec(select(ExamAttempt).where(ExamAttempt.id.in_(attempt_ids))):
        ids = [p["id"] for p in bridge.pool_items(session, attempt.id)]
        for v in session.exec(select(ItemVersion).where(ItemVersion.id.in_(ids))):
            out.add(v.stem)
            out.update(o["text"] for o in v.options)
    return out


def secret_strings(session, attempt_ids) -> set[str]:
    """Rationales and item codes of every item in the pools of these attempts."""
    out = set()
    for attempt in session.exec(select(ExamAttempt).where(ExamAttempt.id.in_(attempt_ids))):
        ids = [p["id"] for p in bridge.pool_items(session, attempt.id)]
        for v, item in session.exec(
            select(ItemVersion, Item).join(Item).where(ItemVersion.id.in_(ids))
        ):
            out.add(item.code)
            out.update(o["rationale"] for o in v.options if len(o["rationale"]) > 20)
    return out


def test_admin_grants_waiver_and_accommodation_and_reads_logs(client, session, clock):
    admin, candidate = fx.make_admin(session), make_user(session)
    attempt = fx.start(session, candidate, clock)
    fx.answer(session, candidate, clock, attempt.id, correct=True)
    exams.present(session=session, user_id=candidate.id, attempt_id=attempt.id, now=clock())
    sign_in(client, admin)
    token = csrf(client)
    r = client.post(
        "/admin/exams/waivers",
        data={
            "email": candidate.email,
            "track": "WMP",
            "reason": "12 years leading PMO",
            "csrf_token": token,
        },
    )
    assert r.status_code == 303
    r = client.post(
        "/admin/exams/accommodations",
        data={"email": candidate.email, "factor": "1.25", "reason": "medical", "csrf_token": token},
    )
    assert r.status_code == 303
    page = client.get("/admin/exams")
    assert page.status_code == 200
    assert "12 years leading PMO" in page.text and candidate.email in page.text
    assert session.exec(select(ExamWaiver).where(ExamWaiver.user_id == candidate.id)).one()
    acc = session.exec(select(Accommodation).where(Accommodation.user_id == candidate.id)).one()
    assert acc.time_factor == 1.25
    log = client.get(f"/admin/exams/attempts/{attempt.id}")
    assert log.status_code == 200 and "Response log" in log.text and "CAWM-" in log.text
    pool = bridge.pool_items(session, attempt.id)
    pretest = sum(1 for p in pool if p["pretest"])
    assert f"pool snapshot of {len(pool)} items, {pretest} of them pretest" in log.text
    assert "Pending: question 2, item CAWM-" in log.text
    assert client.get("/admin/exams?status=nonsense").status_code == 422
    r = client.post(
        "/admin/exams/waivers/withdraw",
        data={"user_id": candidate.id, "track": "WMP", "reason": "error", "csrf_token": token},
    )
    assert r.status_code == 303
    session.expire_all()
    w = session.exec(select(ExamWaiver).where(ExamWaiver.user_id == candidate.id)).one()
    assert w.withdrawn_at is not None
    client.cookies.clear()
    sign_in(client, candidate)
    assert client.get("/admin/exams").status_code == 403
    assert client.get(f"/admin/exams/attempts/{attempt.id}").status_code == 403


def test_admin_api_lists_attempts_reads_logs_and_withdraws(client, session, clock):
    admin, candidate = fx.make_admin(session), make_user(session)
    attempt = fx.start(session, candidate, clock)
    fx.run_to_end(session, candidate, clock, attempt.id, p_correct=0.6, seed=11)
    running = fx.start(session, make_user(session), clock, track="CAWM")
    bearer = {"Authorization": f"Bearer {make_token(session, admin)}"}

    listed = client.get("/api/v1/admin/exams/attempts", headers=bearer).json()
    assert {a["id"] for a in listed} >= {attempt.id, running.id}
    only_open = client.get("/api/v1/admin/exams/attempts?status=open", headers=bearer).json()
    assert [a["id"] for a in only_open] == [running.id]
    assert client.get("/api/v1/admin/exams/attempts?status=x", headers=bearer).status_code == 422

    log = client.get(f"/api/v1/admin/exams/attempts/{attempt.id}", headers=bearer).json()
    session.expire_all()
    row = session.get(ExamAttempt, attempt.id)
    pool = {p["id"]: p for p in bridge.pool_items(session, attempt.id)}
    assert log["status"] == "finished" and log["scaled_score"] == row.scaled_score
    assert log["theta"] == row.result["theta"] and log["pool_size"] == len(pool)
    assert [r["position"] for r in log["responses"]] == list(range(1, row.step + 1))
    assert all(r["pretest"] == pool[r["item_version_id"]]["pretest"] for r in log["responses"])
    assert sum(r["pretest"] for r in log["responses"]) == row.result["n_pretest"]
    assert log["pending_item_code"] is None
    live = client.get(f"/api/v1/admin/exams/attempts/{running.id}", headers=bearer).json()
    assert live["pending_item_code"].startswith("CAWM-") and live["responses"] == []
    missing = client.get("/api/v1/admin/exams/attempts/999999", headers=bearer)
    assert missing.status_code == 404

    grant = {"user_id": candidate.id, "track": "WMP", "reason": "long PMO career"}
    assert client.post("/api/v1/admin/exams/waivers", headers=bearer, json=grant).status_code == 201
    gone = {"user_id": candidate.id, "track": "WMP", "reason": "granted in error"}
    r = client.post("/api/v1/admin/exams/waivers/withdraw", headers=bearer, json=gone)
    assert r.status_code == 200 and r.json()["withdraw_reason"] == "granted in error"
    again = client.post("/api/v1/admin/exams/waivers/withdraw", headers=bearer, json=gone)
    assert again.status_code == 404
    extra = {"user_id": candidate.id, "time_factor": 1.5, "reason": "medical"}
    ok = client.post("/api/v1/admin/exams/accommodations", headers=bearer, json=extra)
    assert ok.status_code == 201
    done = {"user_id": candidate.id, "reason": "no longer needed"}
    r = client.post("/api/v1/admin/exams/accommodations/withdraw", headers=bearer, json=done)
    assert r.status_code == 200 and r.json()["id"] == ok.json()["id"]
    session.expire_all()
    assert session.get(Accommodation, ok.json()["id"]).withdrawn_at is not None

    own = {"Authorization": f"Bearer {make_token(session, candidate)}"}
    assert client.get("/api/v1/admin/exams/attempts", headers=own).status_code == 403
    assert client.get(f"/api/v1/admin/exams/attempts/{attempt.id}", headers=own).status_code == 403


def test_openapi_documents_the_exam_api(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for p in (
        "/api/v1/exams",
        "/api/v1/exams/{code}/attempts",
        "/api/v1/exams/history",
        "/api/v1/exams/attempts/{attempt_id}/answers",
        "/api/v1/exams/attempts/{attempt_id}/result",
    ):
        assert p in paths, p
    answer = paths["/api/v1/exams/attempts/{attempt_id}/answers"]["post"]
    assert "AnswerOut" in str(answer["responses"]["200"])


def test_answer_body_is_validated_like_any_other(client, session):
    """The answer route reads its JSON body itself (pydantic-core, one step): bad bodies get
    the platform's 422 with the field and message, nothing is recorded, and the schema is
    documented."""
    user = make_user(session)
    bearer = {"Authorization": f"Bearer {make_token(session, user)}"}
    attempt = client.post(
        "/api/v1/exams/CAWM/attempts", headers=bearer, json={"agreement": AGREEMENT}
    ).json()
    url = f"/api/v1/exams/attempts/{attempt['id']}/answers"
    token = attempt["item"]["token"]
    cases = [
        (dict(content=b"{not json", headers={**bearer, "content-type": "application/json"}),
         "request"),
        (dict(json={"position": 1, "token": token}, headers=bearer), "answer"),
        (dict(json={"position": 0, "token": token, "answer": ["A"]}, headers=bearer), "position"),
        (dict(json={"position": 1, "token": token, "answer": ["A"] * 6}, headers=bearer),
         "answer"),
        (dict(data={"position": "1", "token": token, "answer": "A"}, headers=bearer), "request"),
    ]  # fmt: skip
    for kwargs, field in cases:
        r = client.post(url, **kwargs)
        assert r.status_code == 422, (kwargs, r.text)
        error = r.json()["error"]
        assert error["code"] == "invalid_input", error
        assert field in {d["field"] for d in error["details"]}, error
    assert (
        client.get(f"/api/v1/exams/attempts/{attempt['id']}", headers=bearer).json()["answered"]
        == 0
    )
    schema = client.get("/api/v1/openapi.json").json()["paths"][
        "/api/v1/exams/attempts/{attempt_id}/answers"
    ]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"position", "token", "answer"}
