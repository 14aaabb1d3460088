"""The `wmi` command: serve, db, admin, audit, sweep, content, bank, simulate, calibrate."""

import secrets
import threading
import time

import typer
from rich.console import Console
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.config import get_settings
from app.core.db import make_engine, migrate

cli = typer.Typer(
    help="WMI Certify: the certification platform of the Work Management Institute.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_cli = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)
admin_cli = typer.Typer(help="Administrator accounts.", no_args_is_help=True)
audit_cli = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(admin_cli, name="admin")
content_cli = typer.Typer(help="Courses in content/.", no_args_is_help=True)
bank_cli = typer.Typer(help="Item banks in question_banks/.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")
cli.add_typer(content_cli, name="content")
cli.add_typer(bank_cli, name="bank")
keys_cli = typer.Typer(help="The credential signing keys (did:web).", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")
console = Console()

DEMO_ADMIN = "admin@wmi.example"


def _session() -> Session:
    return Session(make_engine(get_settings().database_url), expire_on_commit=False)


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database to a revision (default: the newest)."""
    migrate(get_settings(), revision)
    console.print(f"[green]Database at {revision}[/green]")


@db_cli.command("downgrade")
def db_downgrade(revision: str = typer.Argument(...)) -> None:
    """Migrate the database down to a revision."""
    from alembic import command
    from app.core.db import alembic_config

    command.downgrade(alembic_config(get_settings().database_url), revision)
    console.print(f"[yellow]Database at {revision}[/yellow]")


@admin_cli.command("create")
def admin_create(
    email: str = typer.Option(..., prompt=True),
    name: str = typer.Option("Administrator", prompt=True),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create an administrator (or promote an existing account and set its password)."""
    from app.accounts import service as accounts

    if len(password) < 10:
        raise typer.BadParameter("the password needs at least 10 characters")
    migrate(get_settings())
    with _session() as session:
        user = accounts.ensure_admin(
            session=session, email=email, name=name, password=password, now=utcnow()
        )
    console.print(f"[green]{user.email} is an administrator.[/green]")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the hash chain of the audit log; exit 1 when an entry was changed or removed."""
    from app.core import audit

    with _session() as session:
        report = audit.verify(session)
    if report.ok:
        console.print(f"[green]Audit log intact: {report.entries} entries.[/green]")
        return
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]")
    raise typer.Exit(1)


def _report(problems: list[str], summary: str) -> None:
    for problem in problems:
        console.print(problem, markup=False, highlight=False)
    console.print(f"[{'red' if problems else 'green'}]{summary}; {len(problems)} problem(s)[/]")
    if problems:
        raise typer.Exit(1)


@content_cli.command("check")
def content_check() -> None:
    """Validate content/: schema, references, objectives, sections, lengths, duplicates, links."""
    from app.courses import checks

    problems, tree = checks.run_checks(get_settings().content_dir)
    lessons = sum(len(m.lessons) for t in tree.tracks.values() for m in t.modules)
    _report(problems, f"{len(tree.tracks)} tracks, {lessons} lessons")


@bank_cli.command("check")
def bank_check() -> None:
    """Validate question_banks/: schema, keys, duplicates, balance, counts, pools, sources."""
    from app.itembank import checks

    settings = get_settings()
    problems, bank = checks.run_checks(settings.banks_dir, settings.content_dir)
    _report(problems, f"{len(bank.items)} items")


@bank_cli.command("stats")
def bank_stats() -> None:
    """Counts per track, pool, domain, level and status; key and option-length distributions."""
    from rich.table import Table

    from app.itembank import checks
    from app.itembank.files import read_banks

    for track, pools in checks.stats(read_banks(get_settings().banks_dir)).items():
        table = Table(title=f"{track}")
        for column in (
            "pool",
            "items",
            "domains",
            "levels",
            "types",
            "status",
            "key A/B/C/D",
            "key longest",
            "option length (chars)",
        ):
            table.add_column(column)
        for pool, s in pools.items():
            chars = sorted(s["option_chars"]) or [0]
            singles = max(1, s["singles"])
            table.add_row(
                pool,
                str(s["items"]),
                " ".join(f"{k}:{v}" for k, v in sorted(s["domain"].items())),
                " ".join(f"{k}:{v}" for k, v in sorted(s["level"].items())),
                " ".join(f"{k}:{v}" for k, v in sorted(s["type"].items())),
                " ".join(f"{k}:{v}" for k, v in sorted(s["status"].items())),
                " ".join(f"{s['key'][k] / singles:.0%}" for k in "ABCD"),
                f"{s['key_longest'] / singles:.0%}",
                f"min {chars[0]} · median {chars[len(chars) // 2]} · max {chars[-1]}",
            )
        console.print(table)


def run_sweep(settings=None) -> dict:
    """Deliver pending mail (and, as domains add them, expire attempts and send reminders)."""
    from app.core import mail
    from app.credentials import renewal
    from app.exams import service as exams
    from app.main import create_app

    settings = settings or get_settings()
    app = create_app(settings)  # its state holds the ports the credentials layer wires in
    with Session(app.state.engine, expire_on_commit=False) as session:
        sent = mail.deliver_pending(session, settings, now=utcnow())
        expired = exams.expire_overdue(
            session=session, now=utcnow(), on_exam_passed=app.state.on_exam_passed
        )
        reminders = renewal.send_reminders(session=session, settings=settings, now=utcnow())
    app.state.engine.dispose()
    return {"mail": sent, "expired_attempts": expired, "certificate_reminders": reminders}


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; earlier public keys stay in the DID document."""
    from app.credentials import did

    key = did.rotate(get_settings())
    console.print(f"[green]New signing key {key.verification_method}[/green]")


@keys_cli.command("list")
def keys_list() -> None:
    """The published verification methods, oldest first (the last one signs)."""
    from app.credentials import did

    for key in did.all_keys(get_settings()):
        console.print(key.verification_method, markup=False, highlight=False)


@cli.command("sweep")
def sweep() -> None:
    """Run the periodic jobs once."""
    console.print(run_sweep())


def _ensure_demo_admin() -> None:
    from app.accounts import service as accounts

    with _session() as session:
        if accounts.find_user(session, DEMO_ADMIN) is not None:
            return
        password = secrets.token_urlsafe(12)
        accounts.ensure_admin(
            session=session,
            email=DEMO_ADMIN,
            name="Demo Administrator",
            password=password,
            now=utcnow(),
        )
    console.rule("[bold]Demo administrator (shown once)")
    console.print(f"  e-mail:   [bold]{DEMO_ADMIN}[/bold]\n  password: [bold]{password}[/bold]")
    console.rule()


def _sweeper(interval: int) -> None:
    while True:
        time.sleep(interval)
        try:
            run_sweep()
        except Exception as exc:  # keep sweeping; report and go on
            console.print(f"[red]sweep failed: {exc}[/red]")


@cli.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    demo: bool = typer.Option(False, help="Create a demo administrator on first run."),
) -> None:
    """Migrate, load content and item banks, then serve the application."""
    import uvicorn

    settings = get_settings()
    settings.ensure_secret_key()
    migrate(settings)
    load_all()
    if demo:
        _ensure_demo_admin()
    threading.Thread(target=_sweeper, args=(settings.sweep_interval_seconds,), daemon=True).start()
    console.print(f"Serving on [bold]http://{host}:{port}[/bold]")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
    )


def load_all() -> None:
    """Load content/ and question_banks/ into the database (idempotent)."""
    from app.courses import service as courses
    from app.itembank import service as itembank

    settings = get_settings()
    with _session() as session:
        report = courses.load_content(session=session, root=settings.content_dir, now=utcnow())
        console.print(
            f"content: {report.tracks} tracks, {report.lessons} lessons, "
            f"{report.new_versions} new versions, {report.retired} retired"
        )
        banks = itembank.load_banks(session=session, root=settings.banks_dir, now=utcnow())
        console.print(
            f"item banks: {banks.items} items, {banks.created} new, "
            f"{banks.new_versions} new versions"
        )
    for problem in report.problems + banks.problems:
        console.print(f"[yellow]skipped: {problem}[/yellow]", markup=True, highlight=False)


@content_cli.command("load")
def content_load() -> None:
    """Load content/ into the database (idempotent; progress survives)."""
    from app.courses import service as courses

    settings = get_settings()
    migrate(settings)
    with _session() as session:
        report = courses.load_content(session=session, root=settings.content_dir, now=utcnow())
    console.print(
        f"{report.tracks} tracks, {report.modules} modules, {report.lessons} lessons; "
        f"{report.new_versions} new versions; {report.retired} retired"
    )


@bank_cli.command("load")
def bank_load() -> None:
    """Load question_banks/ into the database (an edited item becomes a new version)."""
    from app.itembank import service as itembank

    settings = get_settings()
    migrate(settings)
    with _session() as session:
        report = itembank.load_banks(session=session, root=settings.banks_dir, now=utcnow())
    console.print(f"{report.items} items; {report.created} new; {report.new_versions} new versions")


def _register_psychometrics() -> None:
    from app import cli_psychometrics

    cli.command(
        "simulate", help="Simulate candidates through the exam engine (report, plots, CSV)."
    )(cli_psychometrics.simulate)
    cli.command("calibrate", help="Calibrate 2PL/3PL parameters by MML-EM (a reviewable result).")(
        cli_psychometrics.calibrate
    )


_register_psychometrics()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
