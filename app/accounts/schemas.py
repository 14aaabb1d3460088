"""What the pages and the API receive and return (never table rows that carry secrets)."""

import re
import unicodedata
from datetime import datetime
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)

from app.accounts.models import Role

# Printable text with at least one visible character; names may hold line breaks, nothing else
# below U+0020 (control characters break signatures and e-mail headers downstream).
NAME_PATTERN = r"^[^\x00-\x09\x0b-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x09\x0b-\x1f\x7f]*$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$"

NAME_MAX = 120  # what a certificate prints on one or two lines (the column allows 200)
# Characters that reorder the text around them: a name holding one reads differently on a
# certificate from what was typed (U+202E shows "AnnDoe" for "Ann\u202eeoD").
DIRECTION_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def readable_name(name: str) -> str:
    """A name fit for a certificate: no direction controls, at least one letter (so not made
    of zero-width or other invisible characters only). Joiners inside words are kept."""
    if DIRECTION_CONTROLS.search(name):
        raise ValueError("must not contain text-direction control characters")
    if not any(unicodedata.category(c).startswith("L") for c in name):
        raise ValueError("must contain at least one letter")
    return name


Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN),
    AfterValidator(readable_name),
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]
TokenName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=LINE_PATTERN)]


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA zone names a user may choose, sorted ("UTC" and "Europe/Paris" among them)."""
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


class SignUp(BaseModel):
    email: EmailStr = Field(max_length=320)
    name: Name
    password: Password


class SignIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=200)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: Role
    is_active: bool
    created_at: datetime


class ProfileUpdate(BaseModel):
    name: Name
    time_zone: str = Field("UTC", max_length=64)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in time_zones():
            raise ValueError("Choose your time zone from the list")
        return value


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: Password


class TokenCreate(BaseModel):
    name: TokenName


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret; shown once, never stored.")


class UserAdminUpdate(BaseModel):
    """`"is_active": 0` or `"false"` is refused (422), never read as false."""

    role: Role | None = None
    is_active: StrictBool | None = None
