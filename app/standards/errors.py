"""Standard-setting errors: each carries its HTTP status."""

from app.core.errors import Conflict, Forbidden, InvalidInput


class NotOnPanel(Forbidden):
    """The signed-in panelist is not on this study's panel."""

    code = "not_on_panel"


class StudyState(Conflict):
    """The study is not at the step this action needs (the message says which and why)."""

    code = "study_state"


class InvalidRatings(InvalidInput):
    """Some ratings were refused (extra: position -> message); the valid ones were kept."""

    code = "invalid_rating"
