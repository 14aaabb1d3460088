"""What exams needs from the layers above it, as one value that create_app and the sweep build.

Credentials sits above exams (a certificate is earned by an exam), yet exams must ask whether a
candidate holds a certificate (a prerequisite) and must report a pass. `app.credentials.ports.
exam_ports` builds this value from the credentials service; exams calls it without importing
credentials.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session


class CertifiedTracks(Protocol):
    def __call__(self, session: Session, user_id: int, /) -> set[str]:
        """The tracks the user holds a certificate in force on."""
        ...


class OnExamPassed(Protocol):
    def __call__(self, session: Session, attempt_id: int, /, **passed: Any) -> Any:
        """Record a pass whose result is committed (issue or queue the certificate). Commits."""
        ...


@dataclass(frozen=True)
class CertificateNote:
    """The certificate a passed attempt earned, as its result page mentions it."""

    number: str
    status: str  # pending (awaiting approval) | active | revoked | superseded
    verify_url: str  # the public verification page (a path)


@dataclass(frozen=True)
class HeldCertificate:
    """A certificate in force that the candidate holds on a track."""

    number: str
    valid_until: datetime
    verify_url: str  # the public verification page (a path)


class HeldCertificates(Protocol):
    def __call__(self, session: Session, user_id: int, /) -> dict[str, HeldCertificate]:
        """The user's certificates in force, by track."""
        ...


class CertificateOf(Protocol):
    def __call__(self, session: Session, attempt_id: int, /) -> CertificateNote | None:
        """The certificate earned by this attempt, if one has been recorded yet."""
        ...


def no_certificate(session: Session, attempt_id: int, /) -> CertificateNote | None:
    return None


def no_certificates(session: Session, user_id: int, /) -> set[str]:
    return set()


def none_held(session: Session, user_id: int, /) -> dict[str, HeldCertificate]:
    return {}


def no_op(session: Session, attempt_id: int, /, **passed: Any) -> None:
    return None


@dataclass(frozen=True)
class Ports:
    """The callables the credentials layer plugs into exams."""

    certified_tracks: CertifiedTracks = no_certificates
    on_exam_passed: OnExamPassed = no_op
    certificate_of: CertificateOf = no_certificate
    held_certificates: HeldCertificates = none_held


NO_PORTS = Ports()
