"""What the QTI tests share: the schema (compiled once per session), packages in memory."""

import importlib.util
import io
import zipfile
from pathlib import Path

from lxml import etree
from sqlalchemy import text
from sqlmodel import Session, func, select

from app.itembank import files
from app.itembank.models import Item

REPO = Path(__file__).resolve().parents[2]
QTI_SHARED = REPO.parent / "shared" / "interop" / "qti"  # 1EdTech's schemas, never copied here


def load_checker():
    """The shared folder's check.py (its resolver maps the schemas' imports to local files)."""
    path = QTI_SHARED / "check.py"
    assert path.is_file(), f"the QTI schemas are expected in {QTI_SHARED} (see its README)"
    spec = importlib.util.spec_from_file_location("qti_check", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def canonical(xml: bytes) -> str:
    """C14N 2.0 with insignificant whitespace between elements removed."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    return etree.tostring(etree.fromstring(xml, parser), method="c14n2")


def zip_of(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def item_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Item)).one()


def empty_the_bank(session: Session) -> None:
    """A fresh copy of the test database with no items (nothing refers to them yet)."""
    session.execute(text("DELETE FROM item_version"))
    session.execute(text("DELETE FROM item"))
    session.commit()


def facts(settings) -> dict[str, files.Fact]:
    catalogue = files.read_facts(settings.banks_dir, [])
    assert catalogue
    return catalogue
