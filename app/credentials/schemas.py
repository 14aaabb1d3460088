"""What the credential pages and API receive and return."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.accounts.schemas import LINE_PATTERN

Line = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=LINE_PATTERN)]
Reason = Annotated[str, StringConstraints(min_length=3, max_length=500, pattern=LINE_PATTERN)]
# a note may hold line breaks, nothing else below U+0020
Note = Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00-\x09\x0b-\x1f\x7f]*$")]


class Standing(StrEnum):
    valid = "valid"
    expiring_soon = "expiring_soon"
    expired = "expired"
    revoked = "revoked"
    superseded = "superseded"
    pending = "pending"


STANDING_LABELS = {
    Standing.valid: "Valid",
    Standing.expiring_soon: "Valid, expiring soon",
    Standing.expired: "Expired",
    Standing.revoked: "Revoked",
    Standing.superseded: "Superseded by a renewal",
    Standing.pending: "Awaiting approval",
}


class CeuCategory(StrEnum):
    course = "course"
    conference = "conference"
    teaching = "teaching"
    publication = "publication"
    volunteering = "volunteering"
    self_study = "self-study"


class CeuCreate(BaseModel):
    track: str = Field(min_length=2, max_length=8)
    provider: Line
    activity_date: date
    units: float = Field(gt=0, le=45)
    category: CeuCategory
    note: Note = ""


class RevokeForm(BaseModel):
    reason: Reason = Field(
        description="The public reason: the verification page, the status and the holder's mail."
    )
    note: Note = Field("", description="For administrators only; never shown publicly.")


class ReinstateForm(BaseModel):
    reason: Reason = Field(
        description="Why the revocation is undone (audited, mailed to the holder)."
    )


class Verification(BaseModel):
    """The public answer about one certificate number (page and JSON)."""

    certificate_number: str
    standing: Standing
    label: str
    holder_name: str
    track: str
    track_title: str
    issuer: str
    issued_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    superseded_by: str | None = None
    verify_url: str
    credential_url: str


class RenewalProgress(BaseModel):
    required_units: float
    earned_units: float
    cycle_ends: datetime | None

    @property
    def percent(self) -> int:
        if self.required_units <= 0:
            return 100
        return min(100, round(100 * self.earned_units / self.required_units))


class CertificateView(BaseModel):
    """One of the certificant's own certificates, with what they can do with it."""

    number: str
    track: str
    track_title: str
    standing: Standing
    label: str
    issued_at: datetime | None
    expires_at: datetime | None
    revocation_reason: str = ""
    verify_url: str
    credential_url: str
    pdf_url: str
    linkedin_url: str
    renewal: RenewalProgress | None = None
    activities: list[dict] = []


class AdminCertificateRow(BaseModel):
    id: int
    number: str
    holder_name: str
    holder_email: str
    track: str
    route: str
    standing: Standing
    label: str
    attempt_id: int | None
    earned_at: datetime
    issued_at: datetime | None
    expires_at: datetime | None
    revocation_reason: str = ""
    revocation_note: str = ""


class SigningKeyPublic(BaseModel):
    """One of the issuer's signing keys, as administrators see it (never the private key)."""

    number: int
    verification_method: str
    origin: str
    sealed_with: str = Field(description="The id of the key-encryption key that sealed it.")
    signs: bool = Field(description="Whether it signs new credentials (the newest does).")
