"""Alembic owns the schema: upgrade, downgrade, upgrade again, and no drift from the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401
from alembic import command
from app.core.db import alembic_config, make_engine


def test_round_trip_and_no_drift(database_url):
    cfg = alembic_config(database_url)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
