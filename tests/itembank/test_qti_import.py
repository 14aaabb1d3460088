"""QTI import of items from elsewhere: QTI 2.1 choice items, defaults, per-item reports."""

from datetime import UTC, datetime

from sqlmodel import select

from app.itembank import qti
from app.itembank.models import Item, ItemVersion
from tests.itembank.qti_helpers import facts, item_count, zip_of

LATER = datetime(2026, 11, 26, tzinfo=UTC)
QTI21 = "http://www.imsglobal.org/xsd/imsqti_v2p1"
DEFAULTS = qti.Defaults(
    track="CWA",
    pool="pretest",
    domain="1",
    module="A1",
    fact="wa.practice",
    level="apply",
    sources=("WA",),
)


def manifest(*resources: tuple[str, str, str]) -> str:
    body = "".join(
        f'<resource identifier="{i}" type="{t}" href="{h}"><file href="{h}"/></resource>'
        for i, t, h in resources
    )
    return (
        '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="M1">'
        f"<organizations/><resources>{body}</resources></manifest>"
    )


def choice21(
    identifier: str,
    *,
    cardinality="single",
    correct=("ChoiceB",),
    feedback=True,
    interaction="choiceInteraction",
    options=4,
) -> str:
    options = [
        "Every team keeps its own intake list",
        "One shared intake with stated owners",
        "Requests arrive by any channel at all",
        "Managers settle each request by hand",
        "Requests wait until the end of the month",
    ][:options]
    choices = "".join(
        f'<simpleChoice identifier="Choice{"ABCDE"[n]}">{text}'
        + (
            f'<feedbackInline outcomeIdentifier="FEEDBACK" identifier="Choice{"ABCDE"[n]}" '
            f'showHide="show">Why option {"ABCDE"[n]} is or is not right.</feedbackInline>'
            if feedback
            else ""
        )
        + "</simpleChoice>"
        for n, text in enumerate(options)
    )
    values = "".join(f"<value>{c}</value>" for c in correct)
    return (
        f'<assessmentItem xmlns="{QTI21}" identifier="{identifier}" title="Intake" '
        'adaptive="false" timeDependent="false">'
        f'<responseDeclaration identifier="RESPONSE" cardinality="{cardinality}" '
        f'baseType="identifier"><correctResponse>{values}</correctResponse>'
        "</responseDeclaration><itemBody>"
        f'<{interaction} responseIdentifier="RESPONSE" maxChoices="1" shuffle="false">'
        "<prompt>A clinic's requests reach five people by five routes.\n   Which change "
        f"helps first?</prompt>{choices}</{interaction}></itemBody></assessmentItem>"
    )


def import_(session, settings, data, defaults=DEFAULTS):
    return qti.import_package(
        session=session,
        data=data,
        name="other.zip",
        facts=facts(settings),
        defaults=defaults,
        max_bytes=settings.qti_max_bytes,
        now=LATER,
    )


def test_qti_21_choice_items_become_drafts_and_the_rest_are_skipped_with_a_reason(
    session, settings
):
    t = "imsqti_item_xmlv2p1"
    data = zip_of(
        {
            "imsmanifest.xml": manifest(
                ("R1", t, "one.xml"),
                ("R2", t, "many.xml"),
                ("R3", t, "bare.xml"),
                ("R4", t, "text.xml"),
                ("R5", "webcontent", "style.css"),
            ),
            "one.xml": choice21("intake-1"),
            "many.xml": choice21(
                "intake-2", cardinality="multiple", correct=("ChoiceB", "ChoiceD"), options=5
            ),
            "bare.xml": choice21("intake-3", feedback=False),
            "text.xml": choice21("intake-4", interaction="textEntryInteraction"),
            "style.css": "p {}",
        }
    )
    before = item_count(session)
    report = import_(session, settings, data)
    outcomes = {i.identifier: i for i in report.items}
    assert report.refused is None and set(outcomes) == {
        "intake-1",
        "intake-2",
        "intake-3",
        "intake-4",
    }
    assert (outcomes["intake-1"].outcome, outcomes["intake-1"].code) == ("imported", "CWA-1-800")
    assert outcomes["intake-2"].reason == ""
    assert (outcomes["intake-2"].outcome, outcomes["intake-2"].code) == ("imported", "CWA-1-801")
    assert outcomes["intake-3"].reason == "Option ChoiceA has no feedback to keep as its rationale."
    assert "textEntryInteraction" in outcomes["intake-4"].reason
    assert item_count(session) == before + 2
    session.expire_all()
    item, version = session.exec(
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.code == "CWA-1-801")
    ).one()
    assert (item.status, item.pool, item.module, version.fact) == (
        "draft",
        "pretest",
        "A1",
        "wa.practice",
    )
    assert (version.type, version.key) == ("multiple", ["B", "D"])
    assert (
        version.stem
        == "A clinic's requests reach five people by five routes. Which change helps first?"
    )
    assert version.options[1] == {
        "text": "One shared intake with stated owners",
        "rationale": "Why option B is or is not right.",
    }
    assert (version.a, version.b, version.c, version.provisional) == (1.0, 0.0, 0.1, True)


def test_an_item_from_elsewhere_without_the_bank_fields_is_skipped_naming_them(session, settings):
    t = "imsqti_item_xmlv2p1"
    data = zip_of({"imsmanifest.xml": manifest(("R1", t, "one.xml")), "one.xml": choice21("x")})
    report = import_(session, settings, data, defaults=qti.Defaults(track="CWA"))
    assert report.items[0].outcome == "skipped"
    assert report.items[0].reason == (
        "The package gives no domain, module, fact, level, sources for it, and the import none."
    )


def test_an_item_whose_fields_break_a_bank_rule_is_skipped_with_the_rule(session, settings):
    t = "imsqti_item_xmlv2p1"
    data = zip_of({"imsmanifest.xml": manifest(("R1", t, "one.xml")), "one.xml": choice21("x")})
    wrong = qti.Defaults(**{**DEFAULTS.__dict__, "fact": "no.such-fact"})
    before = item_count(session)
    report = import_(session, settings, data, defaults=wrong)
    assert report.items[0].outcome == "skipped"
    assert "fact 'no.such-fact' is not in the fact catalogue" in report.items[0].reason
    assert item_count(session) == before


def test_a_changed_item_the_bank_holds_is_skipped_not_overwritten(session, settings):
    data, _ = qti.export_package(session, qti.Filters(track="CWA", pool="pretest", domain="1"))
    code = "CWA-1-" + data.split(b"items/CWA-1-")[1][:3].decode()
    item = session.exec(select(Item).where(Item.code == code)).one()
    version = session.get(ItemVersion, item.current_version_id)
    version.stem += " Changed here."
    version.digest = "0" * 64
    session.add(version)
    session.commit()
    report = import_(session, settings, data)
    changed = next(i for i in report.items if i.code == code)
    assert changed.outcome == "skipped"
    assert changed.reason == "The bank holds another version of it; change it there."
    session.refresh(version)
    assert version.stem.endswith(" Changed here.")


def test_a_qti_3_item_from_elsewhere_takes_its_rationales_from_modal_feedback(session, settings):
    ns = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
    choices = "".join(
        f'<qti-simple-choice identifier="c{n}">  Step {n} of the intake  </qti-simple-choice>'
        for n in range(1, 5)
    )
    modal = "".join(
        f'<qti-modal-feedback outcome-identifier="FEEDBACK" identifier="c{n}" show-hide="show">'
        f"Step {n} belongs at position {n}.</qti-modal-feedback>"
        for n in range(1, 5)
    )
    item = (
        f'<qti-assessment-item xmlns="{ns}" identifier="order-1" title="t" '
        'time-dependent="false"><qti-response-declaration identifier="RESPONSE" '
        'cardinality="ordered" base-type="identifier"><qti-correct-response>'
        "<qti-value>c3</qti-value><qti-value>c1</qti-value><qti-value>c4</qti-value>"
        "<qti-value>c2</qti-value></qti-correct-response></qti-response-declaration>"
        "<qti-item-body><p>Put the intake steps of a new request in order.</p>"
        f'<qti-order-interaction response-identifier="RESPONSE">{choices}'
        f"</qti-order-interaction></qti-item-body>{modal}</qti-assessment-item>"
    )
    data = zip_of(
        {"imsmanifest.xml": manifest(("R1", "imsqti_item_xmlv3p0", "o.xml")), "o.xml": item}
    )
    report = import_(session, settings, data)
    assert [(i.outcome, i.code) for i in report.items] == [("imported", "CWA-1-800")]
    session.expire_all()
    item_row, version = session.exec(
        select(Item, ItemVersion)
        .join(ItemVersion, ItemVersion.id == Item.current_version_id)
        .where(Item.code == "CWA-1-800")
    ).one()
    assert (version.type, version.key) == ("ordering", ["C", "A", "D", "B"])
    assert version.stem == "Put the intake steps of a new request in order."
    assert version.options[2] == {
        "text": "Step 3 of the intake",
        "rationale": "Step 3 belongs at position 3.",
    }
    assert (item_row.status, item_row.owner) == ("draft", "workbench")
