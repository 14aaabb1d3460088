"""`wmi calibrate run|show|propose|activate`, as an operator runs them on the stored responses."""

import re

from typer.testing import CliRunner

from app.cli import cli
from app.itembank import pools
from tests.psychops.test_pools_http import _finished

runner = CliRunner()


def test_a_run_from_the_command_line_to_the_revision_in_force(wmi_env, session, clock,
                                                             monkeypatch):  # fmt: skip
    monkeypatch.setenv("WMI_CALIBRATION_REVIEW_EXAMINEES", "20")
    _finished(session, clock, 6)
    base = pools.active_id(session, track="CAWM")
    ran = runner.invoke(cli, ["calibrate", "run", "--track", "CAWM", "--model", "2pl",
                              "--min-responses", "3"])  # fmt: skip
    assert ran.exit_code == 0, ran.output
    run_id = int(re.search(r"calibration run (\d+) queued", ran.output).group(1))
    assert f"base revision {base}): done" in ran.output
    assert re.search(r"skipped \S+ \(version \d+\): \d responses, fewer than the minimum of 3",
                     ran.output)  # fmt: skip
    shown = runner.invoke(cli, ["calibrate", "show", str(run_id)])
    assert shown.exit_code == 0 and "done" in shown.output
    proposed = runner.invoke(cli, ["calibrate", "propose", str(run_id)])
    assert proposed.exit_code == 0, proposed.output
    revision = int(re.search(r"proposed revision (\d+)", proposed.output).group(1))
    assert "'accuracy'" in proposed.output
    activated = runner.invoke(cli, ["calibrate", "activate", str(run_id)])
    assert activated.exit_code == 0, activated.output
    assert f"revision {revision} is now in force for CAWM" in activated.output
    again = runner.invoke(cli, ["calibrate", "activate", str(run_id)])
    assert (
        again.exit_code == 1
        and f"Calibration run {run_id} was already put in force" in " ".join(again.output.split())
    )
    missing = runner.invoke(cli, ["calibrate"])
    assert missing.exit_code == 2 and "give --responses and --out" in missing.output
