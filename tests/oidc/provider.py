"""The real OpenID Provider of the sign-in tests (tests/oidc/provider.mjs, panva's oidc-provider
in Node), and a person's side of its development login form driven over HTTP."""

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from app.core.config import OidcProvider

HERE = Path(__file__).parent
NODE = shutil.which("node")
READY = NODE is not None and (HERE / "node_modules" / "oidc-provider").is_dir()
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Running:
    issuer: str
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(log: Path) -> Iterator[Running]:
    """Start the provider on a free port, yield it once its discovery document answers, stop it."""
    if not READY:
        if os.environ.get("CI"):
            pytest.fail("the OpenID Provider is not installed (make node-deps)", pytrace=False)
        pytest.skip("run `make node-deps` to install the test OpenID Provider (tests/oidc)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [NODE, str(HERE / "provider.mjs"), str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        with httpx.Client(timeout=2) as http:
            for _ in range(STARTUP_SECONDS * 5):
                if proc.poll() is not None:
                    raise RuntimeError("the OpenID Provider stopped:\n" + log.read_text())
                try:
                    if http.get(issuer + "/.well-known/openid-configuration").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError("the OpenID Provider did not start:\n" + log.read_text())
        yield Running(issuer=issuer, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def configs(issuer: str) -> list[OidcProvider]:
    """The platform's providers for the test provider: one honest client, one per way an ID
    token can be bad (provider.mjs), and one provider nobody answers for."""

    def client(name: str, label: str, client_id: str, at: str = issuer) -> OidcProvider:
        return OidcProvider(
            name=name,
            label=label,
            issuer=at,
            client_id=client_id,
            client_secret=f"secret-{client_id}",
        )

    return [
        client("acme", "Acme ID", "wmi"),
        client("partner", "Partner ID", "wmi"),  # another name for the same honest client
        client("tampered", "Tampered ID", "wmi-tampered"),
        client("untrusted", "Untrusted ID", "wmi-untrusted"),
        client("wrong-aud", "Wrong audience ID", "wmi-wrong-aud"),
        client("wrong-nonce", "Wrong nonce ID", "wmi-wrong-nonce"),
        client("wrong-iss", "Wrong issuer ID", "wmi-wrong-iss"),
        client("expired", "Expired ID", "wmi-expired"),
        client("gone", "Gone ID", "wmi", at=f"http://127.0.0.1:{free_port()}"),
    ]


def _form(page: httpx.Response) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action, f"no form on the provider's page:\n{page.text[:2000]}"
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return urljoin(str(page.url), unescape(action.group(1))), hidden


def sign_in_at_provider(authorization_url: str, login: str, *, cancel: bool = False) -> str:
    """A person at the provider: its login form (any password), or its Cancel link; returns
    where the provider sends the browser back (the platform's callback with its query)."""
    with httpx.Client(timeout=10) as browser:
        page = browser.get(authorization_url, follow_redirects=True)
        assert page.status_code == 200, page.text[:2000]
        if cancel:
            abort = re.search(r'href="([^"]+/abort)"', page.text)
            assert abort, page.text[:2000]
            answer = browser.get(urljoin(str(page.url), unescape(abort.group(1))))
        else:
            action, hidden = _form(page)
            form = {**hidden, "login": login, "password": "any password"}
            answer = browser.post(action, data=form)
        while answer.status_code in (302, 303):
            location = urljoin(str(answer.url), answer.headers["location"])
            if "/signin/oidc/" in location:
                return location
            answer = browser.get(location)
        raise AssertionError(f"the provider did not send the browser back:\n{answer.text[:2000]}")
