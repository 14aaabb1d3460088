"""Reading one QTI item (3.0, or 2.1 choice) and its manifest metadata into bank fields.

Pure functions over parsed elements (qti_package parses them safely). What the bank cannot hold
raises Skip with the reason, which the import reports for that item alone.
"""

from dataclasses import dataclass
from typing import Any

from app.itembank.files import LETTERS
from app.itembank.qti_package import children, local
from app.itembank.qti_write import WMI

NAMES = {
    "3.0": {
        "item": "qti-assessment-item",
        "response": "qti-response-declaration",
        "correct": "qti-correct-response",
        "value": "qti-value",
        "body": "qti-item-body",
        "choice": "qti-choice-interaction",
        "order": "qti-order-interaction",
        "prompt": "qti-prompt",
        "option": "qti-simple-choice",
        "inline": "qti-feedback-inline",
        "modal": "qti-modal-feedback",
        "response_id": "response-identifier",
        "max": "max-choices",
    },
    "2.1": {
        "item": "assessmentItem",
        "response": "responseDeclaration",
        "correct": "correctResponse",
        "value": "value",
        "body": "itemBody",
        "choice": "choiceInteraction",
        "order": "",  # QTI 2.1 order items are not imported
        "prompt": "prompt",
        "option": "simpleChoice",
        "inline": "feedbackInline",
        "modal": "modalFeedback",
        "response_id": "responseIdentifier",
        "max": "maxChoices",
    },
}
INLINE_MARKUP = {"span", "em", "strong", "b", "i", "u", "p", "div", "sub", "sup"}


class Skip(Exception):
    """This item cannot become a bank item; the message says why."""


@dataclass(frozen=True)
class Content:
    """What a candidate sees and is scored on, in the bank's terms (letters A, B, ...)."""

    type: str
    stem: str
    options: list[dict[str, str]]
    keys: list[str]


def _text(element: Any, names: dict[str, str], where: str, exact: bool) -> str:
    """The element's text without its feedback; markup beyond simple inline text is skipped."""
    parts = [element.text or ""]
    for child in element:
        name = local(child)
        if name and name != names["inline"]:
            if name not in INLINE_MARKUP:
                raise Skip(f"{where} holds <{name}>, which a bank item cannot hold.")
            parts.append(_text(child, names, where, exact))
        parts.append(child.tail or "")
    text = "".join(parts)
    return text if exact else " ".join(text.split())


def _interaction(body: Any, names: dict[str, str]) -> Any:
    found = [e for e in body.iter() if local(e).lower().endswith("interaction")]
    if len(found) != 1:
        raise Skip(f"The item has {len(found)} interactions; a bank item has exactly one.")
    kind = local(found[0])
    if kind not in (names["choice"], names["order"]):
        raise Skip(f"<{kind}> is not imported (choice and order interactions only).")
    return found[0]


def _rationale(root: Any, option: Any, names: dict[str, str], exact: bool) -> str | None:
    identifier = option.get("identifier")
    inline = [e for e in option.iter() if local(e) == names["inline"]]
    if inline:
        return _text(inline[0], names, f"The feedback of option {identifier}", exact)
    for modal in children(root, names["modal"]):
        if modal.get("identifier") == identifier:
            return _text(modal, names, f"The feedback of option {identifier}", exact)
    return None


def _stem(body: Any, interaction: Any, names: dict[str, str], exact: bool) -> str:
    prompts = children(interaction, names["prompt"])
    if prompts:
        return _text(prompts[0], names, "The prompt", exact)
    before = []
    for element in body:
        if element is interaction or interaction in element.iterdescendants():
            break
        before.append(_text(element, names, "The item body", exact))
    return "\n\n".join(t for t in before if t.strip())


def _type(interaction: Any, declaration: Any, names: dict[str, str]) -> str:
    cardinality = declaration.get("cardinality")
    if local(interaction) == names["order"]:
        if cardinality != "ordered":
            raise Skip("An order interaction needs an ordered response.")
        return "ordering"
    if cardinality == "single":
        return "single"
    if cardinality == "multiple":
        return "multiple"
    raise Skip(f"A choice response of cardinality '{cardinality}' is not imported.")


def read_content(root: Any, version: str, *, exact: bool) -> Content:
    """Stem, options with their rationales, key and type of an item element."""
    names = NAMES[version]
    if local(root) != names["item"]:
        raise Skip(f"<{local(root)}> is not a QTI {version} assessment item.")
    bodies = children(root, names["body"])
    if not bodies:
        raise Skip("The item has no body.")
    interaction = _interaction(bodies[0], names)
    response_id = interaction.get(names["response_id"])
    declarations = [
        d for d in children(root, names["response"]) if d.get("identifier") == response_id
    ]
    if not declarations:
        raise Skip(f"The interaction's response '{response_id}' is not declared.")
    kind = _type(interaction, declarations[0], names)
    choices = children(interaction, names["option"])
    letters = {c.get("identifier"): LETTERS[i] for i, c in enumerate(choices[: len(LETTERS)])}
    options = []
    for choice in choices:
        where = f"Option {choice.get('identifier')}"
        rationale = _rationale(root, choice, names, exact)
        if rationale is None:
            raise Skip(f"{where} has no feedback to keep as its rationale.")
        options.append({"text": _text(choice, names, where, exact), "rationale": rationale})
    keys = []
    for correct in children(declarations[0], names["correct"]):
        for value in children(correct, names["value"]):
            if (value.text or "").strip() not in letters:
                raise Skip(f"The correct response names '{value.text}', which is not an option.")
            keys.append(letters[(value.text or "").strip()])
    if not keys:
        raise Skip("The item declares no correct response.")
    return Content(kind, _stem(bodies[0], interaction, names, exact), options, keys)


def read_metadata(metadata: Any) -> dict[str, Any] | None:
    """The bank's fields from the resource's WMI metadata, or None when it has none."""
    if metadata is None:
        return None
    found = [e for e in metadata.iter() if e.tag == f"{{{WMI}}}item"]
    if not found:
        return None
    item = found[0]
    fields: dict[str, Any] = {
        k: item.get(k)
        for k in ("track", "pool", "domain", "module", "level", "fact", "version", "difficulty")
        if item.get(k)
    }
    irt = [e for e in item if e.tag == f"{{{WMI}}}irt"]
    if irt:
        fields["irt"] = {
            "a": irt[0].get("a"),
            "b": irt[0].get("b"),
            "c": irt[0].get("c"),
            "provisional": irt[0].get("provisional") != "false",
        }
    sources = [e.text or "" for e in item if e.tag == f"{{{WMI}}}source"]
    if sources:
        fields["sources"] = sources
    return fields
