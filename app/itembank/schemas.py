"""Practice quiz views (exam delivery never uses these: they carry rationales)."""

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

Letter = Annotated[str, StringConstraints(pattern=r"^[A-E]$")]


class PracticeQuestionOut(BaseModel):
    id: int
    type: str
    stem: str
    options: list[str]


class PracticeAnswerIn(BaseModel):
    id: int = Field(ge=1, le=2**31 - 1)
    answer: list[Letter] = Field(min_length=1, max_length=5)


class PracticeSubmission(BaseModel):
    answers: list[PracticeAnswerIn] = Field(min_length=1, max_length=20)


class OptionFeedback(BaseModel):
    letter: str
    text: str
    rationale: str
    is_key: bool
    chosen: bool


class PracticeFeedbackOut(BaseModel):
    id: int
    correct: bool
    answer: list[str]
    key: list[str]
    options: list[OptionFeedback]


class ReadinessOut(BaseModel):
    track: str
    responses: int
    enough: bool
    minimum: int
    p_pass: float | None
    scaled_low: int | None
    scaled_high: int | None
    explanation: str
