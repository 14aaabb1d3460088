"""What code keeps on a Session, through typed holders: the only reader and writer of
`session.info` (tests/test_layering_rules.py checks that no other module touches it).

A `Holder` names one value of one type. Most values belong to the unit of work that set them
(a memo of the rows a request read, the transaction's DBAPI connection, a pipeline) and must
not outlive it. `Session.close()` keeps `session.info`, and the exam lane keeps one Session per
thread from job to job, so the lane calls `end_job` after each job: it drops every value but
those declared `lasting` (facts about the Session's connection, which never change).
"""

from collections.abc import Callable
from typing import Generic, TypeVar

from sqlmodel import Session

T = TypeVar("T")

_LASTING: set[str] = set()
_KEYS: set[str] = set()


class Holder(Generic[T]):
    """One typed value kept on a Session under a unique key."""

    __slots__ = ("key",)

    def __init__(self, key: str, *, lasting: bool = False) -> None:
        if key in _KEYS:
            raise ValueError(f"A session holder named {key!r} exists already.")
        _KEYS.add(key)
        if lasting:
            _LASTING.add(key)
        self.key = key

    def get(self, session: Session) -> T | None:
        value: T | None = session.info.get(self.key)
        return value

    def set(self, session: Session, value: T) -> T:
        session.info[self.key] = value
        return value

    def pop(self, session: Session) -> T | None:
        value: T | None = session.info.pop(self.key, None)
        return value

    def setdefault(self, session: Session, make: Callable[[], T]) -> T:
        """The value, made and kept first if there is none."""
        info = session.info
        value: T | None = info.get(self.key)
        if value is None:
            value = info[self.key] = make()
        return value


def end_job(session: Session) -> None:
    """Forget what the finished unit of work kept on the session (all but lasting values)."""
    info = session.info
    for key in [key for key in info if key not in _LASTING]:
        del info[key]
