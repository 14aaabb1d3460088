"""Validation errors read as plain words (issue 14), on pages and in the API."""

from datetime import date

import pytest
from pydantic import BaseModel, EmailStr, Field, ValidationError

from app.web.messages import plain


class Sample(BaseModel):
    name: str = Field(min_length=1, max_length=5)
    code: str = Field(min_length=3)
    email: EmailStr
    count: int = Field(ge=1, le=100)
    share: float = Field(gt=0)
    on: date


def errors_of(**values) -> dict:
    try:
        Sample(**values)
    except ValidationError as exc:
        return {str(e["loc"][0]): plain(e) for e in exc.errors()}
    return {}


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"name": ""}, "name", "This is required: fill it in."),
        ({}, "name", "This is required: fill it in."),
        ({"name": "toolong"}, "name", "Enter at most 5 characters."),
        ({"code": "ab"}, "code", "Enter at least 3 characters."),
        ({"email": "nobody"}, "email", "Enter a valid email address, such as name@example.org."),
        ({"count": "many"}, "count", "Enter a whole number, such as 3."),
        ({"count": 0}, "count", "Enter a number at least 1."),
        ({"count": 101}, "count", "Enter a number at most 100."),
        ({"share": 0}, "share", "Enter a number more than 0."),
        ({"on": "31/03/2026"}, "on", "Enter a date as year-month-day, such as 2026-03-31."),
    ],
)
def test_each_mistake_says_what_to_type(values, field, words):
    assert errors_of(**values)[field] == words


def test_no_message_speaks_like_pydantic():
    messages = " ".join(
        errors_of(name="", code="a", email="x", count="y", share=-1, on="z").values()
    )
    for jargon in ("String should", "Input should", "valid integer", "unable to parse"):
        assert jargon not in messages


def test_the_api_says_it_in_the_same_words(client, session):
    from tests.factories.accounts import make_token, make_user

    bearer = {"Authorization": f"Bearer {make_token(session, make_user(session))}"}
    r = client.post("/api/v1/tokens", headers=bearer, json={"name": ""})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["message"] == "This is required: fill it in."
