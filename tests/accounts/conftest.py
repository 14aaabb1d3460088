"""Fixtures of the account tests."""

import pytest

from tests.factories.live import live_server


@pytest.fixture
def live(settings, clock):
    """The application behind a real uvicorn, configured as `wmi serve` configures it."""
    with live_server(settings, clock) as served:
        yield served
