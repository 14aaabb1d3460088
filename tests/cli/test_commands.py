"""The `wmi` command as an operator meets it: help, reports, the sweep, administrators."""

import subprocess
import sys

from sqlmodel import Session
from typer.testing import CliRunner

from app.accounts import service as accounts
from app.cli import cli
from app.core.db import make_engine
from app.core.security import verify_password

runner = CliRunner()
HEAVY = ("numpy", "scipy", "sqlalchemy", "sqlmodel", "fastapi", "matplotlib", "app.psychometrics")


def test_help_lists_every_group_without_loading_the_application():
    script = (
        "import sys\n"
        "from app.cli import main\n"
        "sys.argv = ['wmi', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    for group in ("serve", "db", "admin", "audit", "content", "bank", "keys", "jobs", "sweep"):
        assert f" {group} " in out
    assert "simulate" in out and "calibrate" in out
    assert "LOADED []" in out


def test_simulate_help_speaks_of_the_option_not_of_an_issue():
    result = runner.invoke(cli, ["simulate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--synthetic" in result.output
    assert "issue" not in result.output.lower()


def test_bank_stats_shows_every_value_whole_in_80_columns():
    result = runner.invoke(cli, ["bank", "stats"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())
    for phrase in ("CAWM", "exam", "A:", "key A/B/C/D", "option length", "median"):
        assert phrase in result.output


def test_sweep_reports_in_words(wmi_env):
    result = runner.invoke(cli, ["sweep"])
    assert result.exit_code == 0, result.output
    assert "{" not in result.output
    assert "0 overdue attempts closed" in result.output
    assert "0 background jobs run" in result.output
    assert "0 messages sent" in result.output
    assert "0 renewal reminders queued" in result.output


def test_admin_create_never_takes_the_password_on_the_command_line(wmi_env):
    refused = runner.invoke(
        cli, ["admin", "create", "--email", "ops@example.org", "--password", "a-long-secret-1"]
    )
    assert refused.exit_code != 0
    assert "No such option" in refused.output


def test_admin_create_prompts_for_the_password_twice_and_sets_it(wmi_env):
    typed = "a-long-secret-1\na-long-secret-1\n"
    result = runner.invoke(
        cli, ["admin", "create", "--email", "ops@example.org", "--name", "Ops"], input=typed
    )
    assert result.exit_code == 0, result.output
    assert "a-long-secret-1" not in result.output  # hidden input is not echoed
    assert "ops@example.org is an administrator" in result.output
    engine = make_engine(wmi_env.database_url)
    try:
        with Session(engine) as session:
            user = accounts.find_user(session, "ops@example.org")
            assert user is not None and user.role == "admin"
            assert verify_password("a-long-secret-1", user.password_hash)
    finally:
        engine.dispose()


def test_admin_create_refuses_a_short_password(wmi_env):
    command = ["admin", "create", "--email", "ops@example.org", "--name", "Ops"]
    result = runner.invoke(cli, command, input="short\nshort\n")
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
