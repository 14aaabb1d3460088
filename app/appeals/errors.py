"""Appeal errors: each carries its HTTP status."""

from app.core.errors import Conflict


class WindowClosed(Conflict):
    """The appeal or flag came after its window; the message gives the window's dates."""

    code = "window_closed"
