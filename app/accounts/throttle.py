"""The sign-in throttle (docs/ACCOUNT_SECURITY.md): who may have a password checked now.

Failures count per account and address (the client's IP), from the last success on that
account from that address, or its last password reset, and at most a day back; after
`login_max_failures` of them that address waits before its next check on that account: 1
minute after the 5th failure, doubling with each further one, at most 15 minutes.
A browser holding the account's known-device cookie is counted on its own (per account and
device) and is exempt from the two wider limits: `login_account_max_failures` failures on one
account from all addresses together in `login_window_seconds` (then only known devices may try
it), and `login_address_max_failures` failures from one address against all accounts in the
same window (spraying). A successful sign-in ends its address's (or device's) run of failures;
a password reset ends every count on the account.

Counting is atomic: an attempt is recorded, and committed, as a failure before any check,
and each request then counts the attempts other than its own. The k-th attempt to commit sees
at least k - 1 others, so of any number of simultaneous guesses at most `login_max_failures`
reach the password check, on either database, in any number of workers.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from app.accounts.models import LoginAttempt, User
from app.core.clock import as_utc, to_db
from app.core.config import Settings

NEVER = datetime(1970, 1, 1, tzinfo=UTC)
RUN_MEMORY = timedelta(days=1)  # how far back a run of failures from one address is remembered


@dataclass(frozen=True)
class Wait:
    """A refusal: until when, and why (the words the sign-in page shows)."""

    until: datetime
    reason: str


def _failures(session: Session, *conditions) -> tuple[int, datetime, datetime]:
    """How many counted failures match, the oldest and the newest (the epoch when none)."""
    row = session.exec(
        select(func.count(), func.min(LoginAttempt.at), func.max(LoginAttempt.at)).where(
            col(LoginAttempt.success).is_(False), col(LoginAttempt.refused).is_(False), *conditions
        )
    ).one()
    return row[0], as_utc(row[1] or NEVER), as_utc(row[2] or NEVER)


def _last_success(session: Session, *conditions) -> datetime | None:
    at = session.exec(
        select(func.max(LoginAttempt.at)).where(col(LoginAttempt.success).is_(True), *conditions)
    ).one()
    return at and as_utc(at)


def growing_delay(failures: int, settings: Settings) -> timedelta:
    """The wait after the given number of failures in a row: none below the limit, then the
    first delay doubling with each failure, capped at login_max_delay_seconds."""
    if failures < settings.login_max_failures:
        return timedelta(0)
    steps = min(failures - settings.login_max_failures, 20)
    seconds = settings.login_first_delay_seconds * 2**steps
    return timedelta(seconds=min(seconds, settings.login_max_delay_seconds))


def check(
    session: Session,
    *,
    attempt: LoginAttempt,
    user: User | None,
    now: datetime,
    settings: Settings,
) -> Wait | None:
    """Whether the recorded attempt must wait (counting every attempt but itself)."""
    window = now - timedelta(seconds=settings.login_window_seconds)
    cleared = as_utc(user.signin_cleared_at) if user and user.signin_cleared_at else None
    others = LoginAttempt.id != attempt.id
    mine = LoginAttempt.email == attempt.email
    source = (
        LoginAttempt.device == attempt.device
        if attempt.device
        else and_(LoginAttempt.ip == attempt.ip, LoginAttempt.device == "")
    )
    last_ok = _last_success(session, mine, source, *_since(now - RUN_MEMORY, cleared))
    run = _since(now - RUN_MEMORY, cleared, last_ok)
    count, _, newest = _failures(session, others, mine, source, *run)
    delay = growing_delay(count, settings)
    if delay and newest + delay > now:
        return Wait(newest + delay, "pair")
    if attempt.device:
        return None  # a known device is judged on its own failures only
    limits = [(settings.login_account_max_failures, "account", mine, *_since(window, cleared))]
    if attempt.ip:
        by_ip = LoginAttempt.ip == attempt.ip
        limits.append((settings.login_address_max_failures, "address", by_ip, *_since(window)))
    for limit, reason, *conditions in limits:
        count, oldest, _ = _failures(session, others, *conditions)
        if count >= limit:
            return Wait(oldest + timedelta(seconds=settings.login_window_seconds), reason)
    return None


def _since(start: datetime, *ends: datetime | None) -> list:
    """Attempts from start on, and strictly after each end given (a success, a reset)."""
    return [LoginAttempt.at >= to_db(start), *(LoginAttempt.at > to_db(e) for e in ends if e)]


MESSAGES = {
    "pair": (
        "Too many failed sign-ins to this account from your address. Try again in {wait}; "
        "each further failure doubles the wait (up to {longest} minutes). A password reset "
        "lifts the limit at once."
    ),
    "account": (
        "This account has had too many failed sign-ins from many addresses, so for now it "
        "accepts sign-ins only from browsers that have signed in to it before. Try again in "
        "{wait}, use such a browser, or reset your password (which lifts the limit)."
    ),
    "address": (
        "Too many failed sign-ins from your address. Try again in {wait}, or reset your password."
    ),
}


def message(wait: Wait, now: datetime, settings: Settings) -> str:
    """The refusal in words, with the wait rounded up to whole minutes."""
    minutes = max(1, -(-int((wait.until - now).total_seconds()) // 60))
    text = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return MESSAGES[wait.reason].format(wait=text, longest=settings.login_max_delay_seconds // 60)
