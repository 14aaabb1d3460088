"""Administrators' API for the issuer's signing keys: list them, rotate (every host signs with
the new key from its next signature on; app/credentials/keystore.py)."""

from fastapi import APIRouter, Depends

from app.accounts.deps import AdminUser, api_csrf_protect, require_admin
from app.core.db import SessionDep
from app.core.deps import Now, SettingsDep
from app.credentials import did, keystore
from app.credentials.schemas import SigningKeyPublic

api = APIRouter(
    prefix="/api/v1/admin/credentials/keys",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(api_csrf_protect)],
)


@api.get("", response_model=list[SigningKeyPublic])
def api_keys(session: SessionDep, settings: SettingsDep):
    """The signing keys, oldest first; the last one signs. Private keys are never shown."""
    return did.published(session, settings)


@api.post("/rotate", response_model=SigningKeyPublic, status_code=201)
def api_rotate(session: SessionDep, settings: SettingsDep, admin: AdminUser, now: Now):
    """Make a new signing key: every host signs with it from now on; earlier keys stay
    published, so what they signed still verifies."""
    keystore.rotate(session=session, settings=settings, actor_id=admin.id, now=now)
    return did.published(session, settings)[-1]


routers = (api,)
