"""Verifying a credential this platform issued, as the W3C VC API's `POST /credentials/verify`
does: each check named, each failure said in words. The checks reuse the issuing code: the
proof through `signing.verify` with the issuer's keys (`did.resolve_key`, rotated keys
included), the status through the signed status list the platform publishes
(`service.status_list_credential`, its own proof checked the same way).

Checks, in order (every one runs, so an answer names every failure):
  issuer      the credential's issuer is this platform's did:web
  key         the proof's verificationMethod is one of the issuer's keys (current or earlier)
  proof       the eddsa-rdfc-2022 signature holds over the credential as sent
  status      its BitstringStatusList entry points at a list of this platform, whose own proof
              holds, and the credential's bit is not set (not revoked)
  validity    validFrom <= now < validUntil
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyld.jsonld import JsonLdError
from sqlmodel import Session, select

from app.core.clock import as_utc
from app.core.config import Settings
from app.core.errors import AppError
from app.credentials import did, signing, statuslist
from app.credentials.models import Certificate, CertificateStatus
from app.credentials.service import status_list_credential, urls

CHECKS = ("issuer", "key", "proof", "status", "validity")


@dataclass
class Outcome:
    """What a verification found: the checks that passed and, for each that failed, why."""

    checks: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.errors and len(self.checks) == len(CHECKS)

    def judge(self, check: str, problem: str | None) -> None:
        if problem is None:
            self.checks.append(check)
        else:
            self.errors.append({"check": check, "message": problem})


def _issuer_id(credential: dict) -> str:
    issuer = credential.get("issuer")
    return str(issuer.get("id", "")) if isinstance(issuer, dict) else str(issuer or "")


def _proof_holds(session: Session, document: dict, settings: Settings) -> bool:
    try:
        return signing.verify(document, resolve_key=lambda m: did.resolve_key(session, settings, m))
    except (AppError, JsonLdError, TypeError, KeyError):  # contexts not shipped, odd shapes
        return False


def _key_problem(session: Session, credential: dict, settings: Settings) -> str | None:
    proof = credential.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, dict) else None
    if not method:
        return "The credential carries no proof with a verificationMethod."
    if did.resolve_key(session, settings, str(method)) is None:
        return f"The key {method} is not one of this issuer's keys, current or earlier."
    return None


def _status_problem(session: Session, settings: Settings, credential: dict) -> str | None:
    entry = credential.get("credentialStatus")
    if not isinstance(entry, dict):
        return "The credential has no credentialStatus entry."
    url = str(entry.get("statusListCredential", ""))
    prefix = f"{urls(settings).base}/credentials/status/"
    number = url.removeprefix(prefix)
    if not url.startswith(prefix) or not number.isdigit():
        return f"The status list {url} is not one this platform publishes."
    try:
        listed = status_list_credential(session, settings, int(number))
    except AppError:
        return f"The status list {url} does not exist."
    if not _proof_holds(session, listed, settings):
        return "The status list's own proof does not hold."
    try:
        index = int(entry.get("statusListIndex", ""))
        bits = statuslist.decode(listed["credentialSubject"]["encodedList"])
        revoked = statuslist.get_bit(bits, index)
    except (ValueError, IndexError, KeyError, TypeError):
        return "The credential's statusListIndex is not a position of its list."
    if revoked:
        return "The credential has been revoked (its bit is set in the status list)."
    return None


def _instant(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _validity_problem(credential: dict, now: datetime) -> str | None:
    start, end = _instant(credential.get("validFrom")), _instant(credential.get("validUntil"))
    if start is None:
        return "The credential has no readable validFrom."
    if as_utc(now) < start:
        return f"The credential is not valid before {credential['validFrom']}."
    if "validUntil" in credential and end is None:
        return "The credential's validUntil is not a date and time."
    if end is not None and as_utc(now) >= end:
        return f"The credential expired at {credential['validUntil']}."
    return None


def verify_credential(
    session: Session, settings: Settings, credential: dict, *, now: datetime
) -> Outcome:
    """Run every check on a credential; the outcome names the ones that failed."""
    outcome = Outcome()
    issuer = _issuer_id(credential)
    ours = did.did_web(settings.base_url)
    outcome.judge("issuer", None if issuer == ours else f"The issuer {issuer!r} is not {ours}.")
    key_problem = _key_problem(session, credential, settings)
    outcome.judge("key", key_problem)
    if key_problem is None:
        proof_ok = _proof_holds(session, credential, settings)
        problem = None if proof_ok else "The signature does not match the credential as sent."
        outcome.judge("proof", problem)
    else:
        outcome.judge("proof", "The signature cannot be checked without one of the issuer's keys.")
    outcome.judge("status", _status_problem(session, settings, credential))
    outcome.judge("validity", _validity_problem(credential, now))
    _warn_if_superseded(session, settings, credential, outcome)
    return outcome


def _warn_if_superseded(session: Session, settings: Settings, credential: dict, outcome) -> None:
    """A renewed certificate's earlier credential still verifies; say what replaced it."""
    prefix = f"{urls(settings).base}/credentials/"
    number = str(credential.get("id", "")).removeprefix(prefix).removesuffix(".json")
    cert = session.exec(select(Certificate).where(Certificate.number == number)).first()
    if cert is None or cert.status != CertificateStatus.superseded or not cert.superseded_by_id:
        return
    successor = session.get(Certificate, cert.superseded_by_id)
    if successor is not None:
        message = f"Certificate {cert.number} was renewed: {successor.number} replaces it."
        outcome.warnings.append({"check": "status", "message": message})
