"""How `wmi pools` prints a pool revision."""

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from app.cli.common import console


def revision_line(row, in_force: int | None) -> str:
    """One line: id, track, items, source, exposure control (check run), in force or not."""
    pretest = sum(1 for p in row.items if p.get("pretest"))
    report = row.exposure_report or {}
    if row.exposure is None:
        exposure = "exposure control not derived yet"
    else:
        exposure = (
            f"exposure target {row.exposure_target:.2f}, simulated max "
            f"{report.get('max_exposure', float('nan')):.3f} over "
            f"{report.get('check_examinees', 0)} candidates"
        )
    mark = "  IN FORCE" if row.id == in_force else ""
    return (
        f"{row.id:>4} {row.track:<5} {len(row.items) - pretest} operational + {pretest} pretest"
        f"  {row.source} ({row.created_at:%Y-%m-%d %H:%M})  {exposure}{mark}"
    )


@contextmanager
def refused() -> Iterator[None]:
    """A domain error (no such revision, stale base, not derived) as a message, exit 1."""
    from app.core.errors import AppError

    try:
        yield
    except AppError as exc:
        console.print(exc.message, style="red", markup=False, highlight=False)
        raise typer.Exit(1) from exc
