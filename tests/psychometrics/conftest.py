"""Shared fixtures for the psychometrics tests: seeded generators and synthetic banks."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:  # lets `pytest tests/psychometrics` import app without installing
    sys.path.insert(0, ROOT)

from app.psychometrics import engine, simulation  # noqa: E402

DOMAINS = ("A", "B", "C", "D", "E", "F")
WEIGHTS = np.array([0.15, 0.20, 0.15, 0.20, 0.15, 0.15])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def bank300() -> engine.ItemPool:
    return simulation.generate_bank(np.random.default_rng(7), 300, DOMAINS, WEIGHTS)


@pytest.fixture(scope="session")
def pool_with_pretest() -> engine.ItemPool:
    """120 operational items over A..F plus 10 pretest items."""
    r = np.random.default_rng(11)
    n_op, n_pre = 120, 10
    ids = [f"OP-{i:03d}" for i in range(n_op)] + [f"PT-{i:02d}" for i in range(n_pre)]
    domain = [DOMAINS[i % 6] for i in range(n_op + n_pre)]
    return engine.ItemPool.from_lists(
        ids,
        r.lognormal(0, 0.3, n_op + n_pre),
        r.normal(0, 1, n_op + n_pre),
        [0.2] * (n_op + n_pre),
        domain,
        is_pretest=[False] * n_op + [True] * n_pre,
    )


@pytest.fixture(scope="session")
def policy() -> engine.CatPolicy:
    return engine.CatPolicy(
        min_items=10,
        max_items=30,
        cut_theta=0.0,
        blueprint=dict(zip(DOMAINS, WEIGHTS.tolist(), strict=True)),
        randomesque_k=3,
        pretest_count=5,
    )
