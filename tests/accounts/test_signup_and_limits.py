"""Issue 15 F-09 and its limits: a sign-up tells nobody whether an address has an account;
sign-ups and reset requests are limited per e-mail address and per client address; the
sweep deletes old sign-in attempts, sessions and requests (app/accounts/purge.py)."""

import itertools
import threading
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlmodel import func, select

from app.accounts.models import (
    ApiToken,
    LoginAttempt,
    MailRequest,
    OidcFlow,
    PasswordReset,
    User,
    UserSession,
)
from app.accounts.registration import SIGNUP_MAIL
from app.cli.sweep import run_sweep
from app.core.clock import to_db
from app.core.models import AuditEntry, Job, OutboxMessage
from app.main import create_app
from tests.factories.accounts import csrf_from, make_user

TABLES = (User, PasswordReset, OutboxMessage, AuditEntry, Job, MailRequest, LoginAttempt)


def _row_counts(session) -> dict:
    return {
        t.__tablename__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES
    }


def _sign_up(client, email: str, form: str):
    data = {"email": email, "name": "Someone", "password": "a long password", "csrf_token": form}
    return client.post("/signup", data=data)


def test_signing_up_does_the_same_for_a_new_and_a_taken_address(client, session):
    user = make_user(session)
    form = csrf_from(client.get("/signup").text)
    seen, pages = [_row_counts(session)], []
    for email in (user.email, "newcomer@example.org"):
        r = _sign_up(client, email, form)
        pages.append((r.status_code, r.text.replace(form, "").replace(email, "ADDRESS")))
        seen.append(_row_counts(session))
    assert pages[0] == pages[1] and pages[0][0] == 200 and "Check your mail" in pages[0][1]
    steps = [{k: b[k] - a[k] for k in a if b[k] != a[k]} for a, b in itertools.pairwise(seen)]
    assert steps == [{"job": 1, "mail_request": 1}, {"job": 1, "mail_request": 1}]
    assert "$argon2" not in str(session.exec(select(Job.payload)).all())  # the hash is sealed


def _limited(r, words: str) -> None:
    assert r.status_code == 429 and words in r.text, r.text
    assert int(r.headers["Retry-After"]) > 0


def test_sign_ups_and_resets_to_one_address_are_limited_whether_or_not_it_has_an_account(
    app, client, session, clock
):
    user = make_user(session)
    form = csrf_from(client.get("/signup").text)
    words = "Too many sign-up and password-reset requests for this e-mail address"
    for email in (user.email, "nobody@example.org"):
        for n in range(5):  # WMI_MAIL_REQUESTS_PER_EMAIL_HOUR, sign-ups and resets together
            if n % 2:
                r = client.post("/password/forgot", data={"email": email, "csrf_token": form})
            else:
                r = _sign_up(client, email, form)
            assert r.status_code == 200
        _limited(_sign_up(client, email, form), words)
        _limited(client.post("/password/forgot", data={"email": email, "csrf_token": form}), words)
    assert _sign_up(client, "someone.else@example.org", form).status_code == 200
    app.state.jobs.drain()
    mails = session.exec(select(OutboxMessage.to_address)).all()
    assert mails.count(user.email) == 3  # and at most 3 links an hour reach one account
    clock.advance(minutes=61)
    assert _sign_up(client, user.email, form).status_code == 200


def test_requests_from_one_client_address_are_limited(settings, clock):
    app = create_app(settings.model_copy(update={"mail_requests_per_client_hour": 3}), clock=clock)
    with TestClient(app, follow_redirects=False) as client:
        form = csrf_from(client.get("/password/forgot").text)
        for n in range(3):
            data = {"email": f"n{n}@example.org", "csrf_token": form}
            assert client.post("/password/forgot", data=data).status_code == 200
        words = "Too many sign-up and password-reset requests from your address"
        _limited(_sign_up(client, "n9@example.org", form), words)
        spoofed = {"X-Forwarded-For": "203.0.113.9"}  # not a trusted proxy: not believed
        data = {"email": "n8@example.org", "csrf_token": form}
        _limited(client.post("/password/forgot", data=data, headers=spoofed), words)
    app.state.engine.dispose()


def test_the_sweep_deletes_old_attempts_sessions_and_requests(app, session, settings, clock):
    now, user = clock(), make_user(session)
    ages = {"new": timedelta(minutes=5), "day": timedelta(hours=24, minutes=30),
            "old": timedelta(hours=26)}  # fmt: skip
    for name, age in ages.items():
        session.add(LoginAttempt(email=f"{name}@example.org", ip="192.0.2.1", at=to_db(now - age)))
        session.add(MailRequest(kind="reset", email=f"{name}@example.org", at=to_db(now - age)))
    sessions = {  # (created, ended) ago
        "open": (timedelta(hours=1), None),
        "ended now": (timedelta(hours=1), timedelta(minutes=5)),
        "ended": (timedelta(hours=3), timedelta(hours=2)),
        "expired": (timedelta(hours=14), None),
    }
    for name, (created, ended) in sessions.items():
        session.add(
            UserSession(
                user_id=user.id,
                token_hash=name,
                created_at=to_db(now - created),
                ended_at=None if ended is None else to_db(now - ended),
            )
        )
    for name, age in (("new-flow", timedelta(minutes=5)), ("old-flow", timedelta(hours=2))):
        session.add(OidcFlow(state_hash=name, provider="acme", nonce="n", code_verifier="v",
                             created_at=to_db(now - age)))  # fmt: skip
    session.commit()
    report = run_sweep(settings, clock=clock)
    assert report.purged == 1 + 2 + 2 + 1  # the old attempt; two requests; two sessions; a flow
    assert session.exec(select(OidcFlow.state_hash)).all() == ["new-flow"]
    left = session.exec(select(LoginAttempt.email)).all()
    assert sorted(left) == ["day@example.org", "new@example.org"]  # a day + the margin
    assert session.exec(select(MailRequest.email)).all() == ["new@example.org"]
    assert sorted(session.exec(select(UserSession.token_hash)).all()) == ["ended now", "open"]


def test_simultaneous_sign_ups_to_one_address_admit_at_most_the_limit(live, session):
    """Counted atomically (as the sign-in throttle): of 30 simultaneous sign-ups for one
    address, at most WMI_MAIL_REQUESTS_PER_EMAIL_HOUR (5) are admitted; refusals leave no row."""
    app, base = live
    with httpx.Client(base_url=base) as first:
        form = csrf_from(first.get("/signup").text)
        cookies = dict(first.cookies)
    requests, statuses = 30, []
    barrier = threading.Barrier(requests)

    def ask(_: int) -> None:
        with httpx.Client(base_url=base, cookies=cookies, timeout=120) as http:
            barrier.wait()
            statuses.append(_sign_up(http, "contested@example.org", form).status_code)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert len(statuses) == requests and set(statuses) <= {200, 429}
    admitted = statuses.count(200)
    assert 1 <= admitted <= 5, admitted
    rows = session.exec(select(MailRequest).where(MailRequest.email == "contested@example.org"))
    assert len(rows.all()) == admitted
    jobs = session.exec(select(Job).where(Job.kind == SIGNUP_MAIL)).all()
    assert len(jobs) == admitted


def test_the_sweep_deletes_sign_ups_never_confirmed(app, client, session, settings, clock):
    form = csrf_from(client.get("/signup").text)
    for email in ("abandoned@example.org", "late@example.org", "kept@example.org"):
        assert _sign_up(client, email, form).status_code == 200
    app.state.jobs.drain()
    ttl = timedelta(seconds=settings.signup_confirm_ttl_seconds)
    clock.advance(seconds=ttl.total_seconds() - 60)
    assert _sign_up(client, "late@example.org", form).status_code == 200  # a new link
    app.state.jobs.drain()
    kept = session.exec(select(User).where(User.email == "kept@example.org")).one()
    token = ApiToken(
        user_id=kept.id, name="t", token_hash="x", prefix="p", created_at=to_db(clock())
    )
    session.add(token)
    session.commit()  # something refers to it: never deleted with it
    clock.advance(hours=2)
    report = run_sweep(settings, clock=clock)
    assert report.purged >= 1
    session.expire_all()
    left = set(session.exec(select(User.email).where(User.confirmed == False)).all())  # noqa: E712
    assert left == {"late@example.org", "kept@example.org"}
    gone = session.exec(select(User).where(User.email == "abandoned@example.org")).first()
    assert gone is None and client.get("/signin").status_code == 200
    clock.advance(seconds=ttl.total_seconds())
    run_sweep(settings, clock=clock)
    session.expire_all()
    left = set(session.exec(select(User.email).where(User.confirmed == False)).all())  # noqa: E712
    assert left == {"kept@example.org"}
