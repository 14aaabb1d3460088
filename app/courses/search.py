"""Full-text search over lessons and modules, with highlighted snippets.

The index is the table `lesson_search` (migration c4e9a1d3f702), one row per current lesson:
its address, title, module and track titles, and the body as plain text. It is rebuilt inside
every content load (`load_content`), so it always matches the lessons being served.

- SQLite: an FTS5 virtual table (porter stemming over unicode61), ranked by bm25 with the
  title weighted above the module and the body; `snippet()` cuts the excerpt from the column
  that matches best.
- PostgreSQL: a table with a stored, generated `tsvector` (English configuration; title weight
  A, module and track B, body D) under a GIN index, queried with `websearch_to_tsquery`, ranked
  by `ts_rank`; `ts_headline()` cuts the excerpt from the body.

Both mark matches with the control characters STX/ETX, which lesson text never contains; the
excerpt is escaped and the marks become <mark> elements, so a lesson cannot inject HTML.
"""

import re
from dataclasses import dataclass
from html import unescape

from markupsafe import Markup, escape
from sqlalchemy import text
from sqlmodel import Session

from app.web.markdown import render_markdown

START, STOP = "\x02", "\x03"
MAX_QUERY = 200
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    href: str
    title: str
    module: str
    track: str
    snippet: Markup


def plain_text(markdown: str) -> str:
    """A lesson body as the words a reader sees (the rendered page without its tags)."""
    return " ".join(unescape(_TAG.sub(" ", render_markdown(markdown))).split())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def reindex(session: Session, rows: list[dict]) -> None:
    """Replace the index with these lessons (href, title, module, track, body as Markdown).
    Adds and flushes; the caller commits."""
    session.execute(text("DELETE FROM lesson_search"))
    if rows:
        session.execute(
            text(
                "INSERT INTO lesson_search (href, title, module, track, body) "
                "VALUES (:href, :title, :module, :track, :body)"
            ),
            [{**r, "body": plain_text(r["body"])} for r in rows],
        )


def _fts5_query(q: str) -> str:
    """The reader's words as an FTS5 query: each word a quoted term, all of them required
    (no operator or column syntax reaches FTS5 from the reader)."""
    return " ".join(f'"{w}"' for w in _WORD.findall(q)[:20])


_SQLITE = text(
    """
    SELECT href, title, module, track,
           snippet(lesson_search, -1, char(2), char(3), '…', 24) AS excerpt
    FROM lesson_search
    WHERE lesson_search MATCH :q
    ORDER BY bm25(lesson_search, 0, 10.0, 4.0, 2.0, 1.0)
    LIMIT :n
    """
)
_POSTGRES = text(
    """
    SELECT href, title, module, track,
           ts_headline('english', body, query, :options) AS excerpt
    FROM lesson_search, websearch_to_tsquery('english', :q) AS query
    WHERE document @@ query
    ORDER BY ts_rank(document, query) DESC, title
    LIMIT :n
    """
)
_HEADLINE = f"StartSel={START}, StopSel={STOP}, MaxWords=40, MinWords=20, MaxFragments=1"


def search(session: Session, q: str, *, limit: int = 20) -> list[Hit]:
    """Lessons that contain every word of q, best first, each with a highlighted excerpt."""
    q = " ".join(q.split())[:MAX_QUERY]
    if not _WORD.search(q):
        return []
    if _dialect(session) == "sqlite":
        rows = session.execute(_SQLITE, {"q": _fts5_query(q), "n": limit}).all()
    else:
        rows = session.execute(_POSTGRES, {"q": q, "n": limit, "options": _HEADLINE}).all()
    return [Hit(r.href, r.title, r.module, r.track, highlight(r.excerpt)) for r in rows]


def highlight(excerpt: str) -> Markup:
    """An excerpt with STX/ETX marks as safe HTML: the text escaped, the marks as <mark>."""
    safe = str(escape(excerpt))
    return Markup(safe.replace(START, "<mark>").replace(STOP, "</mark>"))
