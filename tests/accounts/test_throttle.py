"""The sign-in throttle (issue 15, F-02, F-03, F-10): counted atomically under concurrent
guesses, per account and address with growing delays, the owner's known browser exempt from
what others can drive up, lifted by a password reset, and the client's address taken from
X-Forwarded-For only behind a configured proxy."""

import threading

import httpx
from fastapi.testclient import TestClient
from sqlmodel import select

from app.accounts.models import LoginAttempt
from app.main import create_app
from tests.factories.accounts import PASSWORD, ask_reset, csrf_from, mailed_token, make_user

WRONG = "not the password"


def _form(http) -> dict:
    return {"csrf_token": csrf_from(http.get("/signin").text)}


def _sign_in(http, email: str, password: str, form: dict, **headers):
    data = {"email": email, "password": password, **form}
    return http.post("/signin", data=data, headers=headers)


def _client(app, ip: str) -> TestClient:
    return TestClient(app, follow_redirects=False, client=(ip, 50000))


# F-02: simultaneous guesses are counted and checked atomically.


def test_simultaneous_wrong_passwords_get_at_most_five_checks(live, session):
    app, base = live
    user = make_user(session)
    guesses = 60
    with httpx.Client(base_url=base) as first:
        form = _form(first)
        cookies = dict(first.cookies)
    statuses: list[int] = []
    barrier = threading.Barrier(guesses)

    def guess(_: int) -> None:
        with httpx.Client(base_url=base, cookies=cookies, timeout=120) as http:
            barrier.wait()
            statuses.append(_sign_in(http, user.email, WRONG, form).status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert set(statuses) <= {422, 429} and len(statuses) == guesses
    checked = statuses.count(422)  # may be fewer than 5: a guess counts the pending others
    assert checked <= 5, checked
    rows = session.exec(select(LoginAttempt).where(LoginAttempt.email == user.email)).all()
    assert len(rows) == guesses and sum(not r.refused for r in rows) == checked


# F-03: an attacker elsewhere cannot lock the owner out.


def test_failures_from_one_address_do_not_lock_out_the_owner_elsewhere(app, session):
    user = make_user(session)
    with _client(app, "203.0.113.9") as attacker, _client(app, "198.51.100.7") as owner:
        form = _form(attacker)
        for _ in range(5):
            assert _sign_in(attacker, user.email, WRONG, form).status_code == 422
        r = _sign_in(attacker, user.email, PASSWORD, form)
        assert r.status_code == 429  # even the right password: this address must wait
        assert _sign_in(owner, user.email, PASSWORD, _form(owner)).status_code == 303


def test_each_further_failure_doubles_the_wait(app, session, clock):
    user = make_user(session)
    with _client(app, "203.0.113.9") as attacker:
        form = _form(attacker)
        for _ in range(5):
            assert _sign_in(attacker, user.email, WRONG, form).status_code == 422
        for minutes in (1, 2, 4, 8, 15, 15):
            r = _sign_in(attacker, user.email, WRONG, form)
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) == minutes * 60 + 1
            unit = "minute" if minutes == 1 else "minutes"
            assert f"Try again in {minutes} {unit}; each further failure doubles" in r.text
            clock.advance(seconds=minutes * 60 - 1)
            assert _sign_in(attacker, user.email, WRONG, form).status_code == 429
            clock.advance(seconds=1)
            assert _sign_in(attacker, user.email, WRONG, form).status_code == 422
        refused = session.exec(select(LoginAttempt).where(LoginAttempt.refused)).all()
        assert len(refused) == 12


def test_many_addresses_leave_the_owners_known_browser_able_to_sign_in(app, session):
    user = make_user(session)
    with _client(app, "198.51.100.7") as owner:
        assert _sign_in(owner, user.email, PASSWORD, _form(owner)).status_code == 303
        owner.post("/signout", data={"csrf_token": csrf_from(owner.get("/profile").text)})
        for k in range(5):  # 20 failures, 4 from each of 5 addresses: under the per-address limit
            with _client(app, f"203.0.113.{k + 1}") as attacker:
                form = _form(attacker)
                for _ in range(4):
                    assert _sign_in(attacker, user.email, WRONG, form).status_code == 422
        with _client(app, "192.0.2.50") as stranger:
            r = _sign_in(stranger, user.email, PASSWORD, _form(stranger))
            assert r.status_code == 429
            assert "accepts sign-ins only from browsers that have signed in to it before" in r.text
        assert _sign_in(owner, user.email, PASSWORD, _form(owner)).status_code == 303


def test_one_address_guessing_at_many_accounts_is_stopped(app, session):
    users = [make_user(session) for _ in range(5)]
    with _client(app, "203.0.113.9") as sprayer:
        form = _form(sprayer)
        for user in users:
            for _ in range(4):
                assert _sign_in(sprayer, user.email, WRONG, form).status_code == 422
        r = _sign_in(sprayer, make_user(session).email, PASSWORD, form)
        assert r.status_code == 429 and "from your address" in r.text


def test_a_password_reset_lifts_the_limit(app, session, capsys):
    user = make_user(session)
    with _client(app, "198.51.100.7") as owner:
        form = _form(owner)
        for _ in range(5):
            _sign_in(owner, user.email, WRONG, form)
        r = _sign_in(owner, user.email, PASSWORD, form)
        assert r.status_code == 429 and "A password reset lifts the limit at once" in r.text
        ask_reset(owner, app, user.email)
        data = {"token": mailed_token(capsys), "password": "my new password", **form}
        assert owner.post("/password/reset", data=data).status_code == 303
        form = _form(owner)
        assert _sign_in(owner, user.email, "my new password", form).status_code == 303


# F-10: X-Forwarded-For is believed only from configured proxies.


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(live, session):
    _, base = live
    user = make_user(session)
    with httpx.Client(base_url=base) as http:
        form = _form(http)
        for k in range(5):
            r = _sign_in(http, user.email, WRONG, form, **{"X-Forwarded-For": f"10.9.0.{k}"})
            assert r.status_code == 422
        r = _sign_in(http, user.email, WRONG, form, **{"X-Forwarded-For": "10.9.0.99"})
        assert r.status_code == 429
    ips = set(session.exec(select(LoginAttempt.ip)).all())
    assert ips == {"127.0.0.1"}


def test_a_long_forwarded_header_is_counted_and_signs_in(live, session):
    _, base = live
    user = make_user(session)
    with httpx.Client(base_url=base) as http:
        r = _sign_in(http, user.email, PASSWORD, _form(http), **{"X-Forwarded-For": "x" * 100})
        assert r.status_code == 303
    assert session.exec(select(LoginAttempt.ip)).all() == ["127.0.0.1"]


def test_behind_a_trusted_proxy_the_forwarded_address_counts(settings, clock, session):
    tuned = settings.model_copy(update={"trusted_proxies": "10.0.0.0/8, 192.0.2.1"})
    app = create_app(tuned, clock=clock)
    user = make_user(session)
    with _client(app, "10.0.0.5") as proxy:
        form = _form(proxy)
        for k in range(6):  # six addresses, one failure each: no address reaches the limit
            hops = f"forged, 198.51.100.{k}, 192.0.2.1"  # the client's, then a trusted proxy's
            r = _sign_in(proxy, user.email, WRONG, form, **{"X-Forwarded-For": hops})
            assert r.status_code == 422
        r = _sign_in(proxy, user.email, PASSWORD, form, **{"X-Forwarded-For": "x" * 100})
        assert r.status_code == 303  # not an address: the proxy's own is counted
    ips = session.exec(select(LoginAttempt.ip).order_by(LoginAttempt.id)).all()
    assert ips == [f"198.51.100.{k}" for k in range(6)] + ["10.0.0.5"]
    app.state.engine.dispose()
