"""`wmi calibrate`: from a CSV into a review folder (no database), or, with `run`, a
calibration run of a track's stored responses in the platform (app/psychops/calibration_runs.py)
followed by `show`, `propose` and `activate` (the review, app/psychops/calibration_review.py)."""

import time
from pathlib import Path

import typer

from app.cli.common import console, database
from app.cli.pools_report import refused

app = typer.Typer(
    help="Calibrate item parameters: from a CSV (--responses, --out), or a platform run (run).",
    invoke_without_command=True,
)


@app.callback()
def calibrate(
    ctx: typer.Context,
    responses: Path | None = typer.Option(
        None, help="wide CSV: candidate, then one column per item"
    ),
    model: str = typer.Option("3pl", help="2pl or 3pl"),
    anchors: Path | None = typer.Option(None, help="CSV id,a,b,c of items to hold fixed"),
    out: Path | None = typer.Option(None, help="folder for the reviewable result"),
) -> None:
    """Calibrate 2PL/3PL parameters by MML-EM into a review folder (live ones untouched)."""
    if ctx.invoked_subcommand is not None:
        return
    if responses is None or out is None:
        console.print("give --responses and --out, or a command: `wmi calibrate run --help`")
        raise typer.Exit(2)
    from app.cli import psychometrics_inputs as inputs
    from app.cli import psychometrics_reports as reports
    from app.psychometrics import calibration

    started = time.perf_counter()
    item_ids, x = inputs.read_responses(responses)
    anchor_set = inputs.read_anchors(anchors, item_ids) if anchors else None
    console.print(f"{x.shape[0]} candidates x {x.shape[1]} items, model {model}")
    res = calibration.calibrate(x, model.lower(), anchors=anchor_set)
    out.mkdir(parents=True, exist_ok=True)
    command = f"wmi calibrate --responses {responses} --model {model}"
    command += (f" --anchors {anchors}" if anchors else "") + f" --out {out}"
    flagged = reports.write_calibration(
        out, item_ids, x, res, command, time.perf_counter() - started
    )
    console.print(f"result: {out / 'summary.md'} ({len(flagged)} items flagged for review)")


def _runner(session):
    from app import wiring
    from app.core.clock import utcnow
    from app.core.config import get_settings

    return wiring.job_runner(session.get_bind(), get_settings(), utcnow)


def _show(session, run_id: int) -> None:
    from app.psychops import calibration_views as views

    body = views.run_json(session, run_id, with_items=True)
    console.print(
        f"run {body['id']} {body['track']} {body['model']} {body['mode']} (minimum "
        f"{body['min_responses']}, base revision {body['base_revision']}): {body['status']} "
        f"{body['error']}", markup=False, highlight=False,
    )  # fmt: skip
    if body["summary"]:
        console.print(body["summary"], markup=False, highlight=False)
    for s in body.get("skipped", []):
        console.print(f"  skipped {s['item']} (version {s['version']}): {s['reason']}",
                      markup=False, highlight=False)  # fmt: skip
    if body["proposed_revision"]:
        console.print(f"proposed revision {body['proposed_revision']}; simulation: "
                      f"{body['simulation']}", markup=False, highlight=False)  # fmt: skip


@app.command("run")
def run(
    track: str = typer.Option(..., help="CAWM, WMP or CWA"),
    model: str = typer.Option("3pl", help="2pl or 3pl"),
    mode: str = typer.Option(
        "pretest", help="pretest (anchors fixed), full (Stocking-Lord) or free (first calibration)"
    ),
    min_responses: int = typer.Option(0, help="minimum per item (0: the setting's default)"),
    wait: bool = typer.Option(True, help="run the job in this process now (else: queue it)"),
) -> None:
    """Start a calibration run of the track's stored responses against the revision in force."""
    from app.core.clock import utcnow
    from app.core.config import get_settings
    from app.psychops import calibration_runs as runs

    minimum = min_responses or get_settings().calibration_min_responses
    with database() as session, refused():
        started = runs.start(session, track=track, model=model, mode=mode,
                             min_responses=minimum, now=utcnow())  # fmt: skip
        console.print(f"calibration run {started.id} queued (job {started.job_key})")
        if wait:
            _runner(session).run_key(started.job_key)
        session.expire_all()
        _show(session, started.id)


@app.command("show")
def show(run_id: int = typer.Argument(..., help="the run's id")) -> None:
    """A run's state, summary and skipped items with their reasons."""
    with database() as session, refused():
        _show(session, run_id)


@app.command("propose")
def propose(run_id: int = typer.Argument(..., help="the run's id")) -> None:
    """Make the pool revision of the run's decisions; derive and simulate it in this process."""
    from app.core.clock import utcnow
    from app.psychops import calibration_review as review

    with database() as session, refused():
        proposed = review.propose(session, run_id, now=utcnow())
        _runner(session).run_key(f"{proposed.job_key}:review:{proposed.proposed_revision_id}")
        session.expire_all()
        _show(session, run_id)


@app.command("activate")
def activate(run_id: int = typer.Argument(..., help="the run's id")) -> None:
    """Put the run's proposed revision in force (409-style refusal if the base changed)."""
    from app.core.clock import utcnow
    from app.psychops import calibration_review as review

    with database() as session, refused():
        done = review.activate(session, run_id, now=utcnow())
    console.print(f"revision {done.proposed_revision_id} is now in force for {done.track}")
