"""`wmi jobs`: the background jobs (app.core.jobs)."""

import typer

from app.cli.common import console, database

app = typer.Typer(help="Background jobs (app.core.jobs).", no_args_is_help=True)


@app.command("run")
def run(
    limit: int = typer.Option(1000, help="Stop after this many jobs."),
    kind: list[str] = typer.Option([], help="Only jobs of these kinds (repeatable)."),
) -> None:
    """Run the due background jobs once, in this process, then exit."""
    from app import wiring
    from app.core.clock import utcnow
    from app.core.config import get_settings

    with database() as session:
        runner = wiring.job_runner(session.get_bind(), get_settings(), utcnow)
        outcomes = runner.drain(limit=limit, kinds=tuple(kind))
    for o in outcomes:
        console.print(f"job {o.job_id} {o.kind}: {o.status} {o.error}", markup=False)
    console.print(f"[green]{len(outcomes)} job(s) run[/green]")


@app.command("list")
def list_jobs(
    status: str = typer.Option("", help="queued, running, done, dead or cancelled."),
    limit: int = 50,
) -> None:
    """The newest jobs, with their state, tries and last error."""
    from app.core import jobs

    with database() as session:
        console.print(jobs.counts(session))
        for j in jobs.list_jobs(session, status=status, limit=limit):
            line = f"{j.id} {j.kind} {j.status} tries {j.tries}/{j.max_tries} {j.last_error}"
            console.print(line, markup=False, highlight=False)


@app.command("cancel")
def cancel(job_id: int) -> None:
    """Cancel a queued job, or ask a running one to stop."""
    job = _change(job_id, "cancel")
    console.print(f"job {job.id}: {job.status}, cancel requested: {job.cancel_requested}")


@app.command("retry")
def retry(job_id: int) -> None:
    """Queue a dead or cancelled job again."""
    job = _change(job_id, "retry")
    console.print(f"job {job.id}: {job.status}")


def _change(job_id: int, action: str):
    """jobs.cancel or jobs.retry on the job, committed; the job as it now is."""
    from app.core import db, jobs
    from app.core.clock import utcnow

    with database() as session:
        job = getattr(jobs, action)(session, job_id, at=utcnow())
        db.commit(session)
    return job
