"""The code path of bench/bench_item_analysis.py at a small size: the bulk-built database, the
analysis as the job runs it, the charts job and a calibration run in child processes, the item
list and item pages over ASGI; items answered at random are flagged by S-X2. (No timings
asserted.)"""

import ast
import importlib.util
from datetime import UTC, datetime

from sqlmodel import Session

from app.core.config import ROOT
from app.core.db import make_engine
from app.psychops import snapshots


def _bench():
    path = ROOT / "bench" / "bench_item_analysis.py"
    spec = importlib.util.spec_from_file_location("bench_item_analysis", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_bench_at_a_small_size(tmp_path, capsys):
    bench = _bench()
    settings = bench._settings(f"sqlite:///{tmp_path / 'bench.db'}", tmp_path)
    counts = bench.build(settings, 90, 400)
    planted = capsys.readouterr().out.split("answered at random: ")[1].splitlines()[0]
    assert counts["responses"] > 400 * 35
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        snapshots.run_now(session, track="CAWM", now=datetime.now(UTC))
        snap = snapshots.latest(session, track="CAWM")
        assert snap.attempts == 400 and snap.responses == counts["responses"]
        assert sum(s.omits for s in snap.items) > 0  # 2% of the attempts expire
        misfit = {s.item for s in snap.items if "misfit (S-X2)" in s.flags}
        planted = set(ast.literal_eval(planted))
        others = [s for s in snap.items if s.n >= 50 and s.item not in planted]
        assert planted <= misfit  # every item answered at random is flagged
        assert len(misfit - planted) <= 0.15 * len(others)  # few model-true items are
        assert all(s.n == 0 or s.abc is not None for s in snap.items)
    engine.dispose()
    url = settings.database_url
    drawn, _, _, peak = bench.child("--child", "charts", url, str(tmp_path))
    assert "drew 90 of the 90 items' charts" in drawn and peak > 0  # by the job
    run, _, _, _ = bench.child("--child", "calibration", url, str(tmp_path), "full")
    assert " done " in run and "'estimated': " in run  # the platform's run, by its job runner
    timings = bench.pages(settings, 1)  # asserts 200 for every page
    assert "item list" in timings and len([k for k in timings if k.startswith("item ")]) == 5
