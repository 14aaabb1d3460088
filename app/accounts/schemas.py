"""What the pages and the API receive and return (never table rows that carry secrets)."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from app.accounts.models import Role

# Printable text with at least one visible character; names may hold line breaks, nothing else
# below U+0020 (control characters break signatures and e-mail headers downstream).
NAME_PATTERN = r"^[^\x00-\x09\x0b-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x09\x0b-\x1f\x7f]*$"
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200)]
TokenName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=LINE_PATTERN)]


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
    role: Role | None = None
    is_active: bool | None = None
