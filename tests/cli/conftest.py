"""Fixtures of the command-line tests."""

import pytest

from app.core.config import get_settings


@pytest.fixture
def wmi_env(settings, monkeypatch):
    """The command reads its settings from the environment, as in production."""
    monkeypatch.setenv("WMI_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("WMI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WMI_BASE_URL", settings.base_url)
    monkeypatch.setenv(
        "WMI_SECRET_KEY", settings.secret_key
    )  # the signing keys' KEK derives from it
    for name in ("examinees", "iterations", "check_examinees"):  # small derivations, as in tests
        monkeypatch.setenv(
            f"WMI_EXPOSURE_{name.upper()}", str(getattr(settings, f"exposure_{name}"))
        )
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()
