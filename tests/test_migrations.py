"""Alembic owns the schema: upgrade, downgrade, upgrade again, and no drift from the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401
from alembic import command
from app.core.db import alembic_config, include_object, make_engine


def test_round_trip_and_no_drift(database_url, settings):
    cfg = alembic_config(database_url, settings)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_pools_move_out_of_attempts_and_back(database_url, settings):
    """5d2a7c1e9f30 moves each attempt's frozen pool into exam_pool (one row per distinct pool)
    and the downgrade puts every pool back on its attempts."""
    import json

    from sqlalchemy import text

    cfg = alembic_config(database_url, settings)
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "a9e403cbe036")
    pool_a = [{"id": 1, "item": 1, "a": 1.0, "b": 0.5, "c": 0.2, "domain": "D1", "pretest": False}]
    pool_b = pool_a + [{"id": 2, "item": 2, "a": 1.2, "b": -1.0, "c": 0.2, "domain": "D2",
                        "pretest": True}]  # fmt: skip
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO user_account (id, email, name, role, is_active, password_hash, "
                "session_version, created_at) VALUES (1, 'm@example.org', 'M', 'learner', "
                ":t, '!', 1, '2026-11-25 09:00:00')"
            ),
            {"t": True},
        )
        for i, pool in enumerate([pool_a, pool_b, pool_a], start=1):
            conn.execute(
                text(
                    "INSERT INTO exam_attempt (id, user_id, track, status, started_at, "
                    "deadline_at, time_factor, policy, pool, state, step) VALUES (:i, 1, 'CAWM', "
                    "'finished', '2026-11-25 09:00:00', '2026-11-25 11:00:00', 1.0, '{}', :p, "
                    "'{}', 0)"
                ),
                {"i": i, "p": json.dumps(pool)},
            )
    engine.dispose()

    command.upgrade(cfg, "head")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        pools = dict(conn.execute(text("SELECT id, items FROM exam_pool")).all())
        refs = dict(conn.execute(text("SELECT id, pool_id FROM exam_attempt")).all())
    engine.dispose()
    assert len(pools) == 2  # attempts 1 and 3 share one stored pool
    as_list = {k: json.loads(v) if isinstance(v, str) else v for k, v in pools.items()}
    assert refs[1] == refs[3] != refs[2]
    assert as_list[refs[1]] == pool_a and as_list[refs[2]] == pool_b

    command.downgrade(cfg, "a9e403cbe036")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        back = dict(conn.execute(text("SELECT id, pool FROM exam_attempt")).all())
    engine.dispose()
    back = {k: json.loads(v) if isinstance(v, str) else v for k, v in back.items()}
    assert back == {1: pool_a, 2: pool_b, 3: pool_a}
    command.upgrade(cfg, "head")
