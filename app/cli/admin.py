"""`wmi admin`: administrator accounts."""

import typer

from app.cli.common import console, database

app = typer.Typer(help="Administrator accounts.", no_args_is_help=True)
MIN_PASSWORD = 10


@app.command("create")
def create(
    email: str = typer.Option(..., prompt=True),
    name: str = typer.Option("Administrator", prompt=True),
) -> None:
    """Create an administrator, or promote an existing account and set its password.

    The password is asked for (twice, not shown), never taken on the command line, where the
    shell's history and the process list would keep it. Run it again to reset a password.
    """
    from app.accounts import service as accounts
    from app.core.clock import utcnow

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise typer.BadParameter(f"the password needs at least {MIN_PASSWORD} characters")
    with database(migrated=True) as session:
        user = accounts.ensure_admin(
            session=session, email=email, name=name, password=password, now=utcnow()
        )
    console.print(f"[green]{user.email} is an administrator.[/green]")
