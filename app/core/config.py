"""Settings: the one place that reads the environment (prefix WMI_)."""

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]
THREADS = 40  # AnyIO's default thread pool, which runs the sync routes and dependencies


class Settings(BaseSettings):
    """Every tunable of the platform, read from WMI_* variables or a .env file."""

    model_config = SettingsConfigDict(env_prefix="WMI_", env_file=".env", extra="ignore")

    var_dir: Path = ROOT / "var"
    content_dir: Path = ROOT / "content"
    banks_dir: Path = ROOT / "question_banks"
    database_url: str = ""
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    cookie_secure: bool | None = None
    session_max_age_seconds: int = 60 * 60 * 12
    max_body_bytes: int = 1_000_000
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    password_reset_ttl_seconds: int = 60 * 60
    mail_from: str = "WMI Certify <no-reply@workmanagement.institute>"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    sweep_interval_seconds: int = 30
    max_concurrent_requests: int = Field(default=24, ge=1, le=1000)
    db_pool_size: int = Field(default=20, ge=1, le=1000)
    db_max_overflow: int = Field(default=20, ge=0, le=1000)
    lane_threads: int = Field(default=0, ge=0, le=64)
    environment: str = Field(default="development", pattern="^(development|test|production)$")

    @model_validator(mode="after")
    def _derive(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'wmi.db'}"
        if self.cookie_secure is None:
            self.cookie_secure = self.base_url.startswith("https://")
        if not self.lane_threads:
            self.lane_threads = 1 if self.is_sqlite else 4
        connections = self.db_pool_size + self.db_max_overflow - self.lane_threads
        if self.max_concurrent_requests > min(connections, THREADS):
            raise ValueError(
                f"WMI_MAX_CONCURRENT_REQUESTS ({self.max_concurrent_requests}) must not exceed "
                f"the connections of a worker (WMI_DB_POOL_SIZE + WMI_DB_MAX_OVERFLOW, less the "
                f"{self.lane_threads} the exam lane keeps: {connections}) nor its {THREADS} "
                "request threads: a request holds one of each"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def ensure_secret_key(self) -> str:
        """Return the secret key, generating one into var/secret_key on first run."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        self.secret_key = path.read_text().strip()
        return self.secret_key


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own Settings instead)."""
    return Settings()
