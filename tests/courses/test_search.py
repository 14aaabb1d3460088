"""Full-text search over lessons and modules (issue 14), on SQLite FTS5 and PostgreSQL: word
forms match, every word is required, matches are highlighted, the index follows content loads,
and nothing a reader types reaches the query language or the page as markup."""

import re
import shutil
from pathlib import Path

from app.courses import search, service

ROOT = Path(__file__).resolve().parents[2]


def hrefs(hits) -> list[str]:
    return [h.href for h in hits]


def test_a_word_finds_its_lessons_in_any_form_with_the_words_marked(session):
    hits = search.search(session, "handoff ownership", limit=500)
    decisions = "/tracks/CWA/modules/A4/lessons/02-decision-transparency"
    assert decisions in hrefs(hits)
    (found,) = [h for h in hits if h.href == decisions]
    marked = {m.lower() for m in re.findall(r"<mark>(.*?)</mark>", str(found.snippet))}
    assert marked & {"handoff", "handoffs"}, found.snippet  # "handoff" found "Handoffs"
    only_one = search.search(session, "handoff", limit=500)
    assert set(hrefs(hits)) < set(hrefs(only_one))  # every word is required


def test_modules_are_found_by_their_objectives_and_titles_rank_first(session):
    track = service.get_track(session, "CAWM")
    module = service.modules_of(session, track)[0]
    hits = service.search_lessons(session, module.title)
    assert f"/tracks/CAWM/modules/{module.code}" in hrefs(hits)[:3]


def test_the_index_follows_a_content_load(session, clock, tmp_path):
    root = tmp_path / "content"
    shutil.copytree(ROOT / "content", root)
    path = next((root / "CAWM").glob("01-*/01-*.md"))
    path.write_text(path.read_text() + "\nA zyxquorbic example sentence for this test.\n")
    assert service.search_lessons(session, "zyxquorbic") == []
    service.load_content(session=session, root=root, now=clock())
    (hit,) = service.search_lessons(session, "zyxquorbic")
    assert hit.href.startswith("/tracks/CAWM/modules/") and "<mark>zyxquorbic</mark>" in hit.snippet
    path.unlink()
    service.load_content(session=session, root=root, now=clock())  # the lesson is retired
    assert service.search_lessons(session, "zyxquorbic") == []


def test_the_search_page_shows_results_and_survives_anything_typed(client):
    page = client.get("/search", params={"q": "handoffs"})
    assert page.status_code == 200
    assert re.search(r"\d+ results? for “handoffs”", page.text)
    assert '<a href="/tracks/CWA/modules/A4/lessons/02-decision-transparency">' in page.text
    assert "<mark>" in page.text
    for typed in (
        '"unbalanced',
        "title:flow OR",
        "NEAR(a b",
        "<script>alert(1)</script>",
        "*",
        "-",
    ):
        response = client.get("/search", params={"q": typed})
        assert response.status_code == 200, typed
        assert "<script>alert" not in response.text
    none = client.get("/search", params={"q": "qqqxxyyzz"})
    assert "No lesson or module mentions “qqqxxyyzz”" in none.text
    assert client.get("/search", params={"q": "x" * 201}).status_code == 422
    home = client.get("/").text
    assert 'action="/search"' in home and 'href="/search"' in home
