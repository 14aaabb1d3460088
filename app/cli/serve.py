"""`wmi serve`: migrate, load content and item banks, then serve the application."""

import os
import secrets
import threading
import time
from typing import TYPE_CHECKING

import typer

from app.cli.common import console, database, load_files
from app.cli.sweep import run_sweep

if TYPE_CHECKING:
    from sqlmodel import Session

app = typer.Typer()
# uvicorn would take X-Forwarded-For from any client of 127.0.0.1 (its default trust): the
# application decides instead, believing only WMI_TRUSTED_PROXIES (accounts.deps.client_ip).
# A request still running 10 s after SIGTERM is cancelled (uvicorn waits for ever by default).
UVICORN_OPTIONS = {"log_level": "info", "proxy_headers": False, "timeout_graceful_shutdown": 10}
DEMO_ADMIN = "admin@wmi.example"


@app.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    demo: bool = typer.Option(False, help="Create a demo administrator on first run."),
) -> None:
    """Migrate, load content and item banks, then serve the application."""
    import uvicorn

    from app.core import sealing
    from app.core.clock import utcnow
    from app.core.db import migrate
    from app.credentials import keystore

    settings = _settings_for(host, port)
    settings.ensure_secret_key()
    sealing.keyring(settings)  # production without a key-encryption key stops here
    migrate(settings)
    with database(settings) as session:
        for line in keystore.ensure_keys(session=session, settings=settings, now=utcnow()):
            console.print(line, highlight=False)
        skipped = load_files(session, content=True, banks=True)
        if demo:
            _ensure_demo_admin(session)
    for problem in skipped:
        console.print(f"[yellow]skipped: {problem}[/yellow]", highlight=False)
    threading.Thread(target=_sweeper, args=(settings.sweep_interval_seconds,), daemon=True).start()
    console.print(f"Serving on [bold]http://{host}:{port}[/bold]; links use {settings.base_url}")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **UVICORN_OPTIONS,
    )


def _settings_for(host: str, port: int):
    """The settings, with the base URL (links, QR codes, the did:web issuer) derived from the
    address served unless WMI_BASE_URL is set. The workers uvicorn starts read their settings
    from the environment, so the derived URL is passed on there."""
    from app.core.config import get_settings

    settings = get_settings()
    if "base_url" in settings.model_fields_set:
        return settings
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    os.environ["WMI_BASE_URL"] = f"http://{shown}:{port}"
    get_settings.cache_clear()
    return get_settings()


def _ensure_demo_admin(session: "Session") -> None:
    """On first run, an administrator with a random password, shown once (README: reset it with
    `wmi admin create --email admin@wmi.example`)."""
    from app.accounts import service as accounts
    from app.core.clock import utcnow

    if accounts.find_user(session, DEMO_ADMIN) is not None:
        return
    password = secrets.token_urlsafe(12)
    accounts.ensure_admin(
        session=session, email=DEMO_ADMIN, name="Demo Administrator", password=password,
        now=utcnow(),
    )  # fmt: skip
    console.rule("[bold]Demo administrator (shown once)")
    console.print(f"  e-mail:   [bold]{DEMO_ADMIN}[/bold]\n  password: [bold]{password}[/bold]")
    console.print(f"  (to set another: wmi admin create --email {DEMO_ADMIN})")
    console.rule()


def _sweeper(interval: int) -> None:
    while True:
        time.sleep(interval)
        try:
            run_sweep()
        except Exception as exc:  # keep sweeping; report and go on
            console.print(f"[red]sweep failed: {exc}[/red]")
