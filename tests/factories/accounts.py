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
