"""Signing in with an OpenID Provider: a flow from the button to the callback, then the account.

    start   -> a new flow (state, nonce, PKCE verifier kept here; the browser goes to the provider)
    finish  -> the callback: the flow used once and in time, the code exchanged, the ID token
               validated (app.accounts.oidc), then one of:
               - the identity (issuer, subject) is linked: that account is signed in;
               - no account has the provider's verified address: a new learner, linked;
               - an account has it: the identity waits for the person to confirm (confirm_link,
                 with the account's password, or a button when already signed in as it).
An address the provider does not say is verified is never linked, nor given an account.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from app.accounts import oidc, sessions, sso_domains
from app.accounts.models import OidcFlow, OidcLink, Role, User
from app.accounts.schemas import NAME_MAX, readable_name
from app.accounts.service import create_user, find_user
from app.core import audit, db
from app.core.clock import as_utc, to_db
from app.core.config import OidcProvider, Settings
from app.core.errors import AppError, Forbidden, NotFound
from app.core.security import hash_password, new_token, token_digest

START_AGAIN = "Start again from the sign-in page."
USED = f"This sign-in response was already used once; it cannot be used again. {START_AGAIN}"


class FlowRefused(AppError):
    """The callback names no flow of this browser, a used one, or one too old."""

    status_code = 400
    code = "sign_in_refused"


@dataclass(frozen=True)
class Callback:
    """What the provider sent back to the redirect URI."""

    state: str = ""
    code: str = ""
    error: str = ""
    error_description: str = ""
    iss: str = ""


@dataclass(frozen=True)
class Outcome:
    """A signed-in user, or None: the identity awaits confirmation (confirm_link)."""

    next_url: str
    user: User | None = None


def provider(settings: Settings, name: str) -> OidcProvider:
    found = settings.oidc_provider(name)
    if found is None:
        raise NotFound(f"There is no sign-in provider named {name!r}.")
    return found


def start(
    *, session: Session, settings: Settings, name: str, next_url: str, now: datetime
) -> oidc.Request:
    """A new flow for the provider; the caller keeps request.state in the browser's session."""
    request = oidc.authorization_request(provider(settings, name), settings)
    session.add(
        OidcFlow(
            state_hash=token_digest(request.state),
            provider=name,
            nonce=request.nonce,
            code_verifier=request.code_verifier,
            next_url=next_url[:500],
            created_at=to_db(now),
        )
    )
    db.commit(session)
    return request


def _flow(session: Session, state: str) -> OidcFlow | None:
    if not state:
        return None
    return session.exec(select(OidcFlow).where(OidcFlow.state_hash == token_digest(state))).first()


def _claim(session: Session, flow: OidcFlow, now: datetime) -> bool:
    """Mark the flow used; False when another request used it first. Commits."""
    claimed = session.execute(
        update(OidcFlow)
        .where(OidcFlow.id == flow.id, OidcFlow.used_at.is_(None))
        .values(used_at=to_db(now))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.commit(session)
    return bool(claimed)


def _usable_flow(
    session: Session, settings: Settings, name: str, callback: Callback, bound: str, now
) -> OidcFlow:
    flow = _flow(session, callback.state)
    if flow is None or flow.provider != name:
        raise FlowRefused(
            f"This sign-in response does not belong to a sign-in started here. {START_AGAIN}"
        )
    if flow.used_at is not None:
        raise FlowRefused(USED)
    if bound != callback.state:
        raise FlowRefused(
            "This sign-in was started in another browser, or this browser has started another "
            f"since. {START_AGAIN}"
        )
    if now - as_utc(flow.created_at) > timedelta(seconds=settings.oidc_flow_seconds):
        raise FlowRefused(
            f"This sign-in took too long (more than {settings.oidc_flow_seconds // 60} "
            f"minutes). {START_AGAIN}"
        )
    if not _claim(session, flow, now):
        raise FlowRefused(USED)
    return flow


def _refused(session: Session, exc: AppError, flow: OidcFlow, now: datetime) -> AppError:
    audit.record(
        session,
        action="account.signin_sso_failed",
        at=now,
        subject=f"oidc:{flow.provider}",
        data={"code": exc.code, "reason": exc.message[:300]},
    )
    db.commit(session)
    return exc


def finish(
    *, session: Session, settings: Settings, name: str, callback: Callback, bound: str, now
) -> Outcome:
    """The callback's work (each refusal an AppError with a page's words; see the module)."""
    found = provider(settings, name)
    flow = _usable_flow(session, settings, name, callback, bound, now)
    try:
        if callback.error:
            if callback.error == "access_denied":
                raise Forbidden(
                    f"You did not allow {found.label} to sign you in here (access_denied). "
                    "You are not signed in."
                )
            words = f"{callback.error}: {callback.error_description}".strip(": ")[:300]
            raise FlowRefused(f"{found.label} refused the sign-in ({words}). {START_AGAIN}")
        if callback.iss and callback.iss != found.issuer:  # RFC 9207: a mix-up
            raise FlowRefused(
                f"This response comes from another provider than {found.label}. {START_AGAIN}"
            )
        if not callback.code:
            raise FlowRefused(f"{found.label} sent no authorization code. {START_AGAIN}")
        tokens = oidc.exchange_code(
            found, settings, code=callback.code, code_verifier=flow.code_verifier
        )
        access = tokens.get("access_token") if isinstance(tokens.get("access_token"), str) else None
        claims = oidc.validate_id_token(
            found, settings, tokens["id_token"], nonce=flow.nonce, now=now, access_token=access
        )
        person = oidc.identity(found, settings, claims, access)
        return _account(session, settings, found, flow, person, now)
    except AppError as exc:
        db.rollback(session)
        raise _refused(session, exc, flow, now) from None


def _linked_user(session: Session, person: oidc.Identity) -> tuple[OidcLink, User] | None:
    row = session.exec(
        select(OidcLink, User)
        .join(User, User.id == OidcLink.user_id)
        .where(OidcLink.issuer == person.issuer, OidcLink.subject == person.subject)
    ).first()
    return (row[0], row[1]) if row else None


def _signed_in(session: Session, user: User, link: OidcLink, name: str, now) -> None:
    link.last_signin_at = to_db(now)
    session.add(link)
    audit.record(
        session,
        action="account.signin_sso",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
        data={"provider": name, "issuer": link.issuer},
    )
    db.commit(session)


def _new_link(session: Session, user: User, found: OidcProvider, person, now) -> OidcLink:
    link = OidcLink(
        user_id=user.id,
        provider=found.name,
        issuer=person.issuer,
        subject=person.subject,
        email=person.email,
        created_at=to_db(now),
    )
    session.add(link)
    session.flush()
    audit.record(
        session,
        action="account.sso_linked",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
        data={"provider": found.name, "issuer": person.issuer, "email": person.email},
    )
    return link


def _account(
    session: Session, settings: Settings, found: OidcProvider, flow: OidcFlow, person, now
) -> Outcome:
    known = _linked_user(session, person)
    if known is not None:
        link, user = known
        if not user.is_active:
            raise Forbidden("This account has been deactivated. Ask an administrator.")
        _signed_in(session, user, link, found.name, now)
        return Outcome(next_url=flow.next_url, user=user)
    required = sso_domains.required_provider(session, person.email)
    if required is not None and required != found.name:
        domain, other = sso_domains.domain_of(person.email), sso_domains.label(settings, required)
        raise Forbidden(f"Addresses at {domain} sign in with {other}, not {found.label}.")
    if not person.email_verified:
        raise Forbidden(
            f"{found.label} does not say that {person.email} is verified, so it can neither be "
            "linked to an account here nor given a new one. Verify the address at "
            f"{found.label}, or sign in with your password."
        )
    user = find_user(session, person.email)
    if user is None:
        user = _new_learner(session, person, found, now)
        _signed_in(session, user, _new_link(session, user, found, person, now), found.name, now)
        return Outcome(next_url=flow.next_url, user=user)
    if not user.is_active:
        raise Forbidden("The account with this address has been deactivated. Ask an administrator.")
    if not user.confirmed:
        raise Forbidden(
            f"The account with {person.email} awaits its confirmation: open the link we "
            f"mailed you, then sign in with {found.label} again to link it."
        )
    flow.issuer, flow.subject, flow.email = person.issuer, person.subject, person.email
    session.add(flow)
    db.commit(session)
    return Outcome(next_url=flow.next_url)


def _new_learner(session: Session, person, found: OidcProvider, now) -> User:
    try:
        name = readable_name(person.name)[:NAME_MAX]
    except ValueError:
        name = person.email.split("@")[0][:NAME_MAX]
    user = create_user(
        session,
        email=person.email,
        name=name,
        password_hash=hash_password(new_token()),  # never told: this account signs in by SSO
        role=Role.learner,
        now=now,
    )
    audit.record(
        session,
        action="account.signup_sso",
        at=now,
        actor_id=user.id,
        subject=f"user:{user.id}",
        data={"provider": found.name},
    )
    return user


def pending(session: Session, settings: Settings, state: str, now: datetime) -> OidcFlow:
    """The identity awaiting confirmation that the browser's session names."""
    flow = _flow(session, state)
    if flow is None or not flow.subject or flow.linked_at is not None:
        raise FlowRefused(f"There is no sign-in waiting to be linked. {START_AGAIN}")
    if now - as_utc(flow.used_at) > timedelta(seconds=settings.oidc_flow_seconds):
        raise FlowRefused(f"The link was not confirmed in time. {START_AGAIN}")
    return flow


def confirm_link(
    *,
    session: Session,
    settings: Settings,
    state: str,
    signed_in: User | None,
    password: str,
    ip: str,
    now: datetime,
    device_cookie: str | None = None,
) -> tuple[User, str]:
    """Link the waiting identity to the account with its address, once the person proves the
    account is theirs: signed in as it, or its password (under the sign-in throttle)."""
    flow = pending(session, settings, state, now)
    found = provider(settings, flow.provider)
    user = find_user(session, flow.email)
    if user is None or (signed_in is not None and signed_in.id != user.id):
        raise Forbidden(
            f"You are signed in with another account than {flow.email}: sign out first."
        )
    if signed_in is None:
        user = sessions.authenticate(
            session=session,
            email=flow.email,
            password=password,
            ip=ip,
            now=now,
            settings=settings,
            device_cookie=device_cookie,
            sso_exempt=True,
        )
    person = oidc.Identity(flow.issuer, flow.subject, flow.email, True, user.name)
    if _linked_user(session, person) is not None:
        raise FlowRefused(f"This {found.label} identity is already linked to an account.")
    flow.linked_at = to_db(now)
    session.add(flow)
    link = _new_link(session, user, found, person, now)
    _signed_in(session, user, link, found.name, now)
    return user, flow.next_url
