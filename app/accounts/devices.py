"""Known devices: a browser that signed in to an account gets a signed cookie naming the account
and a random device id; the sign-in throttle counts that browser's failures on their own and
exempts it from the limits an attacker elsewhere can drive up (app.accounts.throttle)."""

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.core.security import new_token, token_digest

COOKIE = "wmi_device"
_SALT = "wmi-known-device"


def issue(secret_key: str, user_id: int) -> str:
    """A new cookie value for this browser and account."""
    return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps({"u": user_id, "d": new_token()})


def device_of(secret_key: str, value: str | None, user_id: int | None, max_age: int) -> str:
    """The digest of the device id if the cookie is genuine, young enough and names this
    account; "" otherwise (a forged, expired or another account's cookie is no device)."""
    if not value or user_id is None:
        return ""
    try:
        data = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(value, max_age=max_age)
    except BadSignature:
        return ""
    if not isinstance(data, dict) or data.get("u") != user_id or not isinstance(data.get("d"), str):
        return ""
    return token_digest(data["d"])
