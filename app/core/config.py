"""Settings: the one place that reads the environment (prefix WMI_)."""

import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.psychometrics.simulation import ExposureDesign

ROOT = Path(__file__).resolve().parents[2]
_DESIGN = ExposureDesign()  # the exposure settings' defaults
THREADS = 40  # AnyIO's default thread pool, which runs the sync routes and dependencies


class OidcProvider(BaseModel):
    """One OpenID Connect provider people may sign in with (WMI_OIDC_PROVIDERS, a JSON list).

    The redirect URI to register at the provider is BASE_URL/signin/oidc/NAME/callback."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")  # in the redirect URI
    label: str = Field(min_length=1, max_length=60)  # "Sign in with LABEL"
    issuer: str = Field(pattern=r"^https?://[^\s?#]+$", max_length=500)
    discovery_url: str = ""  # default: ISSUER/.well-known/openid-configuration
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: str = Field(default="", max_length=2000)
    scopes: str = "openid email profile"
    token_auth: str = Field(
        default="client_secret_basic", pattern="^(client_secret_basic|client_secret_post)$"
    )

    @model_validator(mode="after")
    def _check(self) -> "OidcProvider":
        host = self.issuer.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
        if self.issuer.startswith("http://") and host not in ("127.0.0.1", "localhost", "[::1]"):
            raise ValueError(f"the issuer of {self.name} must use https:// ({self.issuer})")
        if "openid" not in self.scopes.split():
            raise ValueError(f"the scopes of {self.name} must include openid")
        return self

    @property
    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"


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
    # a QTI package's limit, packed and unpacked (docs/QTI.md); uploads also obey max_body_bytes
    qti_max_bytes: int = Field(default=20_000_000, ge=1_000)
    # sign-in throttle (docs/SECURITY.md): per account and address, then growing delays
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=15 * 60, ge=60)
    login_first_delay_seconds: int = Field(default=60, ge=1)
    login_max_delay_seconds: int = Field(default=15 * 60, ge=1)
    login_account_max_failures: int = Field(default=20, ge=1)  # from all addresses together
    login_address_max_failures: int = Field(default=20, ge=1)  # against all accounts
    known_device_days: int = Field(default=180, ge=1, le=3650)
    # proxies whose X-Forwarded-For names the client (IP addresses or networks, comma-separated)
    trusted_proxies: str = ""
    password_reset_ttl_seconds: int = 60 * 60
    signup_confirm_ttl_seconds: int = Field(default=24 * 60 * 60, ge=60)  # a sign-up's link
    # sign-ups and reset requests (each mails a link) per hour, whether or not an account exists
    mail_requests_per_email_hour: int = Field(default=5, ge=1)  # to one e-mail address
    mail_requests_per_client_hour: int = Field(default=20, ge=1)  # from one client address
    mail_from: str = "WMI Certify <no-reply@workmanagement.institute>"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    # development only: print reset and invitation links with the mail when there is no SMTP
    mail_log_secrets: bool = False
    sweep_interval_seconds: int = 30
    # The audit chain's signed checkpoints (app/core/anchor.py): outside the database, ideally
    # on storage its users cannot write. Default: var_dir/audit-checkpoints.jsonl.
    audit_checkpoint_file: Path | None = None
    max_concurrent_requests: int = Field(default=24, ge=1, le=1000)
    db_pool_size: int = Field(default=20, ge=1, le=1000)
    db_max_overflow: int = Field(default=20, ge=0, le=1000)
    lane_threads: int = Field(default=0, ge=0, le=64)
    job_threads: int = Field(default=1, ge=0, le=16)
    job_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    warm_routes: bool = True  # build the route tables at start (app/web/warmup.py)
    appeal_window_days: int = Field(default=30, ge=1, le=365)  # from the result
    item_flag_window_hours: int = Field(default=72, ge=1, le=24 * 30)  # from the result
    angoff_min_panelists: int = Field(default=3, ge=1, le=50)  # a new study's default
    # Exposure control derived per pool revision (app/exams/exposure.py, design_of): the cap on
    # the share of candidates who see an item, overall and within a band of true theta of
    # width 0.5 (0 turns the band cap off); K aims at cap - margin (under the caps: K acts at
    # the band of the estimate, exposure is judged at the true theta's, and a band's largest
    # rate overshoots: docs/PSYCHOMETRICS.md 8.6); simulated candidates per Sympson-Hetter
    # iteration, iterations, candidates of the check run, the simulations' seed. The defaults
    # are simulation.ExposureDesign's, the design bench/bench_sequential_oracle.py measures.
    exposure_target: float = Field(default=_DESIGN.cap, gt=0, le=1)
    exposure_margin: float = Field(default=round(_DESIGN.cap - _DESIGN.aim, 6), ge=0, lt=0.5)
    exposure_band_target: float = Field(default=_DESIGN.band_cap or 0.0, ge=0, le=1)
    exposure_band_margin: float = Field(
        default=round((_DESIGN.band_cap or 0) - (_DESIGN.band_aim or 0), 6), ge=0, lt=0.5
    )
    exposure_examinees: int = Field(default=_DESIGN.examinees, ge=10, le=100_000)
    exposure_iterations: int = Field(default=_DESIGN.iterations, ge=1, le=50)
    # with the band cap: the CAT's K kept apart for the first N scored items and the rest
    # (0: one set; docs/PSYCHOMETRICS.md section 3)
    exposure_stage_at: int = Field(default=_DESIGN.stage_at, ge=0, le=200)
    exposure_check_examinees: int = Field(default=2000, ge=10, le=100_000)
    exposure_seed: int = Field(default=16, ge=0)
    # Calibration runs (app/psychops/calibration_runs.py): an item with fewer responses keeps
    # its provisional parameters; candidates simulated per revision on a run's review page.
    calibration_min_responses: int = Field(default=200, ge=1, le=1_000_000)
    calibration_review_examinees: int = Field(default=500, ge=10, le=100_000)
    # Signed webhooks (app/core/webhooks.py, docs/INTEGRATIONS.md)
    webhook_allow_private: bool = False  # private and loopback receivers (tests, one network)
    webhook_max_tries: int = Field(default=8, ge=1, le=50)  # then the delivery is dead
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # OpenID Connect sign-in (app/accounts/oidc.py, docs/INTEGRATIONS.md)
    oidc_providers: list[OidcProvider] = Field(default_factory=list)
    oidc_flow_seconds: int = Field(default=600, ge=30, le=3600)  # from the button to the link
    oidc_timeout_seconds: float = Field(default=10.0, gt=0, le=60)  # each call to a provider
    verify_rate_per_minute: int = Field(default=60, ge=1, le=100_000)  # POST /credentials/verify
    environment: str = Field(default="development", pattern="^(development|test|production)$")
    # The key-encryption key (KEK) that seals the credential signing keys and the webhook
    # secrets in the database (app/core/sealing.py, docs/CREDENTIALS.md): 32 random bytes in
    # base64, the same on every host (`wmi keys new-kek` prints one). Required in production;
    # elsewhere, when unset, one is derived from the secret key. Earlier KEKs, comma-separated,
    # still open what they sealed until `wmi keys rewrap` has sealed it again with the current.
    key_encryption_key: str = Field(default="", repr=False)
    previous_key_encryption_keys: str = Field(default="", repr=False)

    @model_validator(mode="after")
    def _derive(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'wmi.db'}"
        if self.cookie_secure is None:
            self.cookie_secure = self.base_url.startswith("https://")
        if not self.lane_threads:
            self.lane_threads = 1 if self.is_sqlite else 4
        try:
            self.trusted_networks  # noqa: B018 - checked once, here, with a message
        except ValueError as exc:
            raise ValueError(f"WMI_TRUSTED_PROXIES: {exc}") from exc
        names = [p.name for p in self.oidc_providers]
        if len(names) != len(set(names)):
            raise ValueError(f"WMI_OIDC_PROVIDERS: each provider needs its own name ({names})")
        if self.exposure_margin >= self.exposure_target or (
            self.exposure_band_target and self.exposure_band_margin >= self.exposure_band_target
        ):
            raise ValueError(
                "WMI_EXPOSURE_MARGIN must be under WMI_EXPOSURE_TARGET, and "
                "WMI_EXPOSURE_BAND_MARGIN under WMI_EXPOSURE_BAND_TARGET (the rates K aims at)"
            )
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
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """WMI_TRUSTED_PROXIES as networks (a bare address is a network of one)."""
        parts = [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts)

    def oidc_provider(self, name: str) -> OidcProvider | None:
        """The configured provider of that name, or None."""
        return next((p for p in self.oidc_providers if p.name == name), None)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def audit_checkpoints(self) -> Path:
        return self.audit_checkpoint_file or self.var_dir / "audit-checkpoints.jsonl"

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
