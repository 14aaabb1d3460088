"""`wmi bank export`, `wmi bank load DIR`, `wmi bank qti-export` and `wmi bank qti-import`."""

import zipfile

from typer.testing import CliRunner

from app.cli import cli

runner = CliRunner()


def test_export_then_load_of_the_export_creates_nothing(wmi_env, tmp_path):
    out = tmp_path / "banks"
    exported = runner.invoke(cli, ["bank", "export", str(out)])
    assert exported.exit_code == 0, exported.output
    assert f"{out}: " in exported.output and " items in " in exported.output
    assert (out / "CWA" / "exam" / "1-s.yaml").is_file() and (out / "facts.yaml").is_file()
    loaded = runner.invoke(cli, ["bank", "load", str(out)], env={"COLUMNS": "200"})
    assert loaded.exit_code == 0, loaded.output
    assert "0 created, 0 new versions, [] pool revisions" in loaded.output


def test_qti_export_then_import_reports_each_item(wmi_env, tmp_path):
    package = tmp_path / "cwa.zip"
    exported = runner.invoke(
        cli,
        [
            "bank",
            "qti-export",
            "--track",
            "CWA",
            "--pool",
            "pretest",
            "--domain",
            "3",
            str(package),
        ],
    )
    assert exported.exit_code == 0, exported.output
    with zipfile.ZipFile(package) as archive:
        items = [n for n in archive.namelist() if n.startswith("items/")]
    assert items and f"{package}: {len(items)} items" in exported.output
    imported = runner.invoke(cli, ["bank", "qti-import", str(package)], env={"COLUMNS": "200"})
    assert imported.exit_code == 0, imported.output
    assert "CWA-3-2" in imported.output and ": unchanged. The bank holds this item already." in (
        imported.output
    )
    assert f"cwa.zip: 0 imported, {len(items)} unchanged, 0 skipped" in imported.output


def test_qti_import_of_a_refused_package_exits_1_and_says_why(wmi_env, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"no zip at all")
    result = runner.invoke(cli, ["bank", "qti-import", str(bad)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "bad.zip: refused, nothing imported. The upload is not a zip file" in result.output


def test_qti_export_of_an_unknown_pool_says_so(wmi_env, tmp_path):
    result = runner.invoke(
        cli, ["bank", "qti-export", "--track", "CWA", "--pool", "nope", str(tmp_path / "x.zip")]
    )
    assert result.exit_code == 1
    assert "There is no pool 'nope' (exam, pretest, practice)." in result.output
