"""Run the same work on several threads at once, switching between them as often as CPython
allows, and collect what any of them raised (for tests of state shared by server threads)."""

import sys
import threading
from collections.abc import Callable


def race(work: Callable[[int], None], threads: int) -> list[BaseException]:
    """Call work(0) .. work(threads - 1), one per thread, released together; the exceptions."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def run(k: int) -> None:
        barrier.wait()
        try:
            work(k)
        except BaseException as exc:  # noqa: BLE001 - collected for the caller's assertion
            errors.append(exc)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        started = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
        for t in started:
            t.start()
        for t in started:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    return errors
