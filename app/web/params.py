"""Shared request-parameter types."""

from typing import Annotated

from fastapi import Path

MAX_ID = 2_147_483_647

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="A record id.")]
