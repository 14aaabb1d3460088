"""E-mail domains whose people must sign in through an OpenID Provider: administrators set and
lift the rule; password sign-in and password sign-up are refused for such addresses, with
words that name the provider. Addresses elsewhere keep their passwords."""

import re
from datetime import datetime

from sqlmodel import Session, select

from app.accounts.models import OidcLink, SsoDomain, User
from app.core import audit, db
from app.core.clock import to_db
from app.core.config import Settings
from app.core.errors import Forbidden, InvalidInput, NotFound

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def domain_of(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


def label(settings: Settings, name: str) -> str:
    """A provider's label, or its stored name when it is no longer configured."""
    provider = settings.oidc_provider(name)
    return provider.label if provider else name


def links_of(session: Session, settings: Settings, user: User) -> list[dict]:
    """The providers' identities linked to the account (for its profile page)."""
    rows = session.exec(select(OidcLink).where(OidcLink.user_id == user.id).order_by(OidcLink.id))
    return [
        {"label": label(settings, r.provider), "email": r.email, "created_at": r.created_at}
        for r in rows
    ]


def list_domains(session: Session) -> list[SsoDomain]:
    return list(session.exec(select(SsoDomain).order_by(SsoDomain.domain)))


def required_provider(session: Session, email: str) -> str | None:
    """The name of the provider the address must sign in with, or None (passwords allowed)."""
    domain = domain_of(email)
    if not domain:
        return None
    row = session.exec(select(SsoDomain.provider).where(SsoDomain.domain == domain)).first()
    return row


def refuse_password(session: Session, settings: Settings, email: str) -> None:
    """Forbidden, naming the provider, when the address's domain requires single sign-on."""
    name = required_provider(session, email)
    if name is not None:
        raise Forbidden(
            f"Addresses at {domain_of(email)} sign in with {label(settings, name)}: use the "
            f'"Sign in with {label(settings, name)}" button on the sign-in page. '
            "Passwords are not accepted for them."
        )


def require_sso(
    *, session: Session, settings: Settings, actor: User, domain: str, provider: str, now: datetime
) -> SsoDomain:
    """Require (or change) the provider for a domain; audited."""
    domain = domain.strip().lower().removeprefix("@")
    if not DOMAIN.match(domain):
        raise InvalidInput(f"{domain!r} is not an e-mail domain (such as example.org).")
    if settings.oidc_provider(provider) is None:
        configured = ", ".join(p.name for p in settings.oidc_providers) or "none"
        raise InvalidInput(
            f"There is no provider named {provider!r} (configured: {configured}); add it to "
            "WMI_OIDC_PROVIDERS first."
        )
    row = session.exec(select(SsoDomain).where(SsoDomain.domain == domain)).first()
    before = row.provider if row else None
    if row is None:
        row = SsoDomain(
            domain=domain, provider=provider, created_at=to_db(now), created_by=actor.id
        )
    row.provider = provider
    session.add(row)
    audit.record(
        session,
        action="sso.domain_required",
        at=now,
        actor_id=actor.id,
        subject=f"domain:{domain}",
        data={"provider": provider, "before": before},
    )
    db.commit(session)
    return row


def release_sso(*, session: Session, actor: User, domain: str, now: datetime) -> SsoDomain:
    """Lift the rule for a domain (its people may use passwords again); audited."""
    domain = domain.strip().lower()
    row = session.exec(select(SsoDomain).where(SsoDomain.domain == domain)).first()
    if row is None:
        raise NotFound(f"Single sign-on is not required for {domain}.")
    session.delete(row)
    audit.record(
        session,
        action="sso.domain_released",
        at=now,
        actor_id=actor.id,
        subject=f"domain:{domain}",
        data={"provider": row.provider},
    )
    db.commit(session)
    return row
