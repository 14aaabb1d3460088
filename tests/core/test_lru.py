"""The per-process cache map: bounded, recency-ordered, and safe under concurrent threads."""

import sys
import threading

import pytest

from app.core.lru import LRU


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
    the key in between."""
    cache: LRU[int, int] = LRU(4)
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work(seed: int) -> None:
        barrier.wait()
        try:
            for k in range(100_000):
                key = (seed * 7 + k) % 9
                if cache.get(key) is None:
                    cache.put(key, k)
                if k % 5 == 0:
                    cache.pop((key + 1) % 9)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert errors == []
    assert len(cache) <= 4
