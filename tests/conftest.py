"""Test harness: databases built by the migrations once per run, copied for every test,
on SQLite and on PostgreSQL (mandatory when CI is set)."""

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from app.core.config import Settings
from app.core.db import migrate
from app.itembank.pools import DERIVE_EXPOSURE
from app.main import create_app

PG_ADMIN_DSN = os.environ.get("WMI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_BASE = PG_ADMIN_DSN.rsplit("/", 1)[0]
RUN_ID = uuid.uuid4().hex[:8]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw")
BACKENDS = ["sqlite", "postgres"]


class FakeClock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


def _pg_admin():
    return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)


def pg_available() -> bool:
    try:
        with _pg_admin():
            return True
    except psycopg.OperationalError:
        return False


def require_pg() -> None:
    """Skip when PostgreSQL is unreachable, or fail loudly when CI is set."""
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable at {PG_ADMIN_DSN} and CI is set", pytrace=False)
        pytest.skip("PostgreSQL is not reachable (set CI=1 to make this a failure)")


def _build_template(settings: Settings) -> None:
    """Migrate, then load the real content and item banks (as `wmi serve` does)."""
    from app import wiring
    from app.core.db import make_engine
    from app.courses import service as courses
    from app.credentials import keystore
    from app.itembank import service as itembank

    migrate(settings)
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        keystore.ensure_keys(session=session, settings=settings, now=FakeClock()())  # as serve
        courses.load_content(session=session, root=settings.content_dir, now=FakeClock()())
        itembank.load_banks(session=session, root=settings.banks_dir, now=FakeClock()())
    # as `wmi serve` would next: derive each pool revision's exposure control (a small
    # simulation in tests) and put it in force
    wiring.job_runner(engine, settings, FakeClock()).drain(kinds=(DERIVE_EXPOSURE,))
    with engine.begin() as conn:  # tests of the job table start from an empty one
        conn.execute(text("DELETE FROM job WHERE kind = :k"), {"k": DERIVE_EXPOSURE})
    engine.dispose()


def _base_settings(tmp_dir, url: str) -> Settings:
    return Settings(
        var_dir=tmp_dir,
        database_url=url,
        secret_key="test-secret-key-" + "x" * 32,
        base_url="http://testserver",
        environment="test",
        job_threads=0,  # tests run jobs themselves: app.state.jobs.drain()
        warm_routes=False,  # about 1 s of CPU per application start (tests/web/test_warmup.py)
        exposure_examinees=10,  # exposure control derived on a small simulation: a pool
        exposure_iterations=1,  # revision's parameters, not their precision, are tested
        exposure_check_examinees=10,
        mail_log_secrets=True,  # reset links printed as in development (accounts.mailed_token)
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    _build_template(_base_settings(path.parent, f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    require_pg()
    name = f"wmi_tpl_{RUN_ID}_{WORKER}"
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    _build_template(_base_settings(tmp_path_factory.mktemp("pgtpl"), f"{PG_BASE}/{name}"))
    yield name
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path):
    """A fresh database for this test, copied from the migrated template."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "test.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    with pg_database("wmi_t", template=request.getfixturevalue("pg_template")) as url:
        yield url


@contextmanager
def pg_database(prefix: str, *, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of template, or empty), dropped afterwards."""
    name = f"{prefix}_{RUN_ID}_{WORKER}_{uuid.uuid4().hex[:8]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return _base_settings(tmp_path, database_url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(settings, clock):
    application = create_app(settings, clock=clock)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app):
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def session(app):
    with Session(app.state.engine, expire_on_commit=False) as db_session:
        yield db_session


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """A real OpenID Provider (tests/oidc/provider.mjs) for the whole session, on a free port."""
    from tests.oidc.provider import run

    yield from run(tmp_path_factory.mktemp("oidc") / "provider.log")
