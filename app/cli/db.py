"""`wmi db`: the database schema (Alembic)."""

import typer

from app.cli.common import console

app = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database to a revision (default: the newest)."""
    from app.core.config import get_settings
    from app.core.db import migrate

    migrate(get_settings(), revision)
    console.print(f"[green]Database at {revision}[/green]")


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(...)) -> None:
    """Migrate the database down to a revision."""
    from alembic import command
    from app.core.config import get_settings
    from app.core.db import alembic_config

    settings = get_settings()
    command.downgrade(alembic_config(settings.database_url, settings), revision)
    console.print(f"[yellow]Database at {revision}[/yellow]")
