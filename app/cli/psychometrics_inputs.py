"""The files `wmi simulate` and `wmi calibrate` read: track policies, banks, responses, anchors."""

import csv
from pathlib import Path
from typing import Any

import numpy as np
import typer
import yaml

from app.psychometrics import calibration, engine

DEFAULTS = {  # DESIGN.md section 2 and wmbok FACTS.md section 7, used when track.yaml is absent
    "CAWM": (30, 60, dict(zip("ABCDEF", (0.15, 0.20, 0.15, 0.20, 0.15, 0.15), strict=True))),
    "WMP": (40, 80, dict(zip("123456", (0.20, 0.15, 0.15, 0.20, 0.15, 0.15), strict=True))),
    "CWA": (40, 80, dict(zip("123456", (0.10, 0.15, 0.25, 0.15, 0.15, 0.20), strict=True))),
}


def load_policy(track: str, content_dir: Path = Path("content")) -> engine.CatPolicy:
    """The track's CatPolicy from content/<TRACK>/track.yaml (exam, blueprint), else defaults."""
    path = content_dir / track / "track.yaml"
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        exam = data.get("exam", {})
        blueprint = {str(d["code"]): float(d["weight"]) for d in data.get("blueprint", [])}
        return engine.CatPolicy(
            min_items=int(exam["min_items"]),
            max_items=int(exam["max_items"]),
            cut_theta=float(exam.get("cut_theta", 0.0)),
            pretest_count=int(exam.get("pretest_items", 0)),
            blueprint=blueprint,
        )
    lo, hi, blueprint = DEFAULTS[track]
    return engine.CatPolicy(min_items=lo, max_items=hi, pretest_count=5, blueprint=blueprint)


def rows_from_file(path: Path) -> list[dict[str, Any]]:
    """CSV rows as dicts, or the list a YAML file holds."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def load_bank(
    track: str, bank: Path | None, banks_dir: Path = Path("question_banks")
) -> engine.ItemPool:
    """ItemPool from --bank (CSV or YAML rows id,a,b,c,domain[,pretest]) or the track's files.

    From question_banks/<TRACK>/: exam items (retired ones ineligible) and pretest items;
    the practice pool is never loaded. Items without irt parameters are skipped.
    """
    rows: list[dict[str, Any]] = []
    if bank is not None:
        for r in rows_from_file(bank):
            pretest = str(r.get("pretest", "")).lower() in ("1", "true", "yes")
            rows.append(dict(r, pool="pretest" if pretest else "exam"))
    else:
        for pool in ("exam", "pretest"):
            for path in sorted((banks_dir / track / pool).glob("*.yaml")):
                for item in rows_from_file(path):
                    if isinstance(item, dict) and isinstance(item.get("irt"), dict):
                        rows.append({**item, **item["irt"], "pool": pool})
    if not rows:
        raise typer.BadParameter(f"no items with IRT parameters for {track}; pass --bank")
    return engine.ItemPool.from_lists(
        [str(r["id"]) for r in rows],
        [float(r["a"]) for r in rows],
        [float(r["b"]) for r in rows],
        [float(r.get("c") or 0.0) for r in rows],
        [str(r["domain"]) for r in rows],
        is_pretest=[r["pool"] == "pretest" for r in rows],
        eligible=[r.get("status", "operational") != "retired" for r in rows],
        fact=[r.get("fact") or None for r in rows],
    )


def read_responses(path: Path) -> tuple[list[str], np.ndarray]:
    """Wide CSV: first column the candidate, one column per item id; 1 / 0 / blank (missing)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [
            [float(v) if v.strip() not in ("", "NA", "nan") else np.nan for v in r[1:]]
            for r in reader
            if r
        ]
    return header[1:], np.array(rows, dtype=float)


def read_anchors(path: Path, item_ids: list[str]) -> calibration.Anchors:
    """Anchor CSV rows id,a,b,c (the operational parameters to hold fixed)."""
    given = {r["id"]: r for r in rows_from_file(path)}
    mask = np.array([i in given for i in item_ids])
    pick = [
        (float(given[i]["a"]), float(given[i]["b"]), float(given[i].get("c") or 0))
        if i in given
        else (1.0, 0.0, 0.0)
        for i in item_ids
    ]
    a, b, c = (np.array(x) for x in zip(*pick, strict=True))
    return calibration.Anchors(mask, a, b, c)
