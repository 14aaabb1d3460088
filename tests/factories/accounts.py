"""Plain-function factories for accounts, and helpers to act as a user over HTTP."""

import itertools
import re

from sqlmodel import Session

from app.accounts.models import ApiToken, Role, User
from app.core.clock import utcnow
from app.core.security import hash_password, new_token, token_digest

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)
_counter = itertools.count(1)


def make_user(session: Session, **overrides) -> User:
    n = next(_counter)
    values = {
        "email": f"user{n}@example.org",
        "name": f"Test User {n}",
        "role": Role.learner.value,
        "password_hash": _PASSWORD_HASH,
        "created_at": utcnow(),
    }
    values.update(overrides)
    user = User(**values)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def make_token(session: Session, user: User, name: str = "test") -> str:
    secret = new_token("wmi_")
    session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=token_digest(secret),
            prefix=secret[:10],
            created_at=utcnow(),
        )
    )
    session.commit()
    return secret


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf(client) -> str:
    """The CSRF token of the client's session (loads a page that has a form)."""
    page = client.get("/signin")
    if page.status_code == 303:  # already signed in
        page = client.get("/profile")
    return csrf_from(page.text)


def sign_in(client, user: User, password: str = PASSWORD):
    token = csrf_from(client.get("/signin").text)
    response = client.post(
        "/signin", data={"email": user.email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return response


def mailed_token(capsys, path: str = "/password/reset") -> str:
    """The token of the newest link to `path` (a reset or invitation link; "/signup/confirm"
    for a sign-up's) that the development mailer printed (the tests' settings set
    WMI_MAIL_LOG_SECRETS; the outbox itself only holds it sealed)."""
    printed = capsys.readouterr().out
    tokens = re.findall(re.escape(path) + r"\?token=([\w\-]+)", printed)
    assert tokens, f"no {path} link was mailed"
    return tokens[-1]


def ask_sign_up(client, app, email: str, name: str = "Ada Lovelace", password: str = PASSWORD):
    """Sign up as a visitor does ("check your mail"), then run the job that mails the link."""
    form = csrf_from(client.get("/signup").text)
    r = client.post(
        "/signup", data={"email": email, "name": name, "password": password, "csrf_token": form}
    )
    assert r.status_code == 200 and "Check your mail" in r.text, r.text
    app.state.jobs.drain()
    return r


def confirm_sign_up(client, token: str):
    """Follow a sign-up's link and press its button (signs the new account in)."""
    form = csrf_from(client.get(f"/signup/confirm?token={token}").text)
    return client.post("/signup/confirm", data={"token": token, "csrf_token": form})


def ask_reset(client, app, email: str) -> None:
    """Ask for a reset link as a visitor does, then run the job that mails it."""
    form = csrf_from(client.get("/password/forgot").text)
    r = client.post("/password/forgot", data={"email": email, "csrf_token": form})
    assert r.status_code == 200 and "If an account exists" in r.text
    app.state.jobs.drain()
