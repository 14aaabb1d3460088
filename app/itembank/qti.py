"""QTI 3.0 exchange: export a filtered set of items as a content package; import a package.

The mapping is in docs/QTI.md. Export writes the items' current versions (qti_write); import
opens the package without trusting it (qti_package: a package with any problem is refused as a
whole), reads each item (qti_read: an item the bank cannot hold is skipped with the reason) and
stores the rest as draft items through the bank loader's own code (service.store_item), in one
transaction: a package is imported entirely or not at all.
"""

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from app.core import audit, db
from app.core.errors import InvalidInput
from app.itembank import bank_export, files, qti_package, qti_read, qti_write, service
from app.itembank.models import Item, ItemVersion

STATUSES = ("draft", "review", "approved", "pretest", "operational", "retired")
CODE = re.compile(r"^(CAWM|WMP|CWA)-[A-Z0-9]{1,3}-\d{3}$")
FIRST_IMPORTED_NUMBER = 800  # codes given to items from elsewhere: <track>-<domain>-8xx


class PackageRefused(InvalidInput):
    """The package was refused as a whole (its report says why); nothing was imported."""

    code = "package_refused"


@dataclass(frozen=True)
class Filters:
    """Which items an export holds: one track, narrowed by pool, status, domain or fact."""

    track: str
    pool: str | None = None
    status: str | None = None
    domain: str | None = None
    fact: str | None = None

    def check(self) -> "Filters":
        if self.track not in ("CAWM", "WMP", "CWA"):
            raise InvalidInput(f"There is no track '{self.track}' (CAWM, WMP or CWA).")
        if self.pool is not None and self.pool not in files.POOLS:
            raise InvalidInput(f"There is no pool '{self.pool}' ({', '.join(files.POOLS)}).")
        if self.status is not None and self.status not in STATUSES:
            raise InvalidInput(f"There is no status '{self.status}' ({', '.join(STATUSES)}).")
        return self


def selected(session: Session, filters: Filters) -> list[tuple[Item, ItemVersion]]:
    """The filtered items with their current versions, in the order they were first stored."""
    query = (
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.track == filters.track)
    )
    if filters.pool:
        query = query.where(Item.pool == filters.pool)
    if filters.status:
        query = query.where(Item.status == filters.status)
    if filters.domain:
        query = query.where(Item.domain == filters.domain)
    if filters.fact:
        query = query.where(ItemVersion.fact == filters.fact)
    return [(i, v) for i, v in session.exec(query.order_by(Item.id)).all()]


def export_package(session: Session, filters: Filters) -> tuple[bytes, int]:
    """The QTI 3.0 content package of the filtered items, and how many it holds."""
    rows = selected(session, filters.check())
    return package_of(rows, filters.track), len(rows)


def package_of(rows: list[tuple[Item, ItemVersion]], label: str) -> bytes:
    """The QTI 3.0 content package of these items (their current versions), in this order."""
    entries = [(bank_export.item_entry(i, v), i.pool) for i, v in rows]
    digest = hashlib.sha256(" ".join(e["id"] for e, _ in entries).encode()).hexdigest()
    return qti_write.package(entries, f"wmi-{label}-{digest[:16]}")


@dataclass(frozen=True)
class Defaults:
    """Fields for items that arrive without the bank's metadata (from another system)."""

    track: str | None = None
    pool: str = "exam"
    domain: str | None = None
    module: str | None = None
    fact: str | None = None
    level: str | None = None
    sources: tuple[str, ...] = ()


@dataclass
class ItemOutcome:
    identifier: str
    outcome: str  # imported | unchanged | skipped
    code: str | None = None
    reason: str = ""


@dataclass
class ImportReport:
    package: str
    refused: str | None = None
    items: list[ItemOutcome] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        counts = {k: self.count(k) for k in ("imported", "unchanged", "skipped")}
        return {**asdict(self), **counts}


def _fields(content: qti_read.Content, meta: dict[str, Any] | None, d: Defaults) -> dict:
    """The bank fields of one item: its own metadata first, then the import's defaults."""
    given = meta or {}
    fields: dict[str, Any] = {
        "track": given.get("track", d.track),
        "pool": given.get("pool", d.pool),
        "domain": given.get("domain", d.domain),
        "module": given.get("module", d.module),
        "fact": given.get("fact", d.fact),
        "level": given.get("level", d.level),
        "sources": given.get("sources", list(d.sources)),
    }
    missing = [k for k, v in fields.items() if not v]
    if missing:
        raise qti_read.Skip(
            "The package gives no " + ", ".join(missing) + " for it, and the import none."
        )
    difficulty = int(given.get("difficulty", 3))
    irt = given.get("irt") or {
        "a": 1.0,
        "b": files.PROVISIONAL_B[difficulty],
        "c": files.PROVISIONAL_C[content.type],
        "provisional": True,
    }
    return {
        **fields,
        "version": int(given.get("version", 1)),
        "difficulty": difficulty,
        "irt": irt,
        "type": content.type,
        "stem": content.stem,
        "options": content.options,
        "key": content.keys[0] if content.type == "single" else content.keys,
        "status": "draft",
    }


def _new_code(session: Session, track: str, domain: str, taken: set[str]) -> str:
    prefix = f"{track}-{domain}-"
    used = set(session.exec(select(Item.code).where(Item.code.startswith(prefix))).all())
    for number in range(FIRST_IMPORTED_NUMBER, 1000):
        code = f"{prefix}{number:03d}"
        if code not in used and code not in taken:
            return code
    raise qti_read.Skip(f"No code is free in {prefix}800-999.")


def _bank_item(
    session: Session, resource: qti_package.Resource, root: Any, ctx: dict, taken: set[str]
) -> files.BankItem:
    meta = qti_read.read_metadata(resource.metadata)
    content = qti_read.read_content(root, resource.version, exact=meta is not None)
    fields = _fields(content, meta, ctx["defaults"])
    track, pool = fields.pop("track"), fields.pop("pool")
    identifier = root.get("identifier") or resource.identifier
    own = CODE.match(identifier) and identifier.startswith(f"{track}-")
    code = identifier if own else _new_code(session, track, str(fields["domain"]), taken)
    try:
        item = files.ItemFile.model_validate({"id": code, **fields}, context=ctx)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in exc.errors()
        )
        raise qti_read.Skip(f"Not a valid bank item: {problems}") from None
    if pool not in files.POOLS:
        raise qti_read.Skip(f"There is no pool '{pool}'.")
    return files.BankItem(pool=pool, path=Path(resource.href), item=item)


def _store(session: Session, b: files.BankItem, now: datetime) -> ItemOutcome:
    code = b.item.id
    existing = session.exec(select(Item).where(Item.code == code)).first()
    if existing is None:
        service.store_item(session, b, now)
        stored = session.exec(select(Item).where(Item.code == code)).one()
        stored.owner = "workbench"  # made in the platform: a bank load does not undo it
        session.add(stored)
        return ItemOutcome(code, "imported", code)
    current = session.get(ItemVersion, existing.current_version_id)
    if current is not None and current.digest == b.item.content_digest():
        return ItemOutcome(code, "unchanged", code, "The bank holds this item already.")
    return ItemOutcome(
        code, "skipped", code, "The bank holds another version of it; change it there."
    )


def _open(data: bytes, max_bytes: int) -> list[tuple[qti_package.Resource, Any]]:
    """The package's item resources with their parsed roots (Refused on any package problem)."""
    members = qti_package.read_members(data, max_bytes=max_bytes)
    manifest = qti_package.read_manifest(members)
    roots = [(r, qti_package.parse_xml(r.href, members[r.href])) for r in manifest.items]
    seen: set[str] = set()
    for resource, root in roots:
        identifier = root.get("identifier") or resource.identifier
        if identifier in seen:
            raise qti_package.Refused(f"Two items use the identifier '{identifier}'.")
        seen.add(identifier)
    return roots


def import_package(
    *,
    session: Session,
    data: bytes,
    name: str,
    facts: dict[str, files.Fact] | None,
    defaults: Defaults,
    max_bytes: int,
    now: datetime,
    actor_id: int | None = None,
) -> ImportReport:
    """Import a QTI 3.0 (or 2.1 choice) package: every item imported as a draft, found
    unchanged, or skipped with the reason; a refused package changes nothing."""
    report = ImportReport(package=name)
    try:
        roots = _open(data, max_bytes)
    except qti_package.Refused as exc:
        report.refused = str(exc)
        return report
    ctx = {"facts": facts, "defaults": defaults}
    taken: set[str] = set()
    for resource, root in roots:
        identifier = root.get("identifier") or resource.identifier
        try:
            b = _bank_item(session, resource, root, ctx, taken)
        except qti_read.Skip as exc:
            report.items.append(ItemOutcome(identifier, "skipped", None, str(exc)))
            continue
        taken.add(b.item.id)
        outcome = _store(session, b, now)
        outcome.identifier = identifier
        report.items.append(outcome)
    audit.record(
        session,
        action="itembank.qti_import",
        at=now,
        actor_id=actor_id,
        subject=name,
        data={k: report.count(k) for k in ("imported", "unchanged", "skipped")},
    )
    db.commit(session)
    return report
