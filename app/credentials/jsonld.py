"""JSON-LD with the contexts this project ships: an offline document loader, RDFC-1.0
canonicalisation (pyld), and the two checks that keep a signature honest."""

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld

from app.core.errors import InvalidInput

CONTEXTS_DIR = Path(__file__).parent / "contexts"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
UNDEFINED_PREFIX = "https://www.w3.org/ns/credentials/undefined-term#"

# pyld 3.3 writes these the pre-RDFC-1.0 way, so a JavaScript verifier would hash other bytes.
# Line feeds are the one exception: both escape them as \n.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class UnsafeDocument(InvalidInput):
    """The document holds text or terms that would not be signed as they read."""


@cache
def _contexts() -> dict[str, Any]:
    index = json.loads((CONTEXTS_DIR / "index.json").read_text())
    return {url: json.loads((CONTEXTS_DIR / name).read_text()) for url, name in index.items()}


def context(url: str) -> Any:
    """A shipped context document by URL (a deep copy the caller may change)."""
    try:
        return copy.deepcopy(_contexts()[url])
    except KeyError:
        raise UnsafeDocument(f"The JSON-LD context {url} is not one this service knows.") from None


def document_loader(url: str, options: dict | None = None) -> dict:
    """Serve the shipped contexts; refuse everything else (never touches the network)."""
    return {"contextUrl": None, "documentUrl": url, "document": context(url)}


def canonize(document: dict) -> str:
    """RDFC-1.0 canonical N-Quads of a JSON-LD document."""
    return jsonld.normalize(
        document,
        {
            "algorithm": "URDNA2015",
            "format": "application/n-quads",
            "documentLoader": document_loader,
        },
    )


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _undefined(expanded: Any, found: set[str]) -> None:
    if isinstance(expanded, list):
        for item in expanded:
            _undefined(item, found)
    elif isinstance(expanded, dict):
        for key, item in expanded.items():
            if key.startswith(UNDEFINED_PREFIX):
                found.add(key.removeprefix(UNDEFINED_PREFIX))
            if key == "@type":
                types = item if isinstance(item, list) else [item]
                found.update(
                    t.removeprefix(UNDEFINED_PREFIX)
                    for t in types
                    if isinstance(t, str) and t.startswith(UNDEFINED_PREFIX)
                )
            _undefined(item, found)


def check_safe(document: dict) -> None:
    """Refuse control characters and any term or type the document's contexts do not define."""
    for text in _strings(document):
        if CONTROL.search(text):
            raise UnsafeDocument(
                "The credential holds a control character, which cannot be signed portably."
            )
    probe = dict(document)
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts:
        raise UnsafeDocument("The credential has no @context list.")
    # Appending the VC 2.0 "undefined terms" @vocab turns every term the real contexts would
    # silently drop into a recognisable IRI instead.
    probe["@context"] = [*contexts, UNDEFINED_TERMS]
    expanded = jsonld.expand(probe, {"documentLoader": document_loader})
    found: set[str] = set()
    _undefined(expanded, found)
    if found:
        names = ", ".join(sorted(found))
        raise UnsafeDocument(f"The credential uses terms its contexts do not define: {names}.")
