"""The application factory."""

import gc
import importlib.util
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlmodel import Session
from starlette.middleware.sessions import SessionMiddleware

from app import wiring
from app.accounts import deps as account_deps
from app.accounts import router as accounts_router
from app.accounts import sso_admin, sso_router
from app.admin import router as admin_router
from app.admin import webhooks as admin_webhooks
from app.appeals import router as appeals_router
from app.core.clock import Clock, utcnow
from app.core.config import Settings, get_settings
from app.core.db import make_engine
from app.core.lane import Lane
from app.core.ratelimit import RateLimit
from app.courses import router as courses_router
from app.credentials import keys_router, verify_router
from app.credentials import router as credentials_router
from app.exams import admin_router as exams_admin_router
from app.exams import api_router as exams_api
from app.exams import router as exams_router
from app.itembank import qti_router, workbench, workbench_api
from app.itembank import router as itembank_router
from app.portal import router as portal_router
from app.psychops import calibration_router
from app.psychops import item_router as psychops_items
from app.psychops import router as psychops_router
from app.reports import router as reports_router
from app.standards import router as standards_router
from app.web import errors, warmup
from app.web.middleware import Arrival, BodyLimit, ConcurrencyLimit, HeadAsGet, SecurityHeaders
from app.web.templating import STATIC_DIR

log = logging.getLogger("wmi")

# Swagger UI's files, from an installed package (third-party assets are not copied into the repo).
DOCS_ASSETS = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Start: build the route tables (warmup), move what start-up built out of the garbage
    collector's way, start the job runner. Stop: the runner, the lane."""
    if app.state.settings.warm_routes:
        warmup.warm(app.router.routes)
    gc.collect()
    gc.freeze()
    if app.state.settings.job_threads:
        app.state.jobs.start(app.state.settings.job_threads)
    yield
    app.state.jobs.stop()
    app.state.lane.close()


def create_app(settings: Settings | None = None, *, clock: Clock = utcnow) -> FastAPI:
    """Build the application: routers, static files, middleware and error handlers."""
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="WMI Certify API",
        version="1",
        description="Courses, adaptive exams and verifiable certificates of the Work "
        "Management Institute. Authenticate with a personal API token (Bearer) or the "
        "session cookie of the web pages.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        responses=errors.API_ERRORS,
    )
    app.state.settings = settings
    app.state.verify_limit = RateLimit(settings.verify_rate_per_minute, 60)
    app.state.clock = clock
    app.state.engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    app.state.lane = Lane(app.state.engine, threads=settings.lane_threads)
    app.state.jobs = wiring.job_runner(app.state.engine, settings, clock)

    def identify(request) -> None:
        """Who is signed in, for pages no route rendered (404s): the error page's menu."""
        with Session(app.state.engine) as session:
            account_deps.get_optional_user(request, session)

    app.state.identify = identify
    app.state.ports = wiring.ports(settings, clock, app.state.jobs)  # what exams needs
    app.state.item_flags = wiring.item_flags()  # what the workbench's list needs from psychops

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.ensure_secret_key(),
        session_cookie="wmi_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=bool(settings.cookie_secure),
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # inside: its 413 ...
    app.add_middleware(SecurityHeaders, hsts=bool(settings.cookie_secure))  # ... gets these
    app.add_middleware(ConcurrencyLimit, limit=settings.max_concurrent_requests)
    app.add_middleware(HeadAsGet)
    app.add_middleware(Arrival, clock=clock)  # outermost: before any wait
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/api/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs():
        """Swagger UI 5 served from the installed fastapi-offline package (no CDN needed)."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="WMI Certify API",
            swagger_js_url="/api/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/api/docs-assets/swagger-ui.css",
            swagger_favicon_url="/api/docs-assets/favicon.png",
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        """The site's icon (drawn for the project, SVG)."""
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @app.get("/api/v1/ping", tags=["health"])
    def ping() -> dict:
        """A bare endpoint (no database): the baseline the benchmarks compare against."""
        return {"ok": True}

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        """Liveness and database check."""
        with app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}

    # FastAPI matches routes in the order they were added: the exam API, whose answer route is
    # the busiest of all (one request per question per candidate), goes first.
    app.include_router(exams_api.loop)
    app.include_router(exams_api.api)
    for module in (
        accounts_router,
        courses_router,
        itembank_router,
        exams_router,
        exams_admin_router,
        credentials_router,
        portal_router,
        admin_router,
    ):
        app.include_router(module.web)
        if module is not exams_router:
            app.include_router(module.api)
    app.include_router(credentials_router.admin_web)
    app.include_router(credentials_router.admin_api)
    for router in (
        *standards_router.routers,
        *appeals_router.routers,
        *reports_router.routers,
        *admin_webhooks.routers,
        *sso_router.routers,
        *sso_admin.routers,
        *psychops_router.routers,
        *calibration_router.routers,
        *psychops_items.routers,
        *verify_router.routers,
        *keys_router.routers,
        *qti_router.routers,
        workbench.web,
        workbench_api.api,
    ):
        app.include_router(router)
    return app
