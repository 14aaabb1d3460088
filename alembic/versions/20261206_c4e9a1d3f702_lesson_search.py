"""Full-text search over lessons and modules (issue 14): lesson_search, rebuilt by every content
load (app/courses/search.py). SQLite: an FTS5 virtual table (porter stemming over unicode61).
PostgreSQL: a table with a stored generated tsvector (English; title A, module and track B,
body D) under a GIN index. No model describes it (alembic/env.py leaves it out of autogenerate).

Revision ID: c4e9a1d3f702
Revises: b7d41e2c9a55
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c4e9a1d3f702"
down_revision: str | None = "b7d41e2c9a55"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES = """
CREATE TABLE lesson_search (
    id serial PRIMARY KEY,
    href text NOT NULL,
    title text NOT NULL,
    module text NOT NULL,
    track text NOT NULL,
    body text NOT NULL,
    document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A')
        || setweight(to_tsvector('english', module || ' ' || track), 'B')
        || setweight(to_tsvector('english', body), 'D')
    ) STORED
)
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES)
        op.execute("CREATE INDEX ix_lesson_search_document ON lesson_search USING gin (document)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE lesson_search USING fts5("
            "href UNINDEXED, title, module, track, body, tokenize = 'porter unicode61')"
        )


def downgrade() -> None:
    op.execute("DROP TABLE lesson_search")
