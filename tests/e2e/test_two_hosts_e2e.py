"""Two hosts that share nothing but the database and the settings (issue 21, part 4).

Two `wmi serve` processes, each with its own WMI_VAR_DIR, on one PostgreSQL database made for
this test, with the settings a deployment gives every host (database URL, secret key,
key-encryption key, public base URL, production). Requests alternate between them as a load
balancer would send them: a candidate signs in on one and goes on on the other, answers an
exam on both, a certificate issued on one verifies with what the other publishes, a rotation
on one signs the next certificate on the other, and the old certificate still verifies on
both. The first host also starts with a PEM key file of an earlier version, which it imports.
"""

import base64
import os
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import text
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401  (every table, for the scan of the database)
from app.accounts import service as accounts
from app.core import sealing
from app.core.clock import utcnow
from app.core.config import Settings
from app.core.db import make_engine
from app.credentials.signing import public_key_multibase
from app.exams.agreement import VERSION as AGREEMENT
from tests.conftest import pg_database, require_pg
from tests.e2e.conftest import _free_port, start_server, stop_server
from tests.factories.accounts import PASSWORD, csrf_from, make_token, make_user
from tests.factories.credentials import require_approval
from tests.factories.exams import key_of

pytestmark = pytest.mark.e2e
PUBLIC_URL = "http://certify.example.test"  # the load balancer's address: one issuer for both


@pytest.fixture
def database():
    """A PostgreSQL database for this test alone, migrated by the first host's first start."""
    require_pg()
    with pg_database("wmi_hosts") as url:
        yield url


@pytest.fixture
def hosts(database, tmp_path):
    """Host A (with a legacy PEM key in its var/), then host B: what every host is given."""
    shared = {
        "WMI_DATABASE_URL": database,
        "WMI_SECRET_KEY": "two-hosts-secret-" + uuid.uuid4().hex,
        "WMI_KEY_ENCRYPTION_KEY": sealing.new_kek(),
        "WMI_BASE_URL": PUBLIC_URL,
        "WMI_ENVIRONMENT": "production",
        "WMI_EXPOSURE_EXAMINEES": "10",  # a small exposure simulation at first start
        "WMI_EXPOSURE_ITERATIONS": "1",
        "WMI_EXPOSURE_CHECK_EXAMINEES": "10",
        "WMI_JOB_POLL_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    legacy = Ed25519PrivateKey.generate()
    running: list[tuple] = []  # (process, var dir, base URL)
    try:
        for name in ("a", "b"):
            var = tmp_path / f"var-{name}"
            var.mkdir()
            if name == "a":  # a key file an earlier version made, imported at first start
                (var / "credential_keys").mkdir()
                (var / "credential_keys" / "key-0001.pem").write_bytes(_pem(legacy))
            port = _free_port()
            proc = start_server(var, port, {**os.environ, **shared, "WMI_VAR_DIR": str(var)})
            running.append((proc, var, f"http://127.0.0.1:{port}"))
        yield {
            "a": running[0][2],
            "b": running[1][2],
            "vars": [r[1] for r in running],
            "settings": Settings(
                var_dir=tmp_path,
                database_url=database,
                secret_key=shared["WMI_SECRET_KEY"],
                key_encryption_key=shared["WMI_KEY_ENCRYPTION_KEY"],
                environment="production",
            ),
            "legacy": public_key_multibase(legacy.public_key()),
        }
    finally:
        for proc, var, _ in running:
            stop_server(proc, var)


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def _sign_in(client: httpx.Client, base: str, email: str) -> None:
    token = csrf_from(client.get(f"{base}/signin").text)
    r = client.post(
        f"{base}/signin", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert r.status_code == 303, r.text


def _pass_exam(client: httpx.Client, engine, bases: list[str], csrf: str) -> dict[str, int]:
    """Start the CAWM exam and answer it correctly, each request on the next host in turn;
    returns how many answers each host took."""
    headers = {"x-csrf-token": csrf}
    r = client.post(
        f"{bases[0]}/api/v1/exams/CAWM/attempts", json={"agreement": AGREEMENT}, headers=headers
    )
    assert r.status_code == 201, r.text
    attempt = r.json()["id"]
    taken = dict.fromkeys(bases, 0)
    for turn in range(1000):
        shown = client.get(f"{bases[turn % 2]}/api/v1/exams/attempts/{attempt}")
        assert shown.status_code == 200, shown.text
        item = shown.json()["item"]
        if item is None:
            return taken
        with Session(engine) as s:
            answer = key_of(s, attempt)
        body = {"position": item["position"], "token": item["token"], "answer": answer}
        base = bases[(turn + 1) % 2]
        r = client.post(f"{base}/api/v1/exams/attempts/{attempt}/answers", json=body,
                        headers=headers)  # fmt: skip
        assert r.status_code == 200, r.text
        taken[base] += 1
    raise AssertionError("the exam did not end")


def _issue(admin: httpx.Client, base: str) -> dict:
    """Issue the one pending certificate from `base`; its signed credential, from `base`."""
    pending = admin.get(f"{base}/api/v1/admin/certificates", params={"status": "pending"})
    assert pending.status_code == 200 and len(pending.json()) == 1, pending.text
    row = pending.json()[0]
    issued = admin.post(f"{base}/api/v1/admin/certificates/{row['id']}/issue")
    assert issued.status_code == 200, issued.text
    number = issued.json()["certificate_number"]
    return admin.get(f"{base}/credentials/{number}.json").json()


def _verified_on(base: str, credential: dict) -> bool:
    """The other host's verification API and DID document both accept the credential."""
    r = httpx.post(f"{base}/credentials/verify", json={"verifiableCredential": credential})
    assert r.status_code == 200, r.text
    document = httpx.get(f"{base}/.well-known/did.json").json()
    published = [m["id"] for m in document["verificationMethod"]]
    return r.json()["verified"] and credential["proof"]["verificationMethod"] in published


def test_two_hosts_share_sign_ins_exams_keys_and_rotations(hosts):
    a, b, settings = hosts["a"], hosts["b"], hosts["settings"]
    engine = make_engine(settings.database_url)
    with Session(engine, expire_on_commit=False) as s:
        require_approval(s)  # certificates wait for an administrator: who signs is known
        learners = [make_user(s, email=f"learner{i}@example.org") for i in (1, 2)]
        admin = accounts.ensure_admin(session=s, email="admin@example.org", name="Admin",
                                      password=PASSWORD, now=utcnow())  # fmt: skip
        admin_token = make_token(s, admin)
    admin_client = httpx.Client(headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)

    # both hosts publish one DID document: the key host A imported from its PEM file
    documents = [httpx.get(f"{h}/.well-known/did.json").json() for h in (a, b)]
    assert documents[0] == documents[1]
    assert [m["publicKeyMultibase"] for m in documents[0]["verificationMethod"]] == [
        hosts["legacy"]
    ]
    var_a, var_b = hosts["vars"]
    assert list((var_a / "credential_keys").glob("*.pem")) == []
    assert (var_a / "credential_keys.imported" / "key-0001.pem").exists()
    assert not (var_b / "credential_keys").exists()

    # a candidate signs in on A, is signed in on B, answers on both; A issues the certificate
    with httpx.Client(timeout=30) as candidate:  # one cookie jar for both hosts, as a browser
        _sign_in(candidate, a, learners[0].email)
        profile = candidate.get(f"{b}/profile")
        assert profile.status_code == 200 and learners[0].name in profile.text
        taken = _pass_exam(candidate, engine, [b, a], csrf_from(profile.text))
    assert min(taken.values()) >= 2, taken
    first = _issue(admin_client, a)
    assert first["proof"]["verificationMethod"].endswith("#" + hosts["legacy"])
    assert _verified_on(b, first) and _verified_on(a, first)

    # a rotation on A signs the next certificate on B, whose keys were read before it
    rotated = admin_client.post(f"{a}/api/v1/admin/credentials/keys/rotate")
    assert rotated.status_code == 201, rotated.text
    new_method = rotated.json()["verification_method"]
    assert new_method != first["proof"]["verificationMethod"]
    with httpx.Client(timeout=30) as candidate:
        _sign_in(candidate, b, learners[1].email)
        profile = candidate.get(f"{a}/profile")
        taken = _pass_exam(candidate, engine, [a, b], csrf_from(profile.text))
    assert min(taken.values()) >= 2, taken
    second = _issue(admin_client, b)
    assert second["proof"]["verificationMethod"] == new_method
    for host in (a, b):
        assert _verified_on(host, second) and _verified_on(host, first)
    keys_seen = [admin_client.get(f"{h}/api/v1/admin/credentials/keys").json() for h in (a, b)]
    assert keys_seen[0] == keys_seen[1] and [k["signs"] for k in keys_seen[0]] == [False, True]
    admin_client.close()
    _assert_no_key_in_clear(engine, settings, hosts["vars"])
    engine.dispose()


def _assert_no_key_in_clear(engine, settings: Settings, var_dirs: list[Path]) -> None:
    """Neither the database (every table) nor the servers' logs hold a private key or the KEK
    in clear."""
    ring = sealing.keyring(settings)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, public_key, sealed_private_key FROM signing_key ORDER BY id")
        ).all()
        dump = "\n".join(
            repr(row) for table in SQLModel.metadata.sorted_tables
            for row in conn.execute(table.select())
        )  # fmt: skip
    logs = "".join((var / "server.log").read_text() for var in var_dirs)
    assert len(rows) == 2 and "wmi-sealed:v1:" in dump
    for number, public, sealed in rows:
        raw = ring.open(sealed, purpose=f"signing_key:{public}", what=f"key {number}")
        pem = _pem(Ed25519PrivateKey.from_private_bytes(raw)).decode().splitlines()[1]
        forms = [raw.hex(), base64.b64encode(raw).decode(), pem, repr(raw)[2:-1]]
        for form in forms:
            assert form not in dump and form not in logs
    assert settings.key_encryption_key not in logs and settings.key_encryption_key not in dump
