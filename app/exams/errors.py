"""Exam errors: each carries its HTTP status."""

from app.core.errors import Conflict, InvalidInput


class AttemptClosed(Conflict):
    """The attempt has finished or its time has run out; nothing more is accepted."""

    code = "attempt_closed"


class StaleItem(Conflict):
    """The answer was for an item that is no longer pending; extra carries the current one."""

    code = "stale_item"


class NotEligible(Conflict):
    """The candidate may not start now (the message says why); 409, as 403 means a role."""

    code = "not_eligible"


class AgreementNeeded(InvalidInput):
    """A start without the current candidate agreement accepted (422; the message says how)."""

    code = "agreement_needed"
