"""`wmi responses`: the response data of a track for analysts (app/psychops/responses.py)."""

from pathlib import Path

import typer

from app.cli.common import console, database

app = typer.Typer(
    help="Response data: export the response matrix, run the item analysis.", no_args_is_help=True
)


@app.command("export")
def export(
    track: str = typer.Option(..., help="CAWM, WMP or CWA"),
    out: Path = typer.Option(..., help="the file to write (.csv or .parquet)"),
    revision: int = typer.Option(0, help="only attempts on this pool revision (0: all)"),
) -> None:
    """Write every response of the track's finished attempts as CSV or Parquet."""
    from app.core.config import get_settings
    from app.psychops import responses

    if track.upper() not in ("CAWM", "WMP", "CWA"):
        raise typer.BadParameter(f"there is no track {track}; choose CAWM, WMP or CWA")
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise typer.BadParameter(f"{out.name}: the file must end in .csv or .parquet")
    secret = get_settings().ensure_secret_key()
    with database() as session:
        m = responses.matrix(session, track=track.upper(), secret=secret,
                             revision_id=revision or None)  # fmt: skip
    if out.suffix.lower() == ".parquet":
        out.write_bytes(responses.to_parquet(m))
    else:
        out.write_text("".join(responses.to_csv(m)), encoding="utf-8")
    console.print(f"{len(m)} responses written to {out}")


@app.command("analyse")
def analyse(track: str = typer.Option(..., help="CAWM, WMP or CWA")) -> None:
    """Run the item analysis of the track now (what the page's button queues as a job) and
    store it; prints the flagged items."""
    from app.core.clock import utcnow
    from app.psychops import snapshots

    if track.upper() not in ("CAWM", "WMP", "CWA"):
        raise typer.BadParameter(f"there is no track {track}; choose CAWM, WMP or CWA")
    with database() as session:
        analysis_id = snapshots.run_now(session, track=track.upper(), now=utcnow())
        snap = snapshots.get(session, analysis_id)
    console.print(f"item analysis {snap.id}: {len(snap.items)} items, {snap.responses} responses "
                  f"of {snap.attempts} attempts, {len(snap.flagged)} flagged "
                  f"({snap.summary.get('seconds')} s)")  # fmt: skip
    for s in snap.flagged:
        console.print(f"  {s.item} (version {s.version}): {', '.join(s.flags)}")
