"""`wmi audit`: the hash-chained audit log and its signed checkpoints (app/core/anchor.py)."""

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import console, database

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)

CheckpointFile = Annotated[
    Path | None,
    typer.Option(
        "--checkpoints",
        help="A checkpoint file to check against (e.g. a copy kept off the host); default: "
        "WMI_AUDIT_CHECKPOINT_FILE.",
    ),
]


@app.command("verify")
def verify(checkpoints: CheckpointFile = None) -> None:
    """Check the whole hash chain and compare it with every signed checkpoint; exit 1 when an
    entry was changed or removed, or the log was cut, emptied or rewritten since a checkpoint."""
    from app.core import audit
    from app.core.config import get_settings

    settings = get_settings()
    with database(settings) as session:
        report = audit.verify_all(session, settings, file=checkpoints)
    if report.ok:
        anchored = (
            f", and it matches the checkpoint of {report.anchor.at} (entry #{report.anchor.seq})"
            if report.anchor
            else " (no signed checkpoint yet: `wmi audit checkpoint` or the sweep writes one)"
        )
        console.print(
            f"[green]Audit log intact: {report.entries} entries{anchored}.[/green]",
            highlight=False,
            soft_wrap=True,
        )
        return
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint() -> None:
    """Check the chain since the latest checkpoint and, when intact, write a signed checkpoint of
    its end outside the database (the sweep does this every WMI_SWEEP_INTERVAL_SECONDS)."""
    from app.core import audit
    from app.core.clock import utcnow
    from app.core.config import get_settings

    settings = get_settings()
    with database(settings) as session:
        report, written = audit.checkpoint(session, settings, now=utcnow())
    if not report.ok:
        for problem in report.problems:
            console.print(f"[red]{problem}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    if written is None:
        console.print("No new entries since the latest checkpoint: none written.")
        return
    console.print(
        f"Checkpoint written: entry #{written.seq} at {written.at}, in "
        f"{settings.audit_checkpoints}.",
        highlight=False,
        soft_wrap=True,
    )
