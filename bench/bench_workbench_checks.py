"""What the bank checks cost a workbench save or view (issue 20): the per-item rules alone (the
checks before the pool-wide rules ran on save) against everything a save now runs
(`authoring.findings`: the per-item rules and the pool-wide ones of app/itembank/authoring_pool.py),
with the pool read warm (the usual case: read once per bank revision and process) and cold (the
first save after a bank load or a pool move).

    nice -n 10 .venv/bin/python bench/bench_workbench_checks.py [ITEMS_PER_TRACK]

One SQLite database migrated and loaded with the shipped content and banks, as `wmi serve` does;
the items are the first ITEMS_PER_TRACK (default 20) exam items of each track. Prints the median
time per item of each and the ratios to the per-item rules.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import update  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from app.core.clock import utcnow  # noqa: E402
from app.core.config import Settings  # noqa: E402
from app.core.db import make_engine, migrate  # noqa: E402
from app.courses import service as courses  # noqa: E402
from app.itembank import authoring, service  # noqa: E402
from app.itembank import authoring_checks as checking  # noqa: E402
from app.itembank.models import BankRevision, Item  # noqa: E402


def _per_item_rules(session, item, version, roots) -> list:
    """The checks a save ran before: the schema, the item's own rules, near-duplicates."""
    ctx = checking.context(roots.content, roots.banks)
    draft = authoring.draft_of(item, version)
    parsed, problems = checking.schema_findings(
        draft, code=item.code, version=version.version, facts=ctx.facts
    )
    if parsed is None:
        return problems
    return checking.rule_findings(session, parsed, pool=draft.pool, ctx=ctx, item_id=item.id)


def _bump(session) -> None:
    """What a bank load or a pool move does: the cached pools are read again."""
    session.execute(update(BankRevision).values(revision=BankRevision.revision + 1))
    session.commit()


def _database(folder: str) -> tuple[Settings, Engine]:
    """A SQLite database migrated and loaded with the shipped content and banks."""
    url = f"sqlite:///{folder}/bench.db"
    settings = Settings(
        var_dir=Path(folder), database_url=url, secret_key="bench-" + "x" * 40, environment="test"
    )
    migrate(settings)
    engine = make_engine(url)
    with Session(engine) as session:
        courses.load_content(session=session, root=settings.content_dir, now=utcnow())
        service.load_banks(session=session, root=settings.banks_dir, now=utcnow())
    return settings, engine


def main() -> None:
    per_track = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        settings, engine = _database(tmp)
        roots = authoring.Roots(settings.content_dir, settings.banks_dir)
        with Session(engine) as session:
            codes = [
                code
                for track in ("CAWM", "WMP", "CWA")
                for code in session.exec(
                    select(Item.code)
                    .where(Item.track == track, Item.pool == "exam", Item.status == "operational")
                    .order_by(Item.code).limit(per_track)
                ).all()
            ]  # fmt: skip
            items = [authoring.get(session, c) for c in codes]
            for item, version in items:  # warm the per-process context and the pools
                authoring.findings(session, item, version, roots)
            times: dict[str, list[float]] = {"per-item rules": [], "warm": [], "cold": []}
            for item, version in items:
                t0 = time.perf_counter()
                _per_item_rules(session, item, version, roots)
                times["per-item rules"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                authoring.findings(session, item, version, roots)
                times["warm"].append(time.perf_counter() - t0)
                _bump(session)
                t0 = time.perf_counter()
                authoring.findings(session, item, version, roots)
                times["cold"].append(time.perf_counter() - t0)
        engine.dispose()
    base = statistics.median(times["per-item rules"])
    print(f"{len(items)} exam items ({per_track} per track), median per item:")
    for name, label in (
        ("per-item rules", "per-item rules only (before)"),
        ("warm", "per-item + pool-wide, pool cached (a save now)"),
        ("cold", "per-item + pool-wide, after a bank revision bump"),
    ):
        m = statistics.median(times[name])
        print(f"  {label:<50} {m * 1000:8.1f} ms   ratio {m / base:5.2f}")


if __name__ == "__main__":
    main()
