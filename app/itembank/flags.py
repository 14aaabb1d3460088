"""Item-analysis flags for the workbench's list, through a port (issue 20).

The flags come from the item analysis of app/psychops (very hard, weak discrimination, misfit,
...), which sits above itembank in the layering: itembank declares what it needs here, and the
composition root (app/wiring.py) builds it from psychops for create_app (`app.state.item_flags`).
A list filtered by a flag keeps the items whose newest analysed version carries it, in the newest
analysis of their track; without an analysis (or without the port) no item is flagged.
"""

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from sqlmodel import Session

ANY = "any"  # the filter value: flagged at all

FlagsOf = Callable[[Session, str | None], dict[str, tuple[str, ...]]]


@dataclass(frozen=True)
class ItemFlags:
    """names: the flags the analysis can raise, for the filter's choices; of_items(session,
    track or None for every track): the flags of each flagged item, by item code."""

    names: tuple[str, ...]
    of_items: FlagsOf


NO_FLAGS = ItemFlags((), lambda session, track: {})


def from_request(request: Request) -> ItemFlags:
    """The port create_app wired (none in an app built without it)."""
    return getattr(request.app.state, "item_flags", NO_FLAGS)


def matching(flags: dict[str, tuple[str, ...]], wanted: str) -> list[str]:
    """The codes carrying the wanted flag (`any`: carrying one at all)."""
    return sorted(c for c, f in flags.items() if f and (wanted == ANY or wanted in f))
