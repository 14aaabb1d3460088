"""The password-reset and sign-up mails, written and sent by background jobs (app.core.jobs),
so that asking costs the asker the same whether or not the address has an account."""

from app.accounts import passwords, registration
from app.core import db, jobs, mail


def _deliver(ctx: jobs.Context, result: dict) -> dict:
    """Commit the link and its message before anything is sent, then deliver it at once."""
    if result["sent"]:
        db.commit(ctx.session)
        mail.deliver_pending(ctx.session, ctx.settings, now=ctx.now())
    return result


@jobs.handler(passwords.RESET_MAIL, max_tries=5, backoff_seconds=10, prompt=True)
def send_reset_mail(ctx: jobs.Context) -> dict:
    """Mail the link if the account exists and has not had too many."""
    email = ctx.payload["email"]
    return _deliver(
        ctx,
        passwords.reset_mail(
            session=ctx.session, settings=ctx.settings, email=email, now=ctx.now()
        ),
    )


@jobs.handler(registration.SIGNUP_MAIL, max_tries=5, backoff_seconds=10, prompt=True)
def send_signup_mail(ctx: jobs.Context) -> dict:
    """Mail a new address its confirmation link, or an existing account a note."""
    payload = ctx.payload
    return _deliver(
        ctx,
        registration.signup_mail(
            session=ctx.session, settings=ctx.settings, payload=payload, now=ctx.now()
        ),
    )
