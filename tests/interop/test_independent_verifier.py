"""Issued credentials checked by an independent verifier: Digital Bazaar's @digitalbazaar/vc with
the eddsa-rdfc-2022 cryptosuite and Bitstring Status List (Node, tests/interop/verify.mjs).

The verifier's document loader is offline; it gets the JSON-LD contexts from the files the
application ships and the DID document and status list as this application serves them.
"""

import copy
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.credentials import did, revocation, signing
from tests.factories.accounts import make_user
from tests.factories.credentials import pass_exam

HERE = Path(__file__).parent
NODE = shutil.which("node")
READY = NODE is not None and (HERE / "node_modules" / "@digitalbazaar" / "vc").is_dir()

if not READY and os.environ.get("CI"):
    pytest.fail("the Node verifier is not installed (make node-deps)", pytrace=False)
pytestmark = [
    pytest.mark.skipif(not READY, reason="run `make node-deps` to install the Node verifier"),
    pytest.mark.parametrize("backend", ["sqlite"]),  # signing does not depend on the database
]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_verifier(tmp_path, client, credentials: dict, *, now: datetime) -> dict:
    """Verify named credentials with the app's current DID document and status lists."""
    documents = {"did:web:testserver": client.get("/.well-known/did.json").json()}
    for credential in credentials.values():
        status = credential.get("credentialStatus")
        if isinstance(status, dict) and isinstance(status.get("statusListCredential"), str):
            url = status["statusListCredential"]
            response = client.get(url.removeprefix("http://testserver"))
            if response.status_code == 200:
                documents[url] = response.json()
    payload = {
        "now": _iso(now),
        "documents": documents,
        "credentials": [{"name": k, "credential": v} for k, v in credentials.items()],
    }
    path = tmp_path / "verify-input.json"
    path.write_text(json.dumps(payload, ensure_ascii=False))
    done = subprocess.run(
        [NODE, str(HERE / "verify.mjs"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {r["name"]: r for r in json.loads(done.stdout)}


def _credential(client, cert) -> dict:
    response = client.get(f"/credentials/{cert.number}.json")
    assert response.status_code == 200
    return response.json()


def _mutations(document: dict):
    """Every single-field change: each leaf value altered, each key removed."""

    def alter(value):
        if isinstance(value, bool):
            return not value
        if isinstance(value, int | float):
            return value + 1
        if isinstance(value, str) and len(value) >= 20 and value[-1] in "0123456789:Z":
            return value[:-2] + ("1" if value[-2] != "1" else "2") + value[-1]
        return value + "x"

    def walk(node, path):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            here = [*path, key]
            if isinstance(value, dict | list) and value:
                yield from walk(value, here)
            else:
                yield "change " + "/".join(map(str, here)), here, alter(value)
            if isinstance(node, dict):
                yield "remove " + "/".join(map(str, here)), here, None

    for name, path, value in walk(document, []):
        changed = copy.deepcopy(document)
        target = changed
        for key in path[:-1]:
            target = target[key]
        if value is None and isinstance(target, dict):
            del target[path[-1]]
        else:
            target[path[-1]] = value
        yield name, changed


def test_an_issued_credential_verifies_and_every_single_field_change_fails(
    client, session, settings, clock, tmp_path
):
    user = make_user(session, name="Grace Hopper", email="grace@example.org")
    cert = pass_exam(session, settings, user, now=clock())
    credential = _credential(client, cert)
    cases = {"issued": credential}
    cases.update(dict(_mutations(credential)))
    added = copy.deepcopy(credential)
    added["credentialSubject"]["grade"] = "A+"  # an undefined term would not be signed
    cases["add an undefined term"] = added
    other = Ed25519PrivateKey.generate()
    unsigned = {k: v for k, v in credential.items() if k != "proof"}
    cases["signed with another key"] = signing.sign(
        unsigned,
        private_key=other,
        verification_method=credential["proof"]["verificationMethod"],
        created=credential["proof"]["created"],
    )
    results = run_verifier(tmp_path, client, cases, now=clock() + timedelta(hours=1))

    assert results["issued"]["verified"], results["issued"]["errors"]
    assert results["issued"]["statusChecked"] and not results["issued"]["revoked"]
    assert len(cases) > 60
    survivors = [n for n, r in results.items() if n != "issued" and r["verified"]]
    assert survivors == [], survivors


def test_a_revoked_credential_is_reported_revoked(client, session, settings, clock, tmp_path):
    admin = make_user(session, role="admin")
    kept = pass_exam(session, settings, make_user(session), now=clock())
    revoked = pass_exam(session, settings, make_user(session), now=clock())
    revocation.revoke_certificate(
        session=session, settings=settings, number=revoked.number, admin=admin,
        reason="Identity fraud", now=clock(),
    )  # fmt: skip
    cases = {"kept": _credential(client, kept), "revoked": _credential(client, revoked)}
    results = run_verifier(tmp_path, client, cases, now=clock() + timedelta(hours=1))
    assert results["kept"]["verified"] and not results["kept"]["revoked"]
    assert results["revoked"]["revoked"] is True


def test_an_expired_credential_is_reported_expired(client, session, settings, clock, tmp_path):
    cert = pass_exam(session, settings, make_user(session), now=clock())
    after = cert.expires_at + timedelta(days=1)
    results = run_verifier(tmp_path, client, {"old": _credential(client, cert)}, now=after)
    assert not results["old"]["verified"]
    assert results["old"]["expired"], results["old"]["errors"]


def test_a_credential_signed_before_a_key_rotation_still_verifies(
    client, session, settings, clock, tmp_path
):
    before = pass_exam(session, settings, make_user(session), now=clock())
    did.rotate(session=session, settings=settings, actor_id=None, now=clock())
    after = pass_exam(session, settings, make_user(session), now=clock())
    assert before.verification_method != after.verification_method
    cases = {"before": _credential(client, before), "after": _credential(client, after)}
    results = run_verifier(tmp_path, client, cases, now=clock() + timedelta(hours=1))
    assert results["before"]["verified"], results["before"]["errors"]
    assert results["after"]["verified"], results["after"]["errors"]


def test_names_with_quotes_non_ascii_and_line_breaks_verify(
    client, session, settings, clock, tmp_path
):
    names = [
        'Zoë "Zed" O\'Brien',
        "Ødegård Łukasz Nguyễn 王小明 Σωκράτης",
        "First line\nSecond line",
        "Back\\slash <b>&amp;</b>",
    ]
    cases = {}
    for name in names:
        cert = pass_exam(session, settings, make_user(session, name=name), now=clock())
        credential = _credential(client, cert)
        assert credential["credentialSubject"]["name"] == name
        cases[name] = credential
    results = run_verifier(tmp_path, client, cases, now=clock() + timedelta(hours=1))
    for name in names:
        assert results[name]["verified"], (name, results[name]["errors"])
