"""New accounts: sign-up confirmed by mail, and invitations by an administrator.

A sign-up answers "check your mail" for any address and does the same work for each (the
password hashed, the request counted against the address's limits, one job recorded); the
job (send_signup_mail) then mails a new address a confirmation link, and an address that has
an account a note that someone tried to sign up with it, with a reset link. The account
signs in once its link is followed (confirm_sign_up).
"""

from datetime import datetime

from sqlmodel import Session

from app.accounts import mail_limits, passwords, sso_domains
from app.accounts.models import LinkPurpose, Role, User
from app.accounts.schemas import NAME_MAX, SignUp, readable_name
from app.accounts.service import create_user, normalise_email
from app.core import audit, db, jobs, mail
from app.core.config import Settings
from app.core.errors import InvalidInput
from app.core.security import hash_password, new_token

INVITATION_DAYS = 7
SIGNUP_MAIL = "accounts.signup_mail"
CONFIRM_SUBJECT = "Confirm your WMI Certify account"


def request_sign_up(
    *, session: Session, settings: Settings, data: SignUp, ip: str, now: datetime
) -> None:
    """Ask for a learner account: nothing is looked up, whatever the address. The password's
    hash travels to the job sealed (mail.seal). Too many requests: TooManyRequests."""
    email = normalise_email(data.email)
    sso_domains.refuse_password(session, settings, email)  # its people sign up by signing in
    mail_limits.admit(session, settings, kind="signup", email=email, ip=ip, now=now)
    sealed = mail.seal(settings, hash_password(data.password))
    payload = {"email": email, "name": data.name, "password_hash": sealed}
    jobs.enqueue(session, SIGNUP_MAIL, payload, at=now)
    db.commit(session)


def signup_mail(
    *, session: Session, settings: Settings, payload: dict, now: datetime
) -> dict[str, object]:
    """The job's handler (the caller commits). A new address: a learner account awaiting
    confirmation and a confirmation link. An address whose sign-up awaits confirmation: its
    name and password replaced by the newest sign-up's (only the mailbox's owner can confirm
    either) and a new link. An active account: a note with a reset link. At most
    passwords.RESET_MAILS_PER_HOUR links an hour reach one account; a deactivated one gets none."""
    email, name = payload["email"], payload["name"]
    password_hash = mail.unseal(settings, payload["password_hash"])
    user = passwords.account_for_mail(session, email)
    if user is not None and (not user.is_active or user.confirmed):
        if not user.is_active:
            return {"sent": False, "why": "deactivated account"}
        if passwords.links_this_hour(session, user, now) >= passwords.RESET_MAILS_PER_HOUR:
            return {"sent": False, "why": "too many links in the last hour"}
        passwords.mail_reset_link(
            session,
            settings,
            user,
            now,
            subject="Someone tried to sign up with your address",
            why=(
                "Someone (perhaps you) tried to create a WMI Certify account with this e-mail "
                "address, which already has one, so no new account was made. If you have "
                "forgotten your password, you can choose a new one below; otherwise ignore "
                "this message."
            ),
        )
        return {"sent": True, "to": "existing account"}
    if user is None:
        user = create_user(
            session,
            email=email,
            name=name,
            password_hash=password_hash,
            role=Role.learner,
            now=now,
            confirmed=False,
        )
    elif passwords.links_this_hour(session, user, now) >= passwords.RESET_MAILS_PER_HOUR:
        return {"sent": False, "why": "too many links in the last hour"}
    else:
        user.name, user.password_hash = name, password_hash
        session.add(user)
    ttl = settings.signup_confirm_ttl_seconds
    link = passwords.reset_link(session, user, settings, now, ttl, LinkPurpose.confirm)
    text = (
        f"Hello {user.name},\n\nTo finish creating your WMI Certify account, open this "
        f"link within {ttl // 3600} hours and confirm:\n{mail.WITHHELD}\n\n"
        "If you did not sign up, ignore this message: no account is made without it."
    )
    envelope = {"to": user.email, "subject": CONFIRM_SUBJECT, "kind": "signup_confirm"}
    mail.queue(session, **envelope, body=text, at=now, secret=link, settings=settings)
    audit.record(session, action="account.signup_requested", at=now, subject=f"user:{user.id}")
    return {"sent": True, "to": "new address"}


def confirm_sign_up(*, session: Session, token: str, now: datetime) -> User:
    """Follow a sign-up's link: the account is confirmed and may sign in (the link ends, with
    every other link of the account). InvalidInput for an unknown, used or expired link."""
    user = passwords.claim_link(session, token, LinkPurpose.confirm, now)
    user.confirmed = True
    session.add(user)
    audit.record(
        session, action="account.signup", at=now, actor_id=user.id, subject=f"user:{user.id}"
    )
    db.commit(session)
    return user


def invite(
    *, session: Session, settings: Settings, email: str, name: str, role: Role, purpose: str, now
) -> User:
    """Create an account for someone invited by an administrator and mail them a link to
    choose their password (valid INVITATION_DAYS days). Helper: the caller audits and commits."""
    try:
        name = readable_name(name.strip() or email.split("@")[0])[:NAME_MAX]
    except ValueError as exc:
        raise InvalidInput(f"The name {exc}.") from exc
    user = create_user(
        session,
        email=email,
        name=name,
        password_hash=hash_password(new_token()),  # never told: the invitee chooses theirs
        role=role,
        now=now,
    )
    link = passwords.reset_link(session, user, settings, now, INVITATION_DAYS * 86400)
    mail.queue(
        session,
        to=user.email,
        subject="You are invited to WMI Certify",
        kind="invitation",
        at=now,
        body=(
            f"Hello {user.name},\n\nThe Work Management Institute invites you to {purpose}.\n"
            f"Choose your password within {INVITATION_DAYS} days with this link, then sign in:\n"
            f"{mail.WITHHELD}\n"
        ),
        secret=link,
        settings=settings,
    )
    audit.record(
        session,
        action="account.invited",
        at=now,
        subject=f"user:{user.id}",
        data={"role": role.value},
    )
    return user
