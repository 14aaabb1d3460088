"""What the administrator's pages cost to check the audit chain: the whole walk (before issue 15,
F-13) against the check from the latest signed checkpoint (now), on one SQLite database of
ENTRIES entries with NEW entries written since the checkpoint (one sweep's worth).

    .venv/bin/python bench/bench_audit_verify.py [ENTRIES] [NEW]

Prints the median of five runs of each and their ratio; the same functions the pages call
(app.core.audit.verify, app.core.audit.verify_recent) on the same Settings object.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlmodel import Session  # noqa: E402

from app.core import audit  # noqa: E402
from app.core.config import Settings  # noqa: E402
from app.core.db import make_engine, migrate  # noqa: E402


def _append(session: Session, start: datetime, n: int) -> None:
    for i in range(n):
        audit.record(
            session,
            action="bench.event",
            at=start + timedelta(milliseconds=i),
            actor_id=i % 50,
            subject=f"attempt:{i // 30}",
            data={"position": i % 30},
        )
        if i % 500 == 499:
            session.commit()
    session.commit()  # fmt: skip


def _median(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        report = fn()
        times.append(time.perf_counter() - t0)
        assert report.ok, report.problems
    return statistics.median(times)


def main() -> None:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 25_700
    new = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(var_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db",
                            secret_key="bench-" + "x" * 40, environment="test")  # fmt: skip
        migrate(settings)
        engine = make_engine(settings.database_url)
        start = datetime(2026, 12, 6, tzinfo=UTC)
        with Session(engine) as session:
            _append(session, start, entries - new)
            audit.checkpoint(session, settings, now=start)
            _append(session, start + timedelta(hours=1), new)
            whole = _median(lambda: audit.verify(session))
            recent = _median(lambda: audit.verify_recent(session, settings))
            checked = audit.verify_recent(session, settings).checked
        engine.dispose()
    print(f"{entries} entries, {new} since the checkpoint")
    print(f"whole walk (pages before):        {whole * 1000:8.1f} ms (median of 5)")
    print(f"from the checkpoint (pages now):  {recent * 1000:8.1f} ms, {checked} entries hashed")
    print(f"ratio now / before: {recent / whole:.4f}")


if __name__ == "__main__":
    main()
