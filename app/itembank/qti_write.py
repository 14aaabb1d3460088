"""Writing QTI 3.0: one qti-assessment-item per bank item, and the package's imsmanifest.xml.

Pure functions over bank entries (the dicts of bank_export.item_entry, plus the item's pool);
docs/QTI.md gives the mapping. The output is deterministic (no dates, no random identifiers), so
exporting the same items twice gives the same bytes.
"""

import io
import zipfile
from typing import Any

from lxml import etree

from app.itembank.files import LETTERS

QTI3 = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
QTI3_XSD = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0p1_v1p0.xsd"
CP = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
WMI = "urn:x-wmi-certify:item-metadata:1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ITEM_TYPE_3 = "imsqti_item_xmlv3p0"
CARDINALITY = {"single": "single", "multiple": "multiple", "ordering": "ordered"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same items give the same package bytes


def _q(tag: str) -> str:
    return f"{{{QTI3}}}{tag}"


def _sub(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    element = etree.SubElement(parent, _q(tag), {k.replace("_", "-"): v for k, v in attrs.items()})
    if text is not None:
        element.text = text
    return element


def _value(parent: Any, base_type: str, value: str) -> None:
    _sub(parent, "qti-base-value", value, base_type=base_type)


def _response_processing(root: Any, entry: dict[str, Any], letters: list[str]) -> None:
    """SCORE 1 when the response matches the key, else 0; FEEDBACK names the rationales to
    show: the chosen options' (choice), every option's (ordering)."""
    rp = _sub(root, "qti-response-processing")
    condition = _sub(rp, "qti-response-condition")
    when = _sub(condition, "qti-response-if")
    match = _sub(when, "qti-match")
    _sub(match, "qti-variable", identifier="RESPONSE")
    _sub(match, "qti-correct", identifier="RESPONSE")
    _value(_sub(when, "qti-set-outcome-value", identifier="SCORE"), "float", "1")
    otherwise = _sub(condition, "qti-response-else")
    _value(_sub(otherwise, "qti-set-outcome-value", identifier="SCORE"), "float", "0")
    feedback = _sub(_sub(rp, "qti-set-outcome-value", identifier="FEEDBACK"), "qti-multiple")
    if entry["type"] == "ordering":
        for letter in letters:
            _value(feedback, "identifier", letter)
    else:
        _sub(feedback, "qti-variable", identifier="RESPONSE")


def item_xml(entry: dict[str, Any]) -> bytes:
    """The qti-assessment-item of one bank entry (stem, options, key, rationales)."""
    root = etree.Element(
        _q("qti-assessment-item"),
        {
            f"{{{XSI}}}schemaLocation": f"{QTI3} {QTI3_XSD}",
            "identifier": entry["id"],
            "title": entry["id"],
            "adaptive": "false",
            "time-dependent": "false",
            f"{{{XML_NS}}}lang": "en",
        },
        nsmap={None: QTI3, "xsi": XSI},
    )
    letters = list(LETTERS[: len(entry["options"])])
    keys = [entry["key"]] if isinstance(entry["key"], str) else list(entry["key"])
    response = _sub(
        root,
        "qti-response-declaration",
        identifier="RESPONSE",
        cardinality=CARDINALITY[entry["type"]],
        base_type="identifier",
    )
    correct = _sub(response, "qti-correct-response")
    for key in keys:
        _sub(correct, "qti-value", key)
    score = _sub(
        root, "qti-outcome-declaration", identifier="SCORE", cardinality="single", base_type="float"
    )
    _sub(_sub(score, "qti-default-value"), "qti-value", "0")
    _sub(
        root,
        "qti-outcome-declaration",
        identifier="FEEDBACK",
        cardinality="multiple",
        base_type="identifier",
    )
    body = _sub(root, "qti-item-body")
    if entry["type"] == "ordering":
        interaction = _sub(body, "qti-order-interaction", response_identifier="RESPONSE")
    else:
        interaction = _sub(
            body,
            "qti-choice-interaction",
            response_identifier="RESPONSE",
            max_choices="1" if entry["type"] == "single" else "0",
        )
    _sub(interaction, "qti-prompt", entry["stem"])
    for letter, option in zip(letters, entry["options"], strict=True):
        choice = _sub(interaction, "qti-simple-choice", option["text"], identifier=letter)
        _sub(
            choice,
            "qti-feedback-inline",
            option["rationale"],
            outcome_identifier="FEEDBACK",
            identifier=letter,
            show_hide="show",
        )
    _response_processing(root, entry, letters)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def item_path(code: str) -> str:
    return f"items/{code}.xml"


def _metadata(parent: Any, entry: dict[str, Any], pool: str) -> None:
    """The bank's own fields, in the WMI namespace inside the resource's metadata."""
    item = etree.SubElement(
        parent,
        f"{{{WMI}}}item",
        {
            "track": entry["id"].split("-", 1)[0],
            "pool": pool,
            "domain": entry["domain"],
            "module": entry["module"],
            "level": entry["level"],
            "fact": entry["fact"] or "",
            "version": str(entry["version"]),
            "difficulty": str(entry["difficulty"]),
        },
    )
    irt = entry["irt"]
    etree.SubElement(
        item,
        f"{{{WMI}}}irt",
        {
            "a": repr(float(irt["a"])),
            "b": repr(float(irt["b"])),
            "c": repr(float(irt["c"])),
            "provisional": "true" if irt["provisional"] else "false",
        },
    )
    for source in entry["sources"]:
        etree.SubElement(item, f"{{{WMI}}}source").text = source


def manifest_xml(entries: list[tuple[dict[str, Any], str]], identifier: str) -> bytes:
    """imsmanifest.xml: one item resource per (entry, pool), with its WMI metadata."""
    root = etree.Element(
        f"{{{CP}}}manifest",
        {"identifier": identifier},
        nsmap={None: CP, "wmi": WMI},
    )
    meta = etree.SubElement(root, f"{{{CP}}}metadata")
    etree.SubElement(meta, f"{{{CP}}}schema").text = "QTI Package"
    etree.SubElement(meta, f"{{{CP}}}schemaversion").text = "3.0.0"
    etree.SubElement(root, f"{{{CP}}}organizations")
    resources = etree.SubElement(root, f"{{{CP}}}resources")
    for entry, pool in entries:
        href = item_path(entry["id"])
        resource = etree.SubElement(
            resources,
            f"{{{CP}}}resource",
            {"identifier": entry["id"], "type": ITEM_TYPE_3, "href": href},
        )
        _metadata(etree.SubElement(resource, f"{{{CP}}}metadata"), entry, pool)
        etree.SubElement(resource, f"{{{CP}}}file", {"href": href})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def package(entries: list[tuple[dict[str, Any], str]], identifier: str) -> bytes:
    """The content package (zip): imsmanifest.xml first, then items/<code>.xml."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        members = [("imsmanifest.xml", manifest_xml(entries, identifier))]
        members += [(item_path(e["id"]), item_xml(e)) for e, _ in entries]
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()
