"""OpenID Connect sign-in in a real browser: the sign-in page, the provider's own login page
(tests/oidc/provider.mjs, a real OpenID Provider), and back signed in; an existing account
linked after its password; an administrator requires SSO for a domain. axe-core checks every
new page."""

import json
import os
import uuid

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.core.clock import utcnow
from app.core.db import make_engine
from app.core.security import hash_password
from tests.e2e.a11y import axe_check
from tests.e2e.conftest import MAIL_ENV, _free_port, start_server, stop_server

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory, oidc_provider):
    """`wmi serve` with the test provider configured as "Acme ID" (WMI_OIDC_PROVIDERS)."""
    var = tmp_path_factory.mktemp("e2e-oidc")
    port = _free_port()
    provider = {
        "name": "acme",
        "label": "Acme ID",
        "issuer": oidc_provider.issuer,
        "client_id": "wmi",
        "client_secret": "secret-wmi",
    }
    env = {
        **os.environ,
        "WMI_VAR_DIR": str(var),
        "WMI_DATABASE_URL": f"sqlite:///{var}/e2e.db",
        "WMI_BASE_URL": f"http://127.0.0.1:{port}",
        "WMI_OIDC_PROVIDERS": json.dumps([provider]),
        **MAIL_ENV,
    }
    proc = start_server(var, port, env)
    yield {"base": f"http://127.0.0.1:{port}", "env": env}
    stop_server(proc, var)


def _account(server, role: Role = Role.learner) -> str:
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.org"
    engine = make_engine(server["env"]["WMI_DATABASE_URL"])
    with Session(engine) as session:
        if role == Role.admin:
            accounts.ensure_admin(
                session=session, email=email, name="Ada Admin", password=PASSWORD, now=utcnow()
            )
        else:
            accounts.create_user(
                session, email=email, name="Lin Learner", password_hash=hash_password(PASSWORD),
                role=role, now=utcnow(),
            )  # fmt: skip
            session.commit()
    engine.dispose()
    return email


def _at_provider(page, login: str) -> None:
    """The provider's own login page (its development form: any login, any password)."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()


def test_sign_in_with_the_provider_creates_the_account(page, sso_server, oidc_provider):
    base, email = sso_server["base"], f"grace-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(base + "/signin")
    axe_check(page, "sign-in page with a provider")
    page.get_by_role("button", name="Sign in with Acme ID").click()
    page.wait_for_url(oidc_provider.issuer + "/**")
    _at_provider(page, email)
    page.wait_for_url(base + "/dashboard")
    expect(page.get_by_text(f"Signed in with Acme ID as {email}.")).to_be_visible()
    page.goto(base + "/profile")
    expect(page.get_by_text("Linked to Acme ID as")).to_be_visible()
    axe_check(page, "profile with a linked provider")


def test_an_existing_account_is_linked_after_its_password(page, sso_server, oidc_provider):
    base, email = sso_server["base"], _account(sso_server)
    page.goto(base + "/signin")
    page.get_by_role("button", name="Sign in with Acme ID").click()
    page.wait_for_url(oidc_provider.issuer + "/**")
    _at_provider(page, email)
    page.wait_for_url(base + "/signin/oidc/link")
    expect(page.get_by_role("heading", name="Link your Acme ID sign-in")).to_be_visible()
    axe_check(page, "link confirmation")
    page.get_by_label(f"Password of {email}").fill("not the password")
    page.get_by_role("button", name="Link and sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("The e-mail address or password")
    axe_check(page, "link confirmation refused")
    page.get_by_label(f"Password of {email}").fill(PASSWORD)
    page.get_by_role("button", name="Link and sign in").click()
    page.wait_for_url(base + "/dashboard")
    expect(page.get_by_text(f"Your account {email} is now linked")).to_be_visible()


def test_refusals_and_the_administrators_page(page, sso_server, oidc_provider):
    base = sso_server["base"]
    page.goto(base + "/signin/oidc/acme/callback?state=forged&code=forged")
    expect(page.get_by_role("heading", name="Bad request")).to_be_visible()
    expect(page.get_by_text("does not belong to a sign-in started here")).to_be_visible()
    axe_check(page, "a refused sign-in")
    admin = _account(sso_server, Role.admin)
    page.goto(base + "/signin")
    page.get_by_label("E-mail address").fill(admin)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(base + "/dashboard")
    page.goto(base + "/admin/sso")
    expect(page.get_by_text(base + "/signin/oidc/acme/callback")).to_be_visible()
    page.get_by_label("E-mail domain").fill("corp.example")
    page.get_by_role("button", name="Require single sign-on").click()
    expect(page.get_by_role("cell", name="corp.example", exact=True)).to_be_visible()
    axe_check(page, "single sign-on administration")
