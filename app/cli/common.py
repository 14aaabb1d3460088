"""What the commands share: one console, a database session per command, problem reports."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from pathlib import Path

    from sqlmodel import Session

    from app.core.config import Settings

console = Console()


@contextmanager
def database(settings: "Settings | None" = None, *, migrated: bool = False) -> Iterator["Session"]:
    """A Session on an engine of the command's own, disposed of when the command is done
    (migrated: bring the schema to the newest revision first)."""
    from sqlmodel import Session

    from app.core.config import get_settings
    from app.core.db import make_engine, migrate

    settings = settings or get_settings()
    if migrated:
        migrate(settings)
    engine = make_engine(settings.database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def load_files(
    session: "Session",
    *,
    content: bool = False,
    banks: bool = False,
    banks_dir: "Path | None" = None,
) -> list[str]:
    """Load content/ and/or question_banks/ (idempotent), print what changed; return the files
    that were skipped, for the caller to report."""
    from app.core.clock import utcnow
    from app.core.config import get_settings
    from app.courses import service as courses
    from app.itembank import service as itembank

    settings, now = get_settings(), utcnow()
    done: list[tuple[str, Any]] = []
    if content:
        done.append(
            ("content", courses.load_content(session=session, root=settings.content_dir, now=now))
        )
    if banks:
        done.append(
            (
                "item banks",
                itembank.load_banks(session=session, root=banks_dir or settings.banks_dir, now=now),
            )
        )
    skipped: list[str] = []
    for what, report in done:  # each a LoadReport: counts, then the files skipped
        counts = ", ".join(
            f"{v} {k.replace('_', ' ')}"
            for k, v in vars(report).items()
            if k not in ("problems", "kept")
        )
        console.print(f"{what}: {counts}", highlight=False)
        for line in getattr(report, "kept", []):  # workbench items an older file did not undo
            console.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)
        skipped += report.problems
    _report_pools(session)
    return skipped


def _report_pools(session: "Session") -> None:
    """Warn about every track whose exam pool cannot serve its policy in every attempt."""
    from app.courses import service as courses
    from app.exams import engine_bridge

    for track in courses.list_tracks(session):
        for problem in engine_bridge.pool_problems(session, track=track.code, policy=track.policy):
            console.print(f"[yellow]{track.code} exam pool: {problem}[/]", highlight=False)


def report_problems(problems: list[str], summary: str) -> None:
    """Each problem on a line of its own, then the summary; exit 1 when there was any."""
    for problem in problems:
        console.print(problem, markup=False, highlight=False)
    console.print(f"[{'red' if problems else 'green'}]{summary}; {len(problems)} problem(s)[/]")
    if problems:
        raise typer.Exit(1)


def configuration_problem(exc: BaseException) -> str | None:
    """The message of an error that is the operator's to fix (a missing or wrong
    key-encryption key, a stored secret that does not open, an impossible setting, no signing
    key), or None for a fault of the program."""
    from pydantic import ValidationError

    from app.core.errors import AppError
    from app.core.sealing import SealingError

    if isinstance(exc, SealingError | AppError):
        return exc.message
    if isinstance(exc, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
    return None


def fail(message: str) -> NoReturn:
    """End the command with a message on standard error and exit status 2."""
    Console(stderr=True).print(f"[red]Error:[/red] {message}", highlight=False, soft_wrap=True)
    raise SystemExit(2)
