"""`wmi keys`: the credential signing keys (did:web)."""

import typer

from app.cli.common import console

app = typer.Typer(help="The credential signing keys (did:web).", no_args_is_help=True)


@app.command("rotate")
def rotate() -> None:
    """Make a new signing key; earlier public keys stay in the DID document."""
    from app.core.config import get_settings
    from app.credentials import did

    key = did.rotate(get_settings())
    console.print(f"[green]New signing key {key.verification_method}[/green]")


@app.command("list")
def list_keys() -> None:
    """The published verification methods, oldest first (the last one signs)."""
    from app.core.config import get_settings
    from app.credentials import did

    for key in did.all_keys(get_settings()):
        console.print(key.verification_method, markup=False, highlight=False)
