"""The simulate and calibrate commands end to end on small inputs (files in, folder out)."""

import csv

import numpy as np
from typer.testing import CliRunner

from app.cli import cli
from app.cli import psychometrics_inputs as inputs
from app.psychometrics import irt

runner = CliRunner()


def test_policy_falls_back_to_track_defaults(tmp_path):
    policy = inputs.load_policy("CWA", content_dir=tmp_path)
    assert (policy.min_items, policy.max_items, policy.cut_theta) == (40, 80, 0.0)
    assert dict(policy.blueprint)["3"] == 0.25


def test_simulate_writes_report_csvs_and_plots(tmp_path):
    bank = tmp_path / "bank.csv"
    rng = np.random.default_rng(1)
    with bank.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "a", "b", "c", "domain"])
        for i in range(150):
            writer.writerow([f"I{i}", rng.lognormal(0, 0.3), rng.normal(), 0.2, "ABCDEF"[i % 6]])
    out = tmp_path / "sim"
    args = ["simulate", "--track", "CAWM", "--bank", str(bank), "--examinees", "60", "--seed",
            "3", "--sh-examinees", "40", "--sh-iterations", "2", "--out", str(out)]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    for name in ("report.md", "designs.csv", "conditional.csv", "exposure.csv", "length.png"):
        assert (out / name).exists()
    report = (out / "report.md").read_text()
    assert "| CAT |" in report and "fixed 60" in report


def test_calibrate_writes_parameters_without_touching_anything_else(tmp_path):
    rng = np.random.default_rng(2)
    a, b = rng.lognormal(0, 0.3, 15), rng.normal(0, 1, 15)
    x = (rng.random((800, 15)) < irt.probability(rng.normal(0, 1, 800), a, b, np.zeros(15))) * 1
    responses = tmp_path / "responses.csv"
    with responses.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["candidate"] + [f"Q{i}" for i in range(15)])
        for p, row in enumerate(x):
            writer.writerow([f"C{p}"] + ["" if (p + i) % 4 == 0 else v for i, v in enumerate(row)])
    out = tmp_path / "cal"
    args = ["calibrate", "--responses", str(responses), "--model", "2pl", "--out", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "parameters.csv").open()))
    assert len(rows) == 15 and all(int(r["n"]) == 600 for r in rows)
    est = np.array([float(r["b"]) for r in rows])
    assert np.corrcoef(est, b)[0, 1] > 0.95
    assert "not applied" in (out / "summary.md").read_text()
