"""The OpenID Connect relying party: discovery, the authorization request (code flow with
PKCE, state and nonce), the code exchange and the ID token's validation (Authlib's claims
rules on joserfc's JWS). No database: app.accounts.sso keeps the flows and the links.

Each refusal is an AppError whose words say what went wrong and what to do, for the page the
person lands on: a bad signature, a token for another audience or another sign-in (nonce),
an unreachable provider.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
)
from joserfc.jwk import KeySet

from app.core.config import OidcProvider, Settings
from app.core.errors import AppError, Forbidden

METADATA_SECONDS = 300  # discovery documents and key sets are fetched again after this
LEEWAY_SECONDS = 60  # clock skew allowed on the token's times


class ProviderUnreachable(AppError):
    """The provider did not answer, or answered something that is not OpenID Connect."""

    status_code = 502
    code = "provider_unreachable"


class InvalidIdToken(AppError):
    """The ID token fails a check: signature, issuer, audience, nonce, times."""

    status_code = 400
    code = "invalid_id_token"


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in (from the validated ID token, then userinfo)."""

    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str


_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def _get_json(url: str, settings: Settings, label: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=settings.oidc_timeout_seconds, **kwargs)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnreachable(
            f"{label} could not be reached ({type(exc).__name__}). Nothing was changed: try "
            "again in a few minutes, or sign in with your password if you have one."
        ) from exc
    if not isinstance(body, dict):
        raise ProviderUnreachable(f"{label} answered with something that is not JSON.")
    return body


def _cached(url: str, settings: Settings, label: str, *, fresh: bool = False) -> dict[str, Any]:
    """A provider's discovery document or key set, fetched at most every METADATA_SECONDS
    (fresh=True: now, as when a token names a key the cached set does not have)."""
    with _lock:
        hit = _cache.get(url)
    if hit and not fresh and time.monotonic() - hit[0] < METADATA_SECONDS:
        return hit[1]
    body = _get_json(url, settings, label)
    with _lock:
        _cache[url] = (time.monotonic(), body)
    return body


def metadata(provider: OidcProvider, settings: Settings) -> dict[str, Any]:
    """The provider's discovery document, checked: its issuer is the configured one."""
    meta = _cached(provider.discovery, settings, provider.label)
    if meta.get("issuer") != provider.issuer:
        raise ProviderUnreachable(
            f"{provider.label}'s configuration names the issuer {meta.get('issuer')!r}, not "
            f"{provider.issuer!r}: an administrator must correct WMI_OIDC_PROVIDERS."
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(key), str):
            raise ProviderUnreachable(f"{provider.label}'s configuration has no {key}.")
    return meta


def origin(url: str) -> str:
    """scheme://host[:port] of a URL (what a CSP source names)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def redirect_uri(settings: Settings, provider: OidcProvider) -> str:
    """Where the provider sends the browser back (register it at the provider)."""
    return f"{settings.base_url.rstrip('/')}/signin/oidc/{provider.name}/callback"


@dataclass(frozen=True)
class Request:
    """What a new flow keeps (state, nonce, PKCE verifier) and where the browser goes."""

    state: str
    nonce: str
    code_verifier: str
    url: str


def authorization_request(provider: OidcProvider, settings: Settings) -> Request:
    """A new authorization request: fresh state, nonce and PKCE verifier (S256)."""
    meta = metadata(provider, settings)
    state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
    url = add_params_to_uri(
        meta["authorization_endpoint"],
        [
            ("response_type", "code"),
            ("client_id", provider.client_id),
            ("redirect_uri", redirect_uri(settings, provider)),
            ("scope", provider.scopes),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", create_s256_code_challenge(verifier)),
            ("code_challenge_method", "S256"),
        ],
    )
    return Request(state=state, nonce=nonce, code_verifier=verifier, url=url)


def exchange_code(
    provider: OidcProvider, settings: Settings, *, code: str, code_verifier: str
) -> dict[str, Any]:
    """The token endpoint's answer for the authorization code (with the PKCE verifier)."""
    meta = metadata(provider, settings)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(settings, provider),
        "code_verifier": code_verifier,
    }
    auth = None
    if provider.token_auth == "client_secret_post":
        form.update(client_id=provider.client_id, client_secret=provider.client_secret)
    else:  # RFC 6749 2.3.1: each part form-encoded before Basic
        auth = httpx.BasicAuth(quote(provider.client_id, ""), quote(provider.client_secret, ""))
    try:
        response = httpx.post(
            meta["token_endpoint"],
            data=form,
            auth=auth,
            headers={"Accept": "application/json"},
            timeout=settings.oidc_timeout_seconds,
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnreachable(
            f"{provider.label} could not be reached to finish signing in "
            f"({type(exc).__name__}). Nothing was changed: start again in a few minutes."
        ) from exc
    if response.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
        error = body.get("error", response.status_code) if isinstance(body, dict) else "?"
        raise Forbidden(
            f"{provider.label} did not confirm the sign-in ({error}). Start again from the "
            "sign-in page."
        )
    return body


def _key_set(meta: dict[str, Any], settings: Settings, label: str, fresh: bool) -> KeySet:
    try:
        return KeySet.import_key_set(_cached(meta["jwks_uri"], settings, label, fresh=fresh))
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise ProviderUnreachable(f"{label} publishes keys this platform cannot read.") from exc


CLAIM_WORDS = {
    "aud": "was issued for another application (wrong audience)",
    "nonce": "belongs to another sign-in (wrong nonce)",
    "iss": "was issued by another provider (wrong issuer)",
    "azp": "was issued for another application (wrong authorised party)",
    "at_hash": "does not match its access token",
}


def validate_id_token(
    provider: OidcProvider,
    settings: Settings,
    id_token: str,
    *,
    nonce: str,
    now: datetime,
    access_token: str | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature (a key of the provider's published set, an
    algorithm it announces), issuer, audience, nonce and times are checked; else InvalidIdToken
    saying which check failed."""
    meta = metadata(provider, settings)
    algorithms = [
        a
        for a in meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        if a != "none" and not a.startswith("HS")  # no unsigned tokens, no shared-secret ones
    ]
    where = f"The identity token from {provider.label}"
    token = None
    for fresh in (False, True):  # a key the cached set lacks: fetch the set once more
        try:
            keys = _key_set(meta, settings, provider.label, fresh)
            token = jwt.decode(id_token, keys, algorithms=algorithms)
            break
        except InvalidKeyIdError as exc:
            if fresh:
                raise InvalidIdToken(f"{where} is signed with a key it never published.") from exc
        except BadSignatureError as exc:
            raise InvalidIdToken(
                f"{where} has a signature that does not match its content: it was altered or "
                "forged. You are not signed in."
            ) from exc
        except JoseError as exc:
            raise InvalidIdToken(f"{where} cannot be read ({exc.error}).") from exc
    assert token is not None
    claims = CodeIDToken(
        token.claims,
        token.header,
        {
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": provider.client_id},
            "sub": {"essential": True},
        },
        {"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
    )
    try:
        claims.validate(now=int(now.timestamp()), leeway=LEEWAY_SECONDS)
    except ExpiredTokenError as exc:
        raise InvalidIdToken(f"{where} has expired. Start again from the sign-in page.") from exc
    except ClaimError as exc:
        words = CLAIM_WORDS.get(exc.claim, f"fails the check of its {exc.claim!r} claim")
        raise InvalidIdToken(f"{where} {words}. You are not signed in.") from exc
    except JoseError as exc:
        raise InvalidIdToken(f"{where} is not valid ({exc.error}).") from exc
    return dict(claims)


def identity(
    provider: OidcProvider, settings: Settings, claims: dict[str, Any], access_token: str | None
) -> Identity:
    """The person's identity: the ID token's claims, completed from the userinfo endpoint when
    the token carries no e-mail address (whose subject must be the token's)."""
    if "email" not in claims and access_token:
        meta = metadata(provider, settings)
        if isinstance(meta.get("userinfo_endpoint"), str):
            info = _get_json(
                meta["userinfo_endpoint"],
                settings,
                provider.label,
                headers={"Authorization": f"Bearer {access_token}"},
            )
            if info.get("sub") != claims["sub"]:
                raise InvalidIdToken(
                    f"{provider.label}'s user information names another person than its "
                    "identity token. You are not signed in."
                )
            claims = {**info, **claims}
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise Forbidden(
            f"{provider.label} did not share your e-mail address, which this platform needs. "
            "Allow it to share the address, then start again."
        )
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    return Identity(
        issuer=provider.issuer,
        subject=str(claims["sub"]),
        email=email.strip().lower(),
        email_verified=claims.get("email_verified") in (True, "true"),  # some say "true"
        name=(name or email.split("@")[0]).strip()[:200],
    )
