"""`POST /credentials/verify`: the W3C VC API's verify endpoint for credentials this platform
issued. Public (no sign-in, no CSRF: it changes nothing), rate limited per address,
CORS-enabled so a relying party's web page may call it."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.core.errors import AppError
from app.credentials import verifier
from app.web import errors

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}


async def rate_limited(request: Request, now: Now) -> None:
    """At most WMI_VERIFY_RATE_PER_MINUTE verifications per client address (per worker)."""
    client = request.client.host if request.client else "unknown"
    request.app.state.verify_limit.hit(client, now)


class CorsRoute(APIRoute):
    """Every answer of the route carries the CORS headers, refusals (422, 429) included, so a
    relying party's page can read why it was refused."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                response = await handle(request)
            except AppError as exc:
                response = await errors.app_error(request, exc)
            except RequestValidationError as exc:
                response = await errors.validation_error(request, exc)
            response.headers.update(CORS)
            return response

        return with_cors


api = APIRouter(tags=["credentials"], route_class=CorsRoute)


class VerifyRequest(BaseModel):
    verifiableCredential: dict[str, Any]  # noqa: N815 (the VC API's names)
    options: dict[str, Any] = Field(default_factory=dict)


class VerificationResult(BaseModel):
    verified: bool
    checks: list[str]
    warnings: list[dict[str, str]]
    errors: list[dict[str, str]]


@api.options("/credentials/verify", include_in_schema=False)
def verify_preflight() -> Response:
    return Response(status_code=204, headers=CORS)


@api.post(
    "/credentials/verify",
    response_model=VerificationResult,
    responses={400: {"model": VerificationResult, "description": "A check failed"}},
    dependencies=[Depends(rate_limited)],
)
def verify(data: VerifyRequest, session: SessionDep, settings: SettingsDep, now: Now):
    """Verify a credential this platform issued: issuer, key (rotated ones too), proof,
    status (revocation) and validity window; 200 when every check passes, else 400 naming
    the checks that failed."""
    outcome = verifier.verify_credential(session, settings, data.verifiableCredential, now=now)
    body = VerificationResult(
        verified=outcome.verified,
        checks=outcome.checks,
        warnings=outcome.warnings,
        errors=outcome.errors,
    )
    status = 200 if outcome.verified else 400
    return JSONResponse(body.model_dump(), status_code=status, headers=CORS)


routers = (api,)
