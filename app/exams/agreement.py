"""The candidate agreement: what a candidate accepts before the clock starts.

Its version is recorded on every attempt (exam_attempt.agreement) and in the start's audit
entry, so what a candidate accepted can be shown later. Change VERSION whenever a clause
changes; earlier attempts keep the version they accepted.
"""

VERSION = "2026-12"

CLAUSES = (
    "I am the person named on this account and I sit this exam alone.",
    "I use no notes, books, websites, other programs, devices or help from anyone while the "
    "exam is open.",
    "I will not copy, record, share or discuss the questions, during or after the exam; they "
    "stay the property of the Work Management Institute.",
    "I understand that every answer, its timing and this agreement are recorded, and that a "
    "breach of this agreement may void my result and revoke any certificate it earned.",
    "I know that I may appeal a result within the published window, and that an appeal is "
    "decided by someone other than the person it concerns.",
)


def refused(accepted: str | None) -> str:
    """Why a start without the current agreement is refused ('' when it was accepted)."""
    if accepted == VERSION:
        return ""
    if accepted:
        return "The candidate agreement has changed since this page was opened; read it again."
    return "Tick the box to accept the candidate agreement; the exam starts only after that."
