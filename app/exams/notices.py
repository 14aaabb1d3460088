"""The result e-mail. The result's own transaction records a job (so a mail is owed exactly
when a result was committed, and finishing an attempt adds one INSERT, no reads); the job
writes the message to the outbox with the settings' base URL. Plain transactional text."""

from sqlmodel import Session

from app.accounts.models import User
from app.core import jobs, mail
from app.core.clock import as_utc
from app.exams.models import ExamAttempt

RESULT_MAIL = "exams.result_mail"


def result_mail_key(attempt_id: int) -> str:
    return f"{RESULT_MAIL}:{attempt_id}"


def owe_result_mail(session: Session, attempt_id: int, *, at) -> None:
    """In the result's transaction: the candidate will be told (once) that the result is ready."""
    jobs.enqueue(
        session, RESULT_MAIL, {"attempt_id": attempt_id}, at=at, key=result_mail_key(attempt_id)
    )


def result_body(attempt: ExamAttempt, name: str, base: str) -> str:
    """The message: the verdict, the score, where to read the report; never item content."""
    verdict = "Pass" if attempt.passed else "Not passed"
    lines = [
        f"Dear {name},",
        "",
        f"your {attempt.track} exam result is ready.",
        "",
        f"Result: {verdict}",
        f"Scaled score: {attempt.scaled_score} on the 200-800 scale (500 is the passing standard)",
        f"Questions answered: {attempt.step}",
        f"Finished: {as_utc(attempt.finished_at):%d %B %Y %H:%M} UTC",
    ]
    if attempt.status == "expired":
        lines.append(
            "The time ran out; the result is based on the answers given before the deadline."
        )
    lines += [
        "",
        f"Your result by domain, with what to study next: {base}/exams/attempts/{attempt.id}",
    ]
    if attempt.passed:
        lines.append("Your certificate is announced in a message of its own once it is issued.")
    else:
        lines.append(f"When you may take the exam again: {base}/exams/{attempt.track}")
    lines += ["", "Work Management Institute, certification",
              "You receive this message because it concerns your own exam."]  # fmt: skip
    return "\n".join(lines) + "\n"


@jobs.handler(RESULT_MAIL, max_tries=8, backoff_seconds=30)
def send_result_mail(ctx: jobs.Context) -> dict:
    """Write the result e-mail of a closed attempt to the outbox (once: the job's key)."""
    attempt = ctx.session.get(ExamAttempt, int(ctx.payload["attempt_id"]))
    if attempt is None or attempt.status == "open":
        return {"skipped": "no closed attempt"}
    user = ctx.session.get(User, attempt.user_id)
    base = ctx.settings.base_url.rstrip("/")
    verdict = "passed" if attempt.passed else "not passed"
    mail.queue(
        ctx.session,
        to=user.email,
        subject=f"Your {attempt.track} exam result: {verdict}",
        body=result_body(attempt, user.name, base),
        at=ctx.now(),
        kind="exam_result",
    )
    return {"to": user.email}
