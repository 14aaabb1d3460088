"""The `wmi` command: every sub-command group registered here, once, one module per group.

Each group module imports typer and the standard library only; a command imports what it needs
when it runs, so `wmi --help` loads no database driver, numpy or the web application.
"""

import typer

from app.cli import (
    admin,
    audit,
    bank,
    calibration,
    common,
    content,
    db,
    jobs,
    keys,
    pools,
    psychometrics,
    responses,
    serve,
    sweep,
)

cli = typer.Typer(
    help="WMI Certify: the certification platform of the Work Management Institute.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
cli.add_typer(serve.app)  # wmi serve
cli.add_typer(sweep.app)  # wmi sweep
cli.add_typer(db.app, name="db")
cli.add_typer(admin.app, name="admin")
cli.add_typer(audit.app, name="audit")
cli.add_typer(content.app, name="content")
cli.add_typer(bank.app, name="bank")
cli.add_typer(keys.app, name="keys")
cli.add_typer(jobs.app, name="jobs")
cli.add_typer(pools.app, name="pools")
cli.add_typer(responses.app, name="responses")
cli.add_typer(psychometrics.app)  # wmi simulate
cli.add_typer(calibration.app, name="calibrate")  # wmi calibrate [run|show|propose|activate]


def main() -> None:
    """The `wmi` console script. A configuration the platform cannot run with (a missing or
    wrong key-encryption key, a stored key that does not open, an impossible setting) ends
    the command with its message, not a stack trace."""
    try:
        cli()
    except Exception as exc:
        message = common.configuration_problem(exc)
        if message is None:
            raise
        common.fail(message)
