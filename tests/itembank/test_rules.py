"""Issue 19's bank rules: each fires on the cue or flaw it names and stays quiet without it."""

from pathlib import Path

from app.core.config import ROOT
from app.itembank import checks, cues, rules
from app.itembank.files import Bank, BankItem, Fact, ItemFile

FACTS = {
    "p.flow.wip": Fact(
        id="p.flow.wip", section="2", tag="STATED", exam=True, sources=["P-FLOW"], idea="x" * 12
    ),
    "wmmi.indicators": Fact(
        id="wmmi.indicators",
        section="3.6",
        tag="GAP",
        exam=False,
        why="D11 gap",
        sources=["WMMI"],
        idea="y" * 12,
    ),
}


def item(n: int = 1, *, track: str = "WMP", **over) -> ItemFile:
    data = {
        "id": f"{track}-4-{n:03d}",
        "version": 1,
        "domain": "4",
        "module": "P5",
        "fact": "p.flow.wip",
        "level": "apply",
        "type": "single",
        "stem": "A design studio juggles twelve jobs per designer. What should the lead change?",
        "options": [{"text": t, "rationale": "Because."} for t in ("Aa", "Bb", "Cc", "Dd")],
        "key": "A",
        "sources": ["P-FLOW"],
        "difficulty": 3,
        "irt": {"a": 1.0, "b": 0.0, "c": 0.2},
        "status": "operational",
    }
    if track == "CAWM":
        data.update(domain="F", module="C7")
    data.update(over)
    return ItemFile.model_validate(data)


PLAIN = ("Add two more designers", "Hold a daily status call", "Buy a new planning tool")


def texts(*options: str) -> list[dict]:
    return [{"text": t, "rationale": "Reason given."} for t in options]


def found(b: BankItem) -> set[str]:
    return {f.rule for f in rules.item_findings(b, FACTS)}


def at(i: ItemFile, pool: str = "exam") -> BankItem:
    return BankItem(pool=pool, path=Path(f"question_banks/{i.track}/{pool}/x.yaml"), item=i)


def test_item_rules_fire_on_their_flaw_and_only_there():
    assert found(at(item())) == set()
    assert found(at(item(fact="wmmi.indicators"))) == {"d11-exclusion"}
    assert found(at(item(fact="wmmi.indicators"), "practice")) == set()  # practice may teach it
    assert found(at(item(fact="wmmi.indicators", status="retired"))) == set()  # never delivered
    blog = item(stem="According to WMI's blog, where do most organizations spend their time?")
    assert "source-attribution" in found(at(blog))
    third = item(stem="Which principle is third in WMI's canonical list of principles?")
    assert "ordinal-trivia" in found(at(third))
    between = item(stem="Which Coordination Stack layer sits between What and When?")
    assert "ordinal-trivia" in found(at(between))
    first_move = item(stem="Which comes first when adding an AI agent: choosing it or the design?")
    assert "ordinal-trivia" not in found(at(first_move))
    odd = item(options=texts("Limit work in progress, because it cuts switching", *PLAIN))
    assert found(at(odd)) == {"parallel-form"}
    every = item(options=texts(*(f"Option {c}, because reason {c}" for c in "ABCD")))
    assert found(at(every)) == set()
    assert found(at(item(level="recall", difficulty=4))) == {"difficulty-level"}
    said = [{"text": t, "rationale": r} for t, r in zip(PLAIN + ("Limit work",), (
        "Wrong. More people add more switching.", "Wrong. A call is communication.",
        "Wrong. A tool does not cap the work.", "Correct. A cap cuts the switching.",
    ), strict=True)]  # fmt: skip
    assert found(at(item(options=said, key="D"))) == set()
    for pool in ("exam", "practice"):  # the key on A, the text that says so on D
        assert found(at(item(options=said, key="A"), pool)) == {"rationale-key"}


def test_multiple_response_keys_are_two_or_three_and_the_stem_says_so():
    base = {"type": "multiple", "options": texts("Aa", "Bb", "Cc", "Dd", "Ee")}
    two = item(**base, key=["A", "C"], stem="Which two changes help most here? Select TWO.")
    assert found(at(two)) == set()
    wrong_word = item(**base, key=["A", "C", "D"], stem="Which changes help most? Select TWO.")
    assert found(at(wrong_word)) == {"mr-keys"}
    four = item(**base, key=["A", "B", "C", "D"], stem="Which changes help most? Select FOUR.")
    assert found(at(four)) == {"mr-keys"}


def test_keyed_longest_cue_is_measured_against_its_chance():
    long_keys = texts("A much longer keyed option", "Bb", "Another long keyed option", "Dd", "Ee")
    cued = [
        item(n, type="multiple", key=["A", "C"], options=long_keys, stem="Which two? Select TWO.")
        for n in range(1, 5)
    ]
    rate = next(r for r in cues.measure(cued) if r.cue.name == "mr-keyed-longest")
    assert rate.items == 4 and len(rate.hits) == 4 and abs(rate.chance - 0.1) < 1e-9
    findings = rules.cue_findings("WMP", "exam", [at(i) for i in cued], 1.5)
    keyed_longest = [f for f in findings if f.rule == "mr-keyed-longest"]
    assert len(keyed_longest) == 4  # one finding per item, each naming file, item and rule
    assert str(keyed_longest[0]).startswith("question_banks/WMP/exam/x.yaml: WMP-4-001: ")
    assert {f.rule for f in findings} == {"mr-keyed-longest", "longest-is-key"}
    shuffled = [
        item(n, type="multiple", key=["A", "C"], stem="Which two? Select TWO.", options=opts)
        for n, opts in enumerate(
            (
                texts("Aa", "A much longer option", "Cc", "Another long option", "Ee"),
                texts("A long keyed option", "Bb", "Cc", "A longer distractor here", "Ee"),
            ),
            start=1,
        )
    ]
    assert not rules.cue_findings("WMP", "exam", [at(i) for i in shuffled], 1.5)


def test_odd_one_out_cue_counts_only_items_with_one_odd_option():
    odd_key = texts(
        "Cap work in progress",
        "Add staff, because more hands",
        "Rush, since late",
        "Wait, as planned",
    )
    assert cues.odd_one_out(item(options=odd_key)) == 0
    assert cues.odd_one_out(item()) is None
    hits = [item(n, options=odd_key) for n in range(1, 4)]
    rate = next(r for r in cues.measure(hits) if r.cue.name == "odd-one-out")
    assert len(rate.hits) == 3 and rate.exceeds(1.5)


def test_odd_opening_cue_finds_the_one_option_worded_apart_and_ignores_articles():
    odd_key = texts(
        "The plan is sound",
        "The plan is sound if a facilitator runs it",
        "The plan is sound but needs a template",
        "More communication raises volume, not coordination",
    )
    assert cues.odd_opening(item(options=odd_key)) == 3
    articles = texts(
        "An ownership gap at Who", "A method gap at How", "A purpose gap", "A timing gap"
    )
    assert cues.odd_opening(item(options=articles)) is None
    assert cues.odd_opening(item()) is None  # four different openings: no odd one
    keyed = [item(n, options=odd_key, key="D") for n in range(1, 4)]
    rate = next(r for r in cues.measure(keyed) if r.cue.name == "odd-opening")
    assert len(rate.hits) == 3 and rate.exceeds(1.5)
    findings = rules.cue_findings("WMP", "exam", [at(i) for i in keyed], 1.5)
    assert {f.rule for f in findings} == {"odd-opening", "longest-is-key"}
    keyed_a = [item(n, options=odd_key, key="A") for n in range(1, 4)]
    rate = next(r for r in cues.measure(keyed_a) if r.cue.name == "odd-opening")
    assert rate.items == 3 and not rate.hits


def test_fact_cap_level_mix_and_cross_track_duplicates():
    exam = [at(item(n)) for n in range(1, 8)]
    capped = rules.fact_cap_findings("WMP", exam, 6)
    assert len(capped) == 7 and {f.rule for f in capped} == {"fact-cap"}
    assert not rules.fact_cap_findings("WMP", exam[:6], 6)
    understand = [at(item(n, level="understand", difficulty=2)) for n in range(1, 4)]
    assert rules.level_findings("WMP", exam + understand)[0].rule == "level-mix"
    assert not rules.level_findings("WMP", exam)
    stem = "Which layer of the stack covers timing, sequencing and cadence in the work?"
    bank = Bank(items=[at(item(1, track="CAWM", stem=stem)), at(item(2, stem=stem)), at(item(3))])
    dup = rules.cross_track_findings(bank, checks.near_duplicate_pairs)
    assert [(f.rule, f.track) for f in dup] == [("cross-track-duplicate", "WMP")]


def _break_parallel_form(qb: Path) -> str:
    """Give one option of a WMP exam item a reason clause the other options lack; its id."""
    import yaml

    path = qb / "WMP" / "exam" / "4.yaml"
    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    target = next(
        i
        for i in items
        if i["type"] == "single" and not any(cues.justified(o["text"]) for o in i["options"])
    )
    target["options"][1]["text"] += ", because it is quicker"
    path.write_text(yaml.safe_dump(items, sort_keys=False), encoding="utf-8")
    return target["id"]


def test_warn_only_rules_warn_and_strict_fails(tmp_path):
    import shutil

    shutil.copytree(ROOT / "question_banks", tmp_path / "qb")
    broken = _break_parallel_form(tmp_path / "qb")
    shipped = rules.read_policy(ROOT / "question_banks", [])
    (tmp_path / "qb" / rules.POLICY_FILE).write_text(
        f"warn_only:\n  parallel-form: [WMP]\nadvice: {shipped.advice}\n"
    )
    report = checks.check_banks(tmp_path / "qb", ROOT / "content")
    assert report.errors == []
    assert [w for w in report.warnings if f"{broken}: parallel-form: " in w] == report.warnings
    assert len(report.warnings) == 1
    strict = checks.check_banks(tmp_path / "qb", ROOT / "content", strict=True)
    assert strict.errors == report.warnings and strict.warnings == []


def test_shipped_policy_warns_on_nothing_so_parallel_form_fails_every_track():
    """Issue 19 ends with checks.yaml's warn_only empty: a parallel-form finding is an error."""
    errors: list[str] = []
    policy = rules.read_policy(ROOT / "question_banks", errors)
    assert errors == [] and policy.warn_only == {}
    odd = item(options=texts("Limit work in progress, because it cuts switching", *PLAIN))
    for track in ("CAWM", "WMP", "CWA"):
        finding = next(f for f in rules.item_findings(at(odd), FACTS) if f.rule == "parallel-form")
        finding = rules.Finding(track, finding.rule, finding.where, finding.message)
        assert not rules.is_warning(finding, policy)
        assert rules.is_warning(finding, rules.Policy(warn_only={"parallel-form": [track]}))
