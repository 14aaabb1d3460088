"""Fixtures of the item bank's tests."""

import pytest

from app.accounts.models import Role
from tests.factories.accounts import make_user
from tests.factories.exams import make_admin


@pytest.fixture
def people(session):
    """Two authors, an administrator and a learner."""
    return {
        "author": make_user(session, role=Role.author.value, name="Alice Author"),
        "reviewer": make_user(session, role=Role.author.value, name="Rob Reviewer"),
        "admin": make_admin(session, name="Ada Admin"),
        "learner": make_user(session),
    }
