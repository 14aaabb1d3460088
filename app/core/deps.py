"""Typed dependency aliases for routes: the clock and the settings the application was built
with (create_app keeps both on app.state). SessionDep is in app/core/db.py beside the session.

    def page(request: Request, now: Now, settings: SettingsDep): ...
"""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from app.core.clock import Clock
from app.core.config import Settings


async def now(request: Request) -> datetime:
    """The request's time: when it arrived (app.web.middleware.Arrival stamps it before the
    request waits for anything, so an exam answer is judged by its arrival, however long it
    then waited for the exam lane), else the application's clock now (tests pass their own)."""
    arrived: datetime | None = getattr(request.state, "arrived_at", None)
    if arrived is not None:
        return arrived
    clock: Clock = request.app.state.clock
    return clock()


async def settings(request: Request) -> Settings:
    """The settings create_app was given."""
    settings: Settings = request.app.state.settings
    return settings


Now = Annotated[datetime, Depends(now)]
SettingsDep = Annotated[Settings, Depends(settings)]
