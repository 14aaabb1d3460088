"""The per-process cache map: bounded, recency-ordered, and safe under concurrent threads."""

import pytest

from app.core.lru import LRU
from tests.racing import race


def test_evicts_the_least_recently_used_entry():
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # refreshes "a": "b" is now the stalest
    cache.put("c", 3)
    assert "b" not in cache
    assert cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2
    assert cache.pop("a") == 1 and cache.pop("a") is None


def test_refuses_a_size_below_one():
    with pytest.raises(ValueError):
        LRU(0)


def test_concurrent_lookups_and_evictions_never_fail():
    """Threads that read, refresh, insert and evict the same few keys at once: with a plain
    OrderedDict, get followed by move_to_end raises KeyError when another thread evicts
    the key in between. Probabilistic: a naive version fails in about half the runs."""
    cache: LRU[int, int] = LRU(4)

    def work(seed: int) -> None:
        for k in range(100_000):
            key = (seed * 7 + k) % 9
            if cache.get(key) is None:
                cache.put(key, k)
            if k % 5 == 0:
                cache.pop((key + 1) % 9)

    errors = race(work, 6)
    assert errors == []
    assert len(cache) <= 4
