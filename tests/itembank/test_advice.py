"""The second issue-19 review's rules (clang, filler-short, wmi-says, and parallel-form without the
bare semicolon): each fires on its flaw and not without it; a rule checks.yaml lists as `advice`
is listed by `wmi bank check --advice` and never fails the check, and the shipped list is empty, so
every one of them fails it."""

import shutil

import yaml
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import ROOT
from app.itembank import checks, cues, rules
from tests.itembank.test_rules import FACTS, PLAIN, at, item, texts

NEW_RULES = {"clang", "filler-short", "wmi-says"}


def found(b) -> set[str]:
    return {f.rule for f in rules.item_findings(b, FACTS)}


def test_filler_short_fires_under_four_tenths_of_the_longest_single_option():
    longest = "Cap the work in progress at each stage of the studio"  # 52 characters
    short = item(options=texts(longest, "Add designers", *PLAIN[1:]))  # 13 < 0.4 x 52
    assert cues.filler_short(short) == [1]
    finding = next(f for f in rules.item_findings(at(short), FACTS) if f.rule == "filler-short")
    assert "B has 13 characters" in finding.message and "(52)" in finding.message
    fair = item(options=texts(longest, "Add two more designers", *PLAIN[1:]))  # 22 >= 20.8
    assert "filler-short" not in found(at(fair))
    multiple = item(
        type="multiple",
        key=["A", "C"],
        stem="Which two changes help most here? Select TWO.",
        options=texts(longest, "Add staff", *PLAIN),
    )
    assert "filler-short" not in found(at(multiple))  # single items only


def test_content_words_drop_stop_words_and_meet_at_a_crude_stem():
    assert cues.content_words("Which layer names the owner?") == cues.content_words(
        "a layer name of owners"
    )
    assert cues.word_stem("enter") == cues.word_stem("entry") == "ent"
    assert cues.content_words("Which of the following is true about WMI?") == set()


def test_clang_finds_the_one_option_sharing_a_stem_word_and_measures_it_against_chance():
    stem = "A claim may enter assessment before its papers are complete. What is missing?"
    keyed = item(
        stem=stem,
        options=texts(
            "A rule for entry into the assessment stage",
            "More assessors",
            "A faster tool",
            "Weekly reviews",
        ),
    )
    assert cues.lone_sharer(keyed) == 0 and "A alone shares" in cues.shared_words(keyed)
    distractor_too = item(
        stem=stem,
        options=texts("A rule for entry", "More assessors", "A faster claim tool", "Reviews"),
    )
    assert cues.lone_sharer(distractor_too) is None  # A and C share a word: no cue
    cued = [at(item(n, stem=stem, options=keyed.options)) for n in range(1, 4)]
    rate = next(r for r in cues.measure([b.item for b in cued]) if r.cue.name == "clang")
    assert (rate.items, len(rate.hits), rate.chance) == (3, 3, 0.25) and rate.exceeds(1.5)
    findings = [f for f in rules.cue_findings("WMP", "exam", cued, 1.5) if f.rule == "clang"]
    assert len(findings) == 3 and "A alone shares" in findings[0].message
    # keyed elsewhere: the lone sharer is a distractor, so no hit; a single hit within the limit
    # is listed only when the rule is advice
    spread = [at(item(n, stem=stem, options=keyed.options, key="B")) for n in range(4, 7)]
    one = cued[:1] + spread
    assert not [f for f in rules.cue_findings("WMP", "exam", one, 1.5) if f.rule == "clang"]
    listed = rules.cue_findings("WMP", "exam", one, 1.5, frozenset({"clang"}))
    assert [f.message.endswith("(within the limit)") for f in listed if f.rule == "clang"] == [True]


def test_parallel_form_does_not_count_a_bare_semicolon_as_a_reason_clause():
    verdicts = texts(
        "The partner is right, because more releases mean more flow",
        "Flow cannot be judged, because the team is new",
        "Output alone does not prove flow; steady movement to done does",
        "The partner is wrong, because releases never matter",
    )
    flow = item(options=verdicts, key="C")
    assert not cues.justified(verdicts[2]["text"])
    assert cues.odd_one_out(flow) == 2  # the key alone lacks the others' reason clause
    finding = next(f for f in rules.item_findings(at(flow), FACTS) if f.rule == "parallel-form")
    assert finding.message.endswith("ABD do; the key is the odd one out")
    plain = item(options=texts(*(t["text"].replace(", because", " as") for t in verdicts)))
    assert "parallel-form" not in found(at(plain))


def test_wmi_says_fires_on_wmp_and_cwa_exam_stems_that_ask_what_wmi_says():
    for stem in (
        "Change requests stop three times. Which effects does WMI most associate with it?",
        "An architect must choose standards for two needs. How does WMI split these?",
        "According to WMI, which layer should a team fix first when rework grows?",
        "What does WMI say an agent needs before it runs a workflow?",
    ):
        for track in ("WMP", "CWA"):
            assert "wmi-says" in found(at(item(track=track, stem=stem))), stem
        assert "wmi-says" not in found(at(item(track="CAWM", stem=stem)))  # recall is CAWM's level
        assert "wmi-says" not in found(at(item(stem=stem), "practice"))
    case = "A studio juggles twelve jobs per designer and deadlines slip. What should the lead do?"
    assert "wmi-says" not in found(at(item(stem=case)))


def test_advice_rules_never_fail_the_check_and_fail_it_once_they_leave_the_list(tmp_path):
    qb = tmp_path / "qb"
    shutil.copytree(ROOT / "question_banks", qb)
    path = qb / "WMP" / "exam" / "4.yaml"
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    items[0]["stem"] = "According to WMI, what helps here?"
    path.write_text(yaml.safe_dump(items, sort_keys=False), encoding="utf-8")
    (qb / rules.POLICY_FILE).write_text("advice: [wmi-says]\n")
    report = checks.check_banks(qb, ROOT / "content")
    says = [f for f in report.advice if f.rule == "wmi-says" and "/4.yaml: " in f.where]
    assert says and not [e for e in report.errors if ": wmi-says: " in e]
    shutil.copy(ROOT / "question_banks" / rules.POLICY_FILE, qb / rules.POLICY_FILE)
    enforced = checks.check_banks(qb, ROOT / "content")  # the shipped policy
    assert [e for e in enforced.errors if str(says[0]) == e] and not enforced.advice


def test_shipped_policy_lists_no_advice_so_the_new_rules_fail_every_track():
    errors: list[str] = []
    policy = rules.read_policy(ROOT / "question_banks", errors)
    assert errors == [] and policy.advice == []
    longest = "Cap the work in progress at each stage of the studio"
    short = item(options=texts(longest, "Add staff", *PLAIN[1:]))
    for rule in NEW_RULES:
        finding = rules.Finding("CAWM", rule, "x.yaml: CAWM-F-001", "m")
        assert not rules.is_advice(finding, policy)
    assert "filler-short" in found(at(short))


def test_bank_check_advice_lists_findings_with_counts_and_still_passes(tmp_path, monkeypatch):
    qb = tmp_path / "question_banks"
    shutil.copytree(ROOT / "question_banks", qb)
    (qb / rules.POLICY_FILE).write_text("advice: [clang, filler-short, wmi-says]\n")
    a = qb / "CAWM" / "exam" / "A.yaml"
    items = yaml.safe_load(a.read_text(encoding="utf-8"))
    first = next(i for i in items if i["id"] == "CAWM-A-001")
    first["options"][1]["text"] = "Tracking"
    a.write_text(yaml.safe_dump(items, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("WMI_BANKS_DIR", str(qb))
    monkeypatch.setenv("WMI_CONTENT_DIR", str(ROOT / "content"))
    from app.core.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["bank", "check", "--advice", "--track", "CAWM"], env={"COLUMNS": "200"}
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    listed = [line for line in lines if line.startswith("advice: ")]
    assert all(": CAWM-" in line for line in listed)
    assert [line for line in listed if ": CAWM-A-001: filler-short: B has 8 characters" in line]
    summary = next(line for line in lines if line.startswith("advice findings: "))
    assert summary.startswith(f"advice findings: {len(listed)} ")


def test_echo_finds_the_one_option_alone_repeating_a_stem_word_where_clang_sees_nothing():
    """The fourth review's WMP clangs: every option shares some word with the stem (so `clang`
    has no lone sharer) but only the key repeats "owns"; "own" is no longer a stop word."""
    stem = "Nobody owns the intake queue of the lab. Which change fixes the intake?"
    keyed = item(
        stem=stem,
        options=texts(
            "Name one owner for the intake queue",
            "Add a second intake form",
            "Review the intake every Friday",
            "Buy a faster intake tool",
        ),
    )
    assert cues.lone_sharer(keyed) is None  # every option shares "intake"
    assert cues.lone_echo(keyed) == 0 and cues.echoed_words(keyed) == "A alone repeats own, queu"
    assert cues.content_words("their own owner") == {"own"}
    first_three = [o.text for o in keyed.options][:3]
    spread = item(stem=stem, options=texts(*first_three, "Own the queue tool"))
    assert cues.lone_echo(spread) is None  # A and D both repeat "own" and "queue": no echo
    cued = [at(item(n, stem=stem, options=keyed.options)) for n in range(1, 4)]
    rate = next(r for r in cues.measure([b.item for b in cued]) if r.cue.name == "echo")
    assert (rate.items, len(rate.hits), rate.chance) == (3, 3, 0.25) and rate.exceeds(1.5)
    findings = [f for f in rules.cue_findings("WMP", "exam", cued, 1.5) if f.rule == "echo"]
    assert len(findings) == 3 and "A alone repeats" in findings[0].message
