"""Build the router's route tables at start-up instead of on the first request.

FastAPI (0.16x) builds each included router's table of effective routes (the routes' parameter
models, dependencies and response fields) lazily, the first time a request is matched against
that router, and a request is matched against every router before its own. So the first request
of a process to a route late in the table paid for most of the application: about 0.6 s of CPU
for the item-analysis list at 600 items (docs/BENCHMARKS.md), for a page that then renders in
under 0.1 s. `warm` walks the included routers and asks each for its tables, the same calls a
request's matching makes, so they are built once, before any request.
"""

from collections.abc import Iterable
from typing import Any


def warm(routes: Iterable[Any]) -> int:
    """Build the route tables of every included router under routes (recursively); returns how
    many routers were built. Routers without lazy tables (other FastAPI versions) are skipped."""
    built = 0
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if not callable(candidates):
            continue
        built += 1 + warm(candidates())
        low_priority = getattr(route, "effective_low_priority_routes", None)
        if callable(low_priority):
            low_priority()
    return built
