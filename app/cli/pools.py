"""`wmi pools`: pool revisions and their exposure control (app/itembank/pools.py)."""

import typer

from app.cli.common import console, database
from app.cli.pools_report import refused

app = typer.Typer(help="Pool revisions: list, derive exposure control, activate.",
                  no_args_is_help=True)  # fmt: skip


@app.command("list")
def list_revisions(track: str = typer.Option("", help="CAWM, WMP or CWA (default: all)")) -> None:
    """Every pool revision, newest first: items, source, exposure control, which is in force."""
    from app.cli.pools_report import revision_line
    from app.itembank import pools

    with database() as session:
        rows = pools.revisions(session, track=track or None)
        in_force = {r.track: pools.active_id(session, track=r.track) for r in rows}
        for row in rows:
            console.print(revision_line(row, in_force[row.track]), markup=False, highlight=False)
    if not rows:
        console.print("no pool revisions yet: `wmi bank load` records them")


@app.command("derive")
def derive(revision: int = typer.Argument(..., help="the revision's id")) -> None:
    """Derive a revision's exposure control now (its background job, run in this process)."""
    from app import wiring
    from app.cli.pools_report import revision_line
    from app.core import db
    from app.core.clock import utcnow
    from app.core.config import get_settings
    from app.itembank import pools

    with database() as session, refused():
        row = pools.get(session, revision)
        pools.queue_derivation(session, row.id, now=utcnow())  # unless it is queued already
        db.commit(session)
        runner = wiring.job_runner(session.get_bind(), get_settings(), utcnow)
        outcome = runner.run_key(pools.derivation_key(row.id))
        if outcome is not None and outcome.status != "done":
            console.print(f"[red]derivation {outcome.status}: {outcome.error}[/red]")
            raise typer.Exit(1)
        session.expire_all()
        row = pools.get(session, revision)
        line = revision_line(row, pools.active_id(session, track=row.track))
        console.print(line, markup=False, highlight=False)


@app.command("activate")
def activate(revision: int = typer.Argument(..., help="the revision's id")) -> None:
    """Put a derived revision in force (attempts already started keep theirs)."""
    from app.core.clock import utcnow
    from app.itembank import pools

    with database() as session, refused():
        row = pools.get(session, revision)
        pools.activate(
            session, revision_id=row.id, now=utcnow(),
            base_revision_id=pools.active_id(session, track=row.track),
        )  # fmt: skip
    console.print(f"revision {revision} is now in force for {row.track}")
