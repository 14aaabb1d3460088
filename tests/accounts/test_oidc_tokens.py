"""ID tokens the platform must refuse, made with joserfc and checked against the real test
provider's discovery document and published keys (tests/oidc/provider.mjs): signed by a key
it never published, unsigned, signed with the client secret, or otherwise out of place."""

import time
from datetime import UTC, datetime

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from app.accounts import oidc
from app.core.config import Settings
from tests.oidc.provider import configs

NOW = int(time.time())


@pytest.fixture
def acme(oidc_provider):
    return configs(oidc_provider.issuer)[0]


@pytest.fixture
def settings(tmp_path, oidc_provider):
    return Settings(var_dir=tmp_path, oidc_providers=configs(oidc_provider.issuer))


def claims(provider, **changes):
    base = {
        "iss": provider.issuer,
        "aud": provider.client_id,
        "sub": "ada@example.org",
        "nonce": "n-1",
        "iat": NOW,
        "exp": NOW + 300,
    }
    return {**base, **changes}


def check(provider, settings, token: str, nonce: str = "n-1"):
    return oidc.validate_id_token(
        provider, settings, token, nonce=nonce, now=datetime.fromtimestamp(NOW, UTC)
    )


def stranger(kid: str = "test-key-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def test_a_token_signed_by_a_stranger_under_the_providers_key_id_is_refused(acme, settings):
    token = jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims(acme), stranger())
    with pytest.raises(oidc.InvalidIdToken, match="signature that does not match"):
        check(acme, settings, token)


def test_a_token_naming_a_key_the_provider_never_published_is_refused(acme, settings):
    token = jwt.encode({"alg": "RS256", "kid": "other"}, claims(acme), stranger("other"))
    with pytest.raises(oidc.InvalidIdToken, match="key it never published"):
        check(acme, settings, token)


def test_shared_secret_and_unsigned_tokens_are_refused(acme, settings):
    secret = OctKey.import_key(acme.client_secret.encode() * 4)
    hs = jwt.encode({"alg": "HS256", "kid": "test-key-1"}, claims(acme), secret)
    with pytest.raises(oidc.InvalidIdToken):
        check(acme, settings, hs)
    payload = hs.split(".")[1]
    unsigned = "eyJhbGciOiJub25lIn0." + payload + "."  # {"alg":"none"}
    with pytest.raises(oidc.InvalidIdToken):
        check(acme, settings, unsigned)
