"""Opening an uploaded content package without trusting it: sizes, paths, XML, the manifest.

Everything here refuses the whole package (raises Refused) on the first problem, before any
item is looked at: a package is never half read. Nothing is written to disk; members are read
into memory under a byte budget that does not trust the sizes the zip declares.
"""

import io
import posixpath
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from lxml import etree

MANIFEST = "imsmanifest.xml"
MAX_MEMBERS = 20_000
ITEM_TYPES = {"imsqti_item_xmlv3p0": "3.0", "imsqti_item_xmlv2p1": "2.1"}


class Refused(Exception):
    """The package as a whole cannot be read; the message says why, in plain words."""


@dataclass(frozen=True)
class Resource:
    """One item resource of the manifest: its identifier, file, QTI version and metadata."""

    identifier: str
    href: str
    version: str
    metadata: Any  # the resource's <metadata> element, or None


@dataclass
class Manifest:
    items: list[Resource] = field(default_factory=list)
    others: list[tuple[str, str]] = field(default_factory=list)  # (identifier, type) not items


def _safe_name(name: str) -> str:
    """The member name if it stays inside the package, else Refused."""
    if (
        not name
        or "\\" in name
        or name.startswith("/")
        or (len(name) > 1 and name[1] == ":")
        or any(part == ".." for part in name.split("/"))
    ):
        raise Refused(f"The path '{name}' climbs out of the package (absolute or with '..').")
    return posixpath.normpath(name)


def read_members(data: bytes, *, max_bytes: int) -> dict[str, bytes]:
    """The package's files by normalised name; Refused when it is not a zip, too big (packed or
    unpacked, counted as read, whatever the headers claim), or a name climbs out."""
    if len(data) > max_bytes:
        raise Refused(
            f"The package is {len(data)} bytes, over the limit of {max_bytes} (WMI_QTI_MAX_BYTES)."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Refused("The upload is not a zip file (a QTI content package is a zip).") from None
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise Refused(f"The package holds {len(infos)} files, more than {MAX_MEMBERS}.")
    members: dict[str, bytes] = {}
    budget = max_bytes
    for info in infos:
        name = _safe_name(info.filename)
        if info.is_dir():
            continue
        if name in members:
            raise Refused(f"The package holds '{name}' twice.")
        if info.flag_bits & 0x1:
            raise Refused(f"'{name}' is encrypted.")
        if info.file_size > budget:
            raise Refused(_too_big(max_bytes))
        try:
            with archive.open(info) as stream:
                content = stream.read(budget + 1)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise Refused(f"'{name}' cannot be unpacked: {exc}") from None
        if len(content) > budget:
            raise Refused(_too_big(max_bytes))
        budget -= len(content)
        members[name] = content
    return members


def _too_big(max_bytes: int) -> str:
    return f"Unpacked, the package is over the limit of {max_bytes} bytes (WMI_QTI_MAX_BYTES)."


def _parser() -> Any:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def _no_dtd(name: str, data: bytes) -> None:
    """Refuse a DTD as soon as one starts, before any of its declarations is read (expat reads
    the document's own encoding and stops at the DOCTYPE: nothing is expanded or fetched)."""

    def refuse(*_: Any) -> None:
        raise Refused(f"'{name}' declares a DTD; DTDs and entities are refused.")

    scanner = expat.ParserCreate()
    scanner.StartDoctypeDeclHandler = refuse
    scanner.EntityDeclHandler = refuse
    try:
        scanner.Parse(data, True)
    except expat.ExpatError as exc:
        raise Refused(f"'{name}' is not well-formed XML: {exc}") from None


def parse_xml(name: str, data: bytes) -> Any:
    """The document's root element; Refused when it is not well-formed or has a DTD or an
    entity (never expanded, never fetched: a DTD is refused before it is read, and the parser
    loads no DTD, resolves no entity and opens no file or URL)."""
    _no_dtd(name, data)
    try:
        tree = etree.parse(io.BytesIO(data), _parser())
    except etree.XMLSyntaxError as exc:
        raise Refused(f"'{name}' is not well-formed XML: {exc.msg}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Refused(f"'{name}' declares a DTD; DTDs and entities are refused.")
    root = tree.getroot()
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise Refused(f"'{name}' uses an entity; DTDs and entities are refused.")
    return root


def local(element: Any) -> str:
    """An element's name without its namespace."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def children(element: Any, name: str) -> list[Any]:
    return [c for c in element if local(c) == name]


def _href(resource: Any) -> str:
    href = resource.get("href")
    if not href:
        files = children(resource, "file")
        href = files[0].get("href") if files else None
    if not href:
        raise Refused(f"The resource '{resource.get('identifier')}' names no file.")
    return _safe_name(href)


def read_manifest(members: dict[str, bytes]) -> Manifest:
    """The item resources the manifest lists; Refused when the manifest is missing or broken,
    an identifier is used twice, or a file it names is not in the package."""
    if MANIFEST not in members:
        raise Refused("The package has no imsmanifest.xml at its root.")
    root = parse_xml(MANIFEST, members[MANIFEST])
    if local(root) != "manifest":
        raise Refused("imsmanifest.xml is not an IMS content package manifest.")
    manifest = Manifest()
    seen: set[str] = set()
    for resources in children(root, "resources"):
        for resource in children(resources, "resource"):
            identifier = resource.get("identifier") or ""
            if identifier in seen:
                raise Refused(f"The manifest uses the identifier '{identifier}' twice.")
            seen.add(identifier)
            kind = resource.get("type") or ""
            version = next((v for t, v in ITEM_TYPES.items() if kind.startswith(t)), None)
            if version is None:
                manifest.others.append((identifier, kind))
                continue
            href = _href(resource)
            for f in children(resource, "file"):
                if _safe_name(f.get("href") or "") not in members:
                    raise Refused(
                        f"The manifest names '{f.get('href')}', which the package does not hold."
                    )
            if href not in members:
                raise Refused(f"The manifest names '{href}', which the package does not hold.")
            metadata = children(resource, "metadata")
            manifest.items.append(
                Resource(identifier, href, version, metadata[0] if metadata else None)
            )
    return manifest
