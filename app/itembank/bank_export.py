"""The database's items written back in the question_banks/ format (`wmi bank export`).

An item's file follows from what the database holds: `<track>/<pool>/<domain>.yaml`, except the
exam pool's second set (ids numbered 200-299), which lives in `<track>/exam/<domain>-s.yaml`.
Items keep the order in which they were first loaded (their row id), so an export of a database
loaded from the shipped banks lists every file's items in the shipped order. The fact catalogue
and the checks policy live only in files: they are copied from the bank folder in use.
"""

import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from app.itembank import files
from app.itembank.models import Item, ItemVersion

SECOND_SET = range(200, 300)
COPIED = (files.FACTS_FILE, "checks.yaml")


def file_for(*, track: str, pool: str, domain: str, code: str) -> str:
    """The bank file (relative to the bank root) an item belongs in."""
    number = int(code.rsplit("-", 1)[1])
    suffix = "-s" if pool == "exam" and number in SECOND_SET else ""
    return f"{track}/{pool}/{domain}{suffix}.yaml"


def item_entry(item: Item, version: ItemVersion, *, status: str | None = None) -> dict[str, Any]:
    """One item as a bank file writes it (the keys in the order of files.ItemFile)."""
    key: str | list[str] = version.key[0] if version.type == "single" else list(version.key)
    return {
        "id": item.code,
        "version": version.version,
        "domain": item.domain,
        "module": item.module,
        "fact": version.fact,
        "level": version.level,
        "type": version.type,
        "stem": version.stem,
        "options": [{"text": o["text"], "rationale": o["rationale"]} for o in version.options],
        "key": key,
        "sources": list(version.sources),
        "difficulty": version.difficulty,
        "irt": {"a": version.a, "b": version.b, "c": version.c, "provisional": version.provisional},
        "status": status or item.status,
    }


def current_items(session: Session) -> list[tuple[Item, ItemVersion]]:
    """Every item with its current version, in the order the items were first stored."""
    query = (
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .order_by(Item.id)
    )
    return [(i, v) for i, v in session.exec(query).all()]


class _Folded(str):
    """A long text written as a folded block (`>-`), as the bank files write stems."""


class _Flow(list):
    pass


class _FlowMap(dict):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Folded, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style=">")
)
_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowMap,
    lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True),
)


def _styled(entry: dict[str, Any]) -> dict[str, Any]:
    """Plain one-line texts fold; texts with line breaks keep them (YAML picks the style)."""

    def text(value: str) -> str:
        return _Folded(value) if "\n" not in value and value == value.strip() else value

    out = dict(entry)
    out["stem"] = text(entry["stem"])
    out["options"] = [
        {"text": text(o["text"]), "rationale": text(o["rationale"])} for o in entry["options"]
    ]
    out["sources"] = _Flow(entry["sources"])
    out["irt"] = _FlowMap(entry["irt"])
    if isinstance(entry["key"], list):
        out["key"] = _Flow(entry["key"])
    return out


def dump_items(entries: list[dict[str, Any]]) -> str:
    """A bank file's text: a YAML list of items."""
    return yaml.dump(
        [_styled(e) for e in entries],
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=110,
    )


@dataclass
class ExportReport:
    items: int = 0
    files: list[str] = field(default_factory=list)


def export_banks(*, session: Session, out: Path, source: Path) -> ExportReport:
    """Write every item of the database under `out` in the question_banks/ layout, with the
    fact catalogue and checks policy copied from `source` (reads only, commits nothing)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item, version in current_items(session):
        path = file_for(track=item.track, pool=item.pool, domain=item.domain, code=item.code)
        grouped[path].append(item_entry(item, version))
    report = ExportReport()
    for relative, entries in sorted(grouped.items()):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(dump_items(entries), encoding="utf-8")
        report.items += len(entries)
        report.files.append(relative)
    for name in COPIED:
        if (source / name).is_file() and (source / name).resolve() != (out / name).resolve():
            shutil.copyfile(source / name, out / name)
    for track in sorted({r.split("/", 1)[0] for r in grouped}):
        for pool in files.POOLS:  # read_banks expects every pool folder of a track
            (out / track / pool).mkdir(parents=True, exist_ok=True)
    return report
