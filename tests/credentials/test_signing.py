"""eddsa-rdfc-2022 against the official Open Badges 3.0 test vector, and the two pitfalls."""

import copy
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.credentials import jsonld, signing

VECTOR = Path(__file__).parent / "vectors"
SEED = "6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"
PUBLIC = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
DOCUMENT_SHA256 = "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773"

KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEED))


@pytest.fixture
def signed() -> dict:
    return json.loads((VECTOR / "ob-signed-credential.json").read_text())


def _unsigned(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "proof"}


def _resolve(_method: str):
    return KEY.public_key()


def test_the_published_key_has_the_published_multikey():
    assert signing.public_key_multibase(KEY.public_key()) == PUBLIC
    assert signing.public_key_from_multibase(PUBLIC) == KEY.public_key()


def test_canonical_document_matches_the_vector(signed):
    canon = jsonld.canonize(_unsigned(signed))
    assert canon == (VECTOR / "ob-document-canon.txt").read_text()
    assert hashlib.sha256(canon.encode()).hexdigest() == DOCUMENT_SHA256


def test_canonical_proof_options_match_the_vector(signed):
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    canon = jsonld.canonize({"@context": signed["@context"], **options})
    assert canon == (VECTOR / "ob-proof-canon.txt").read_text()


def test_signing_reproduces_the_published_proof_value(signed):
    proof = signed["proof"]
    again = signing.sign(
        _unsigned(signed),
        private_key=KEY,
        verification_method=proof["verificationMethod"],
        created=proof["created"],
    )
    assert again["proof"] == proof


def test_the_published_credential_verifies_and_an_edit_does_not(signed):
    assert signing.verify(signed, resolve_key=_resolve)
    edited = copy.deepcopy(signed)
    edited["credentialSubject"]["achievement"]["name"] = "Teamwork!"
    assert not signing.verify(edited, resolve_key=_resolve)
    other = Ed25519PrivateKey.generate().public_key()
    assert not signing.verify(signed, resolve_key=lambda _m: other)


def test_an_undefined_term_is_refused_before_signing_and_when_verifying(signed):
    sneaky = copy.deepcopy(signed)
    sneaky["credentialSubject"]["grade"] = "A+"  # not in any context: would not be signed
    with pytest.raises(jsonld.UnsafeDocument, match="grade"):
        signing.sign(_unsigned(sneaky), private_key=KEY, verification_method="x", created="now")
    assert not signing.verify(sneaky, resolve_key=_resolve)


def test_an_undefined_type_is_refused(signed):
    sneaky = _unsigned(signed)
    sneaky["type"] = [*sneaky["type"], "GoldStarCredential"]
    with pytest.raises(jsonld.UnsafeDocument, match="GoldStarCredential"):
        jsonld.check_safe(sneaky)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\t", "\r", "\x1f", "\x7f"])
def test_control_characters_are_refused(signed, char):
    sneaky = _unsigned(signed)
    sneaky["name"] = f"Team{char}work"
    with pytest.raises(jsonld.UnsafeDocument, match="control character"):
        jsonld.check_safe(sneaky)


def test_line_breaks_quotes_and_non_ascii_sign_and_verify(signed):
    document = _unsigned(signed)
    document["name"] = 'Zoë "the Builder" Ødegård\nSecond line — ünïcödé 漢字'
    again = signing.sign(
        document, private_key=KEY, verification_method="m", created="2026-01-01T00:00:00Z"
    )
    assert signing.verify(again, resolve_key=_resolve)


def test_the_document_loader_never_fetches(signed):
    with pytest.raises(jsonld.UnsafeDocument):
        jsonld.document_loader("https://example.org/evil-context.json")
