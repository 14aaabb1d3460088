"""The audit chain's anchor (issue 15, F-12, F-13): signed checkpoints of its head, kept outside
the database. Someone who can write to the database (its triggers lifted) cuts entries off the
end, empties the log, or rewrites it from an entry onwards with every hash recomputed: the chain
alone still reads as intact (asserted below), but `wmi audit verify` and the administrator's
pages now find it against the latest checkpoint. The pages check only from that checkpoint on."""

import json

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from app.cli import cli
from app.cli.sweep import run_sweep
from app.core import anchor, audit
from app.core.config import get_settings
from app.core.models import AuditEntry
from tests.factories.accounts import sign_in
from tests.factories.exams import make_admin

runner = CliRunner()


@pytest.fixture
def wmi_env(settings, monkeypatch):
    """The command reads its settings from the environment, as in production."""
    monkeypatch.setenv("WMI_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("WMI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WMI_SECRET_KEY", settings.secret_key)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def _append(session, clock, n: int) -> None:
    for i in range(n):
        clock.advance(seconds=1)
        audit.record(session, action="test.event", at=clock(), subject=f"t:{i}", data={"i": i})
        session.commit()


def _unguarded(session, *statements) -> None:
    """Run statements on the log with its triggers lifted (what a database owner can do)."""
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
    else:
        for name in ("no_update", "no_delete", "no_replace"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS audit_entry_{name}"))
    for sql, params in statements:
        conn.execute(text(sql), params)
    if postgres:
        conn.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER USER"))
    session.commit()


def _head(session) -> int:
    return audit.verify(session).entries


def cut_end(session, last: int) -> None:
    keep = last - 2
    kept = (
        session.connection()
        .execute(text("SELECT hash FROM audit_entry WHERE seq = :s"), {"s": keep})
        .scalar_one()
    )
    _unguarded(
        session,
        ("DELETE FROM audit_entry WHERE seq > :s", {"s": keep}),
        ("UPDATE audit_head SET seq = :s, last_hash = :h", {"s": keep, "h": kept}),
    )


def empty(session, last: int) -> None:
    _unguarded(
        session,
        ("DELETE FROM audit_entry", {}),
        ("UPDATE audit_head SET seq = 0, last_hash = :h", {"h": audit.GENESIS}),
    )


def rewrite_suffix(session, last: int) -> None:
    """Entries from last - 3 on get new content and every hash after them is recomputed."""
    rows = session.exec(
        select(AuditEntry).where(AuditEntry.seq >= last - 3).order_by(AuditEntry.seq)
    ).all()
    session.rollback()
    statements, prev = [], rows[0].prev_hash
    for r in rows:
        data = json.dumps({"i": "forged"})
        digest = audit._digest(prev, r.seq, r.at, r.actor_id, r.action, r.subject, data)
        statements.append(
            ("UPDATE audit_entry SET data = :d, prev_hash = :p, hash = :h WHERE seq = :s",
             {"d": data, "p": prev, "h": digest, "s": r.seq})
        )  # fmt: skip
        prev = digest
    statements.append(("UPDATE audit_head SET last_hash = :h", {"h": prev}))
    _unguarded(session, *statements)


ATTACKS = {"cut end": cut_end, "emptied": empty, "rewritten suffix": rewrite_suffix}


@pytest.mark.parametrize("attack", ATTACKS)
def test_wmi_audit_verify_finds_what_the_chain_alone_cannot(wmi_env, session, clock, attack):
    _append(session, clock, 6)
    written = runner.invoke(cli, ["audit", "checkpoint"])
    assert written.exit_code == 0 and "Checkpoint written" in written.output, written.output
    intact = runner.invoke(cli, ["audit", "verify"])
    assert intact.exit_code == 0 and "matches the checkpoint" in intact.output, intact.output
    ATTACKS[attack](session, _head(session))
    assert audit.verify(session).ok, "the chain alone is fooled (what F-12 found)"
    found = runner.invoke(cli, ["audit", "verify"], env={"COLUMNS": "200"})
    assert found.exit_code == 1, found.output
    assert "checkpoint of" in found.output


def test_a_checkpoint_not_signed_by_this_server_is_reported(wmi_env, session, clock):
    _append(session, clock, 3)
    path = wmi_env.audit_checkpoints
    forged = anchor.line(anchor.signing_key("another-key"), anchor.Checkpoint(1, "0" * 64, "x"))
    path.write_text(forged)
    report = audit.verify_all(session, wmi_env)
    assert not report.ok
    assert report.problems == (f"checkpoint line 1 of {path} is not signed with this server's key",)


def test_the_sweep_writes_a_checkpoint_only_when_the_log_grew_and_verified(
    session, settings, clock
):
    _append(session, clock, 4)
    first = run_sweep(settings, clock=clock)
    assert first.audit_checkpoint == _head(session) and not first.audit_problems
    assert run_sweep(settings, clock=clock).audit_checkpoint is None  # nothing new
    _append(session, clock, 2)
    rewrite_suffix(session, _head(session))  # from before the checkpoint on
    refused = run_sweep(settings, clock=clock)
    assert refused.audit_checkpoint is None and refused.audit_problems
    lines = settings.audit_checkpoints.read_text().splitlines()
    assert len(lines) == 1  # the tampered log was never anchored


def test_the_pages_check_from_the_latest_checkpoint_on(session, settings, clock):
    _append(session, clock, 30)
    _, written = audit.checkpoint(session, settings, now=clock())
    _append(session, clock, 3)
    recent = audit.verify_recent(session, settings)
    assert recent.ok and recent.anchor == written
    assert recent.checked == 4  # the checkpoint's entry and the three after it
    assert recent.entries == written.seq + 3 == audit.verify(session).entries
    # a changed entry before the checkpoint is the full walk's to find (wmi audit verify)
    _unguarded(session, ("UPDATE audit_entry SET data = '{}' WHERE seq = :s", {"s": 5}))
    assert audit.verify_recent(session, settings).ok
    assert "entry #5: its content was changed" in audit.verify_all(session, settings).problems[0]


def test_the_admin_dashboard_reports_a_cut_end(client, session, settings, clock):
    admin = make_admin(session)
    sign_in(client, admin)
    _append(session, clock, 5)
    run_sweep(settings, clock=clock)
    page = client.get("/admin")
    assert "is intact: it still ends" in page.text, page.text
    clock.advance(seconds=2)
    cut_end(session, _head(session))
    for path in ("/admin", "/admin/audit"):
        page = client.get(path)
        assert "The audit log has been tampered with" in page.text, path
        assert "checkpoint of" in page.text, path
    api = client.get("/api/v1/admin/audit/verify").json()
    assert api["ok"] is False and api["checkpoint_seq"] is not None
