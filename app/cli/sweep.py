"""`wmi sweep`: the periodic jobs, run once (`wmi serve` runs them every
WMI_SWEEP_INTERVAL_SECONDS)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from app.cli.common import console, database

if TYPE_CHECKING:
    from app.core.clock import Clock
    from app.core.config import Settings

app = typer.Typer()


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    expired_attempts: int
    jobs: int
    mail: int
    certificate_reminders: int
    audit_checkpoint: int | None = None  # the entry a new signed checkpoint records
    audit_problems: tuple[str, ...] = ()  # the chain failed its check: no checkpoint written
    purged: int = 0  # old sign-in attempts, sessions and mail requests deleted


def run_sweep(settings: "Settings | None" = None, *, clock: "Clock | None" = None) -> SweepReport:
    """Close overdue attempts, run the due background jobs, deliver pending mail, queue
    certificate renewal reminders, check the audit chain and checkpoint it (app/core/anchor.py).
    The job runner and the ports (a pass found here reaches credentials) are built by the same
    functions as create_app's (app.wiring)."""
    from app import wiring
    from app.accounts import purge
    from app.core import audit, mail
    from app.core.clock import utcnow
    from app.core.config import get_settings
    from app.credentials import keystore, renewal
    from app.exams import service as exams

    settings, clock = settings or get_settings(), clock or utcnow
    with database(settings) as session:
        keystore.ensure_keys(session=session, settings=settings, now=clock())  # a fresh database
        runner = wiring.job_runner(session.get_bind(), settings, clock)
        ports = wiring.ports(settings, clock, runner)
        expired = exams.expire_overdue(session=session, now=clock(), ports=ports)
        ran = runner.drain()
        sent = mail.deliver_pending(session, settings, now=clock())
        reminders = renewal.send_reminders(session=session, settings=settings, now=clock())
        purged = purge.purge(session, settings, now=clock())
        chain, written = audit.checkpoint(session, settings, now=clock())
    return SweepReport(
        expired_attempts=expired,
        jobs=len(ran),
        mail=sent,
        certificate_reminders=reminders,
        audit_checkpoint=written.seq if written else None,
        audit_problems=chain.problems,
        purged=sum(purged.values()),
    )


def describe(report: SweepReport) -> str:
    """The sweep's report in words."""
    words = (
        f"Sweep done: {report.expired_attempts} overdue attempts closed, {report.jobs} background "
        f"jobs run, {report.mail} messages sent, {report.certificate_reminders} renewal "
        f"reminders queued, {report.purged} old sign-in and session rows deleted"
    )
    if report.audit_problems:
        problems = "; ".join(report.audit_problems)
        return f"{words}. THE AUDIT LOG FAILED ITS CHECK (no checkpoint written): {problems}"
    if report.audit_checkpoint is not None:
        return f"{words}, audit log checked up to entry #{report.audit_checkpoint}."
    return words + "."


@app.command("sweep")
def sweep() -> None:
    """Run the periodic jobs once: overdue attempts, background jobs, mail, renewal reminders."""
    console.print(describe(run_sweep()), highlight=False, soft_wrap=True)
