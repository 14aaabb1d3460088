"""Secrets sealed with the key-encryption key: what opens, what does not, and what it says."""

import base64

import pytest

from app.core import sealing
from app.core.config import Settings


def _settings(tmp_path, **overrides) -> Settings:
    values = {"var_dir": tmp_path, "secret_key": "s" * 40, "environment": "test", **overrides}
    return Settings(**values)


def test_a_sealed_value_opens_with_its_kek_and_purpose_only(tmp_path):
    ring = sealing.keyring(_settings(tmp_path, key_encryption_key=sealing.new_kek()))
    sealed = ring.seal(b"private bytes", purpose="signing_key:z6MkA")
    assert sealed.startswith(f"wmi-sealed:v1:{ring.current.id}:")
    assert b"private bytes" not in sealed.encode() and "private" not in sealed
    assert ring.open(sealed, purpose="signing_key:z6MkA", what="Key 1") == b"private bytes"
    with pytest.raises(sealing.SealingError, match="Key 1 does not open with key-encryption key"):
        ring.open(sealed, purpose="signing_key:z6MkB", what="Key 1")  # copied to another row
    assert ring.seal(b"x", purpose="p") != ring.seal(b"x", purpose="p")  # a fresh nonce each time


def test_a_tampered_value_is_refused_with_a_message(tmp_path):
    ring = sealing.keyring(_settings(tmp_path))
    sealed = ring.seal(b"k" * 32, purpose="p")
    prefix, body = sealed.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[20] ^= 1
    tampered = f"{prefix}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(sealing.SealingError, match="was altered"):
        ring.open(tampered, purpose="p", what="Signing key 1")
    with pytest.raises(sealing.SealingError, match="is not a sealed value"):
        ring.open("whsec_plain", purpose="p", what="The secret")


def test_a_wrong_kek_names_the_one_needed_and_a_previous_kek_still_opens(tmp_path):
    old, new = sealing.new_kek(), sealing.new_kek()
    sealed = sealing.keyring(_settings(tmp_path, key_encryption_key=old)).seal(b"v", purpose="p")
    wrong = sealing.keyring(_settings(tmp_path, key_encryption_key=new))
    old_id = sealing.kek_id_of(sealed)
    with pytest.raises(sealing.SealingError, match=f"sealed with key-encryption key {old_id}"):
        wrong.open(sealed, purpose="p", what="Key 1")
    both = sealing.keyring(
        _settings(tmp_path, key_encryption_key=new, previous_key_encryption_keys=f" {old} ")
    )
    assert both.open(sealed, purpose="p", what="Key 1") == b"v"
    assert not both.is_current(sealed) and both.is_current(both.seal(b"v", purpose="p"))


def test_production_needs_a_well_formed_kek(tmp_path):
    with pytest.raises(sealing.SealingError, match="WMI_KEY_ENCRYPTION_KEY is not set"):
        sealing.keyring(_settings(tmp_path, environment="production"))
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(sealing.SealingError, match="must be 32 random bytes in base64"):
            sealing.keyring(_settings(tmp_path, environment="production", key_encryption_key=bad))
    standard = base64.b64encode(bytes(range(32))).decode()  # '+' and '/' are accepted too
    assert sealing.keyring(_settings(tmp_path, key_encryption_key=standard)).current.id


def test_development_derives_the_kek_from_the_secret_key(tmp_path):
    one = sealing.keyring(_settings(tmp_path))
    assert one.current == sealing.keyring(_settings(tmp_path / "other-host")).current
    assert one.current != sealing.keyring(_settings(tmp_path, secret_key="t" * 40)).current
    sealed = one.seal(b"v", purpose="p")  # a KEK set later still opens what development sealed
    later = sealing.keyring(_settings(tmp_path, key_encryption_key=sealing.new_kek()))
    assert later.open(sealed, purpose="p", what="v") == b"v"


def test_no_kek_appears_in_a_repr(tmp_path):
    kek = sealing.new_kek()
    settings = _settings(tmp_path, key_encryption_key=kek)
    ring = sealing.keyring(settings)
    assert kek not in repr(settings) and kek not in repr(ring)
    assert repr(ring.current.key) not in repr(ring)
