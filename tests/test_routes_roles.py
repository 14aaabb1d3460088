"""Every route against every role: anonymous, learner, author, administrator. Every answer of
a route that needs a signed-in user (given, refused or redirected) says `Cache-Control: no-store`.

What a route requires is read from its dependencies (the code), and the test checks that the
running application enforces it; a policy check also pins every /admin route to administrators.
"""

import re

import pytest

from app.accounts.deps import (
    get_current_user,
    require_admin,
    require_author,
    require_panelist,
    signed_in,
)
from tests.factories.accounts import csrf, make_token, make_user, sign_in
from tests.routes import api_routes

REQUIREMENT = {
    require_admin: "admin",
    require_author: "author",
    require_panelist: "panelist",
    get_current_user: "user",
    signed_in: "user",  # the route signs its caller in itself, in the exam lane (in_lane)
}
RANK = {"anonymous": 0, "learner": 1, "panelist": 1, "author": 2, "admin": 3}
NEEDS = {"public": 0, "user": 1, "author": 2, "admin": 3}


def allows(role: str, need: str) -> bool:
    """Roles rank learner < author < admin; the panelist role opens the panel's pages and
    nothing else (not even to administrators, who run studies but never rate in them)."""
    if need == "panelist":
        return role == "panelist"
    return RANK[role] >= NEEDS[need]


def requirement(dependant) -> str:
    found = "public"
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        need = REQUIREMENT.get(dep.call)
        if need == "panelist" or (need and found != "panelist" and NEEDS[need] > NEEDS[found]):
            found = need
        stack.extend(dep.dependencies)
    return found


def concrete_path(path: str) -> str:
    values = {"code": "CAWM", "module_code": "C1", "track": "CAWM"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "999999"), path)


def test_admin_routes_are_pinned_to_administrators(app):
    for method, path, dependant in api_routes(app):
        if path.startswith(("/admin", "/api/v1/admin")):
            assert requirement(dependant) == "admin", f"{method} {path} is not admin-only"


@pytest.mark.parametrize("role", ["anonymous", "learner", "panelist", "author", "admin"])
def test_every_route_enforces_its_role(app, client, session, role):
    users = {r: make_user(session, role=r) for r in ("learner", "panelist", "author", "admin")}
    token = make_token(session, users[role]) if role != "anonymous" else None
    if role != "anonymous":
        sign_in(client, users[role])
    form_token = csrf(client)
    checked = 0
    for method, raw_path, dependant in api_routes(app):
        if raw_path == "/signout":  # ends the session the rest of the walk relies on
            continue
        need = requirement(dependant)
        path = concrete_path(raw_path)
        if method != "GET":
            form_token = csrf(client)
        api = path.startswith("/api/")
        headers = {"Authorization": f"Bearer {token}"} if api and token else {}
        if method == "GET":
            response = client.get(path, headers=headers)
        elif api:
            response = client.request(
                method, path, headers={**headers, "X-CSRF-Token": form_token}, json={}
            )
        else:
            response = client.request(method, path, data={"csrf_token": form_token})
        allowed = allows(role, need)
        label = f"{role} {method} {path} (needs {need}) -> {response.status_code}"
        assert response.status_code < 500, label
        if need != "public":  # nothing personal is stored by a cache (issue 15, F-15)
            assert response.headers.get("cache-control") == "no-store", label
        if allowed:
            assert response.status_code not in (401, 403), label
        elif role == "anonymous":
            if method == "GET" and not api:
                assert response.status_code == 303, label
                assert response.headers["location"].startswith("/signin"), label
            else:
                assert response.status_code == 401, label
        else:
            assert response.status_code == 403, label
        checked += 1
    assert checked >= 30
