"""The application factory."""

import logging

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlmodel import Session
from starlette.middleware.sessions import SessionMiddleware

from app.accounts import router as accounts_router
from app.admin import router as admin_router
from app.core import mail
from app.core.clock import Clock, utcnow
from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.courses import router as courses_router
from app.itembank import router as itembank_router
from app.portal import router as portal_router
from app.web import errors
from app.web.middleware import BodyLimit, SecurityHeaders
from app.web.templating import STATIC_DIR

log = logging.getLogger("wmi")


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    """Build the application: routers, static files, middleware and error handlers."""
    settings = settings or get_settings()
    app = FastAPI(
        title="WMI Certify API",
        version="1",
        description="Courses, adaptive exams and verifiable certificates of the Work "
        "Management Institute. Authenticate with a personal API token (Bearer) or the "
        "session cookie of the web pages.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.engine = make_engine(settings.database_url)

    def deliver_mail() -> None:
        try:
            with Session(app.state.engine) as session:
                mail.deliver_pending(session, settings, now=clock())
        except Exception:  # delivery is retried by the sweep; never fail the request
            log.exception("mail delivery failed")

    app.state.deliver_mail = deliver_mail

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.ensure_secret_key(),
        session_cookie="wmi_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=bool(settings.cookie_secure),
    )
    app.add_middleware(SecurityHeaders, hsts=bool(settings.cookie_secure))
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        """Liveness and database check."""
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}

    for module in (accounts_router, courses_router, itembank_router, portal_router, admin_router):
        app.include_router(module.web)
        app.include_router(module.api)
    return app
