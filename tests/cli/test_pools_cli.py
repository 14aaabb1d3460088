"""`wmi pools` and `wmi simulate --revision`, as an operator runs them."""

import re

from sqlmodel import Session, select
from typer.testing import CliRunner

from app.cli import cli
from app.core.db import make_engine
from app.itembank import pools
from app.itembank.models import Item

runner = CliRunner()


def _with_session(settings, fn):
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return fn(session)
    finally:
        engine.dispose()


def _changed_bank(session, clock_now) -> int:
    item = session.exec(select(Item).where(Item.track == "WMP", Item.pool == "exam")).first()
    item.status = "retired"
    session.add(item)
    session.flush()
    (revision,) = pools.record_bank_revisions(session, now=clock_now)
    session.commit()
    return revision.id


def test_pools_list_derive_and_activate(wmi_env, clock):
    listed = runner.invoke(cli, ["pools", "list", "--track", "CAWM"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "CAWM" in listed.output and "IN FORCE" in listed.output
    assert "exposure target 0.25, simulated max" in " ".join(listed.output.split())

    old = _with_session(wmi_env, lambda s: pools.active_id(s, track="WMP"))
    new = _with_session(wmi_env, lambda s: _changed_bank(s, clock()))
    early = runner.invoke(cli, ["pools", "activate", str(new)])
    assert early.exit_code == 1 and "no exposure control yet" in early.output

    derived = runner.invoke(cli, ["pools", "derive", str(new)], env={"COLUMNS": "200"})
    assert derived.exit_code == 0, derived.output
    assert "IN FORCE" in derived.output  # a bank load's revision goes live once derived
    back = runner.invoke(cli, ["pools", "activate", str(old)])
    assert back.exit_code == 0, back.output
    assert f"revision {old} is now in force for WMP" in back.output
    assert _with_session(wmi_env, lambda s: pools.active_id(s, track="WMP")) == old

    missing = runner.invoke(cli, ["pools", "derive", "9999"])
    assert missing.exit_code == 1 and "There is no pool revision 9999." in missing.output
    assert "Traceback" not in missing.output


def test_simulate_a_revision_evaluates_the_policy_its_derivation_checked(wmi_env, tmp_path):
    revision = _with_session(wmi_env, lambda s: pools.active(s, track="CAWM"))
    result = runner.invoke(
        cli,
        ["simulate", "--revision", str(revision.id), "--examinees", "12", "--out",
         str(tmp_path / "sim")],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    digest = re.search(r"policy ([0-9a-f]{16}) \(pool revision", result.output).group(1)
    assert digest == revision.exposure_report["policy_digest"]
    report = (tmp_path / "sim" / "report.md").read_text()
    assert f"pool revision {revision.id}: the policy candidates get, digest {digest}" in report


def test_responses_export_writes_csv_and_parquet(wmi_env, session, clock, tmp_path):
    import pyarrow.parquet as pq

    from tests.psychops.test_pools_http import _finished

    ids = _finished(session, clock, 1)
    csv_out, parquet_out = tmp_path / "r.csv", tmp_path / "r.parquet"
    for out in (csv_out, parquet_out):
        result = runner.invoke(cli, ["responses", "export", "--track", "cawm", "--out", str(out)])
        assert result.exit_code == 0, result.output
    lines = csv_out.read_text().splitlines()
    assert lines[0].startswith("track,pool_revision,attempt,candidate")
    assert f"{len(lines) - 1} responses written" in result.output
    assert pq.read_table(parquet_out).to_pydict()["attempt"] == ids * (len(lines) - 1)
    bad = runner.invoke(cli, ["responses", "export", "--track", "XYZ", "--out", str(csv_out)])
    assert bad.exit_code == 2 and "there is no track XYZ" in bad.output


def test_responses_analyse_runs_and_stores_the_item_analysis(wmi_env, session, clock):
    from app.psychops import snapshots
    from tests.psychops.test_pools_http import _finished

    _finished(session, clock, 2)
    result = runner.invoke(cli, ["responses", "analyse", "--track", "cawm"])
    assert result.exit_code == 0, result.output
    snap = snapshots.latest(session, track="CAWM")
    assert snap.attempts == 2
    assert f"item analysis {snap.id}: {len(snap.items)} items" in result.output
    bad = runner.invoke(cli, ["responses", "analyse", "--track", "XYZ"])
    assert bad.exit_code == 2 and "there is no track XYZ" in bad.output
