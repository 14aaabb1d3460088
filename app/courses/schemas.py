"""Course views for pages and the API."""

from pydantic import BaseModel, Field


class DomainOut(BaseModel):
    code: str
    title: str
    weight: float


class ModuleOut(BaseModel):
    code: str
    title: str
    domains: list[str]
    objectives: list[str]
    lessons: list[str]


class TrackOut(BaseModel):
    code: str
    title: str
    level: str
    summary: str
    audience: str
    prerequisites: dict
    exam: dict
    validity: dict
    blueprint: list[DomainOut]
    scale: dict = Field(description="The reported scale: version, anchors [[theta, score], ...]")
    passing_score: int = Field(description="The cut's value on the reported scale.")
    modules: list[ModuleOut] = []


class LessonOut(BaseModel):
    id: int
    track: str
    module: str
    slug: str
    title: str
    objectives: list[str]
    minutes: int
    sources: list[str]
    version: int
    markdown: str
    html: str
    completed: bool
    previous: str | None
    next: str | None


class ModuleProgressOut(BaseModel):
    code: str
    title: str
    done: int
    total: int


class TrackProgressOut(BaseModel):
    track: str
    done: int
    total: int
    modules: list[ModuleProgressOut]


class Completed(BaseModel):
    lesson_id: int
    completed: bool = True
