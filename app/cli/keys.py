"""`wmi keys`: the credential signing keys (did:web) and the key-encryption key that seals them."""

import typer

from app.cli.common import console, database

app = typer.Typer(
    help="The credential signing keys (did:web) and the key-encryption key.", no_args_is_help=True
)


@app.command("rotate")
def rotate() -> None:
    """Make a new signing key, used by every host from its next signature on; earlier public
    keys stay in the DID document."""
    from app.core.clock import utcnow
    from app.core.config import get_settings
    from app.credentials import did, keystore

    settings = get_settings()
    with database(settings) as session:
        keystore.ensure_keys(session=session, settings=settings, now=utcnow())
        keystore.rotate(session=session, settings=settings, actor_id=None, now=utcnow())
        key = did.published(session, settings)[-1]
    console.print(f"[green]New signing key {key.verification_method}[/green]")


@app.command("list")
def list_keys() -> None:
    """The published verification methods, oldest first (the last one signs), each with where
    it came from and the key-encryption key that seals it."""
    from app.core.clock import utcnow
    from app.core.config import get_settings
    from app.credentials import did, keystore

    settings = get_settings()
    with database(settings) as session:
        for line in keystore.ensure_keys(session=session, settings=settings, now=utcnow()):
            console.print(line, highlight=False)
        for key in did.published(session, settings):
            signs = "  (signs)" if key.signs else ""
            console.print(
                f"{key.number}  {key.verification_method}  {key.origin}, sealed with "
                f"{key.sealed_with}{signs}",
                markup=False,
                highlight=False,
            )


@app.command("new-kek")
def new_kek() -> None:
    """Print a new key-encryption key for WMI_KEY_ENCRYPTION_KEY (store it like a password;
    every host needs the same)."""
    from app.core import sealing

    print(sealing.new_kek())


@app.command("rewrap")
def rewrap() -> None:
    """Seal every signing key and webhook secret again with the current key-encryption key
    (after a rotation of WMI_KEY_ENCRYPTION_KEY; docs/CREDENTIALS.md)."""
    from app.core.clock import utcnow
    from app.core.config import get_settings
    from app.credentials import keystore

    settings = get_settings()
    with database(settings) as session:
        keys, endpoints = keystore.rewrap(session=session, settings=settings, now=utcnow())
    console.print(
        f"[green]Sealed again with the current key-encryption key: {keys} signing key(s), "
        f"{endpoints} webhook endpoint(s)[/green]"
    )
