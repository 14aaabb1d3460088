"""Every file in content/ and question_banks/ validates; sources match the facts sheet."""

import re
from pathlib import Path

import pytest

from app.core.config import ROOT
from app.courses import checks as content_checks
from app.courses import files as content_files
from app.itembank import checks as bank_checks
from app.itembank import files as bank_files

FACTS = ROOT.parent / "shared" / "wmbok" / "FACTS.md"


def test_content_validates():
    problems, tree = content_checks.run_checks(ROOT / "content")
    assert problems == []
    modules = {code: len(t.modules) for code, t in tree.tracks.items()}
    assert modules == {"CAWM": 7, "WMP": 7, "CWA": 8}


def test_banks_validate():
    problems, bank = bank_checks.run_checks(ROOT / "question_banks", ROOT / "content")
    assert problems == []
    assert len(bank.items) >= 3 * 430


def test_source_ids_match_the_facts_sheet():
    if not FACTS.exists():
        pytest.skip("../shared is not beside the repository")
    text = FACTS.read_text().split("### Source key")[1].split("\n---")[0]
    ids = {m for m in re.findall(r"^\| ([A-Z0-9][A-Za-z0-9\-]*) \|", text, flags=re.M)} - {"ID"}
    assert set(content_files.read_sources(ROOT / "content")) == ids


def test_checker_catches_broken_items(tmp_path):
    import shutil

    shutil.copytree(ROOT / "question_banks", tmp_path / "qb")
    path = tmp_path / "qb" / "CAWM" / "exam" / "A.yaml"
    text = path.read_text()
    first_id = re.search(r"id: (CAWM-A-\d+)", text).group(1)
    text = re.sub(
        r"sources:(\s*\[|\n(\s*)- )",
        lambda m: (
            m.group(0) + "NOT-A-SOURCE" + (", " if "[" in m.group(0) else "\n" + m.group(2) + "- ")
        ),
        text,
        count=1,
    )
    path.write_text(text)
    dup = tmp_path / "qb" / "CAWM" / "practice" / "A.yaml"
    dup.write_text(dup.read_text() + "\n" + Path(path).read_text().split("\n- id:")[0])
    problems, _ = bank_checks.run_checks(tmp_path / "qb", ROOT / "content")
    joined = "\n".join(problems)
    assert "NOT-A-SOURCE" in joined
    assert f"{first_id}: unique-id" in joined
    assert "near-duplicate stem" in joined


def test_checker_catches_key_imbalance(tmp_path):
    import shutil

    shutil.copytree(ROOT / "question_banks", tmp_path / "qb")
    for path in (tmp_path / "qb" / "WMP" / "exam").glob("*.yaml"):
        path.write_text(re.sub(r"\n  key: [A-D]\n", "\n  key: A\n", path.read_text()))
    problems, _ = bank_checks.run_checks(tmp_path / "qb", ROOT / "content")
    assert any("WMP/exam: key-position: A" in p for p in problems)


def test_content_checker_catches_short_and_duplicate_lessons(tmp_path):
    import shutil

    shutil.copytree(ROOT / "content", tmp_path / "c")
    lessons = sorted((tmp_path / "c" / "CAWM").glob("*/*.md"))
    lessons[1].write_text(lessons[0].read_text())
    head, _, body = lessons[2].read_text().partition("\n---\n")
    lessons[2].write_text(head + "\n---\n## Learning objectives\nToo short. [x](missing.md)\n")
    problems, _ = content_checks.run_checks(tmp_path / "c")
    joined = "\n".join(problems)
    assert "near-duplicate" in joined and "length:" in joined and "does not resolve" in joined


def test_every_item_names_a_fact_of_the_catalogue(tmp_path):
    """A missing or unknown `fact` is a schema problem naming the file and the item; so is a
    catalogue entry that would let an [INFERRED] or [GAP] idea be examined."""
    import shutil

    shutil.copytree(ROOT / "question_banks", tmp_path / "qb")
    path = tmp_path / "qb" / "WMP" / "practice" / "1.yaml"
    text = path.read_text()
    ids = re.findall(r"id: (WMP-1-\d+)", text)
    text = re.sub(r"\n  fact: [^\n]+", "", text, count=1)
    text = re.sub(r"\n  fact: [^\n]+", "\n  fact: no.such-idea", text, count=1)
    path.write_text(text)
    problems, _ = bank_checks.run_checks(tmp_path / "qb", ROOT / "content")
    joined = "\n".join(problems)
    assert f"{path}: {ids[0]}: schema: fact: Field required" in joined
    assert f"{path}: {ids[1]}: schema: fact: Value error, fact 'no.such-idea' is not in" in joined
    catalogue = tmp_path / "qb" / "facts.yaml"
    inferred = "  tag: INFERRED\n  exam: false"
    catalogue.write_text(
        catalogue.read_text().replace(inferred, "  tag: INFERRED\n  exam: true", 1)
    )
    problems, _ = bank_checks.run_checks(tmp_path / "qb", ROOT / "content")
    assert any("facts.yaml: schema: facts." in p and "cannot be examinable" in p for p in problems)


def test_the_catalogue_is_read_and_sound():
    errors: list[str] = []
    facts = bank_files.read_facts(ROOT / "question_banks", errors)
    assert errors == [] and facts
    assert all(f.exam is False for f in facts.values() if f.tag in ("INFERRED", "GAP"))
    used = {b.item.fact for b in bank_files.read_banks(ROOT / "question_banks").items}
    assert used <= set(facts)
