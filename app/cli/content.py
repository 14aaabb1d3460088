"""`wmi content`: the courses in content/."""

import typer

from app.cli.common import database, load_files, report_problems

app = typer.Typer(help="Courses in content/.", no_args_is_help=True)


@app.command("check")
def check() -> None:
    """Validate content/: schema, references, objectives, sections, lengths, duplicates, links."""
    from app.core.config import get_settings
    from app.courses import checks

    problems, tree = checks.run_checks(get_settings().content_dir)
    lessons = sum(len(m.lessons) for t in tree.tracks.values() for m in t.modules)
    report_problems(problems, f"{len(tree.tracks)} tracks, {lessons} lessons")


@app.command("load")
def load() -> None:
    """Load content/ into the database (idempotent; progress survives)."""
    with database(migrated=True) as session:
        load_files(session, content=True)
