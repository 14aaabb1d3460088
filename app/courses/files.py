"""Reading content/: tracks, modules and lessons as validated values (no database)."""

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from app.psychometrics import scoring

TRACKS = ("CAWM", "WMP", "CWA")
LESSON_SECTIONS = (
    "Learning objectives",
    "Explanation",
    "Scenario",
    "Misconceptions corrected",
    "Key takeaways",
    "Sources",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prerequisites(Strict):
    any_of: list[str] = []
    waiver_allowed: bool = False


class ExamPolicy(Strict):
    min_items: int = Field(ge=1, le=200)
    max_items: int = Field(ge=1, le=300)
    pretest_items: int = Field(ge=0, le=20)
    time_limit_minutes: int = Field(ge=1, le=600)
    cut_theta: float = Field(ge=-4, le=4)
    retake_wait_days: int = Field(ge=0, le=365)
    max_attempts_per_12_months: int = Field(ge=1, le=20)
    approval: Literal["automatic", "administrator"] = "automatic"


class Validity(Strict):
    years: int = Field(ge=1, le=10)
    renewal_ceu: int = Field(ge=0, le=500)


class BlueprintDomain(Strict):
    code: str = Field(min_length=1, max_length=8)
    title: str = Field(min_length=3)
    weight: float = Field(gt=0, le=1)


class ScaleAnchor(Strict):
    theta: float = Field(ge=-6, le=6)
    score: float


class ScaleFile(Strict):
    """The reported scale (see scoring.Scale): two fixed anchors, apart from the cut."""

    version: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    anchors: list[ScaleAnchor] = Field(min_length=2, max_length=2)
    low: int = 200
    high: int = 800

    def definition(self) -> scoring.Scale:
        """The engine's value; raises ValueError when the anchors or range are unusable."""
        first, second = self.anchors
        pairs = ((first.theta, first.score), (second.theta, second.score))
        return scoring.Scale(self.version, pairs, self.low, self.high)


class TrackFile(Strict):
    code: Literal["CAWM", "WMP", "CWA"]
    title: str = Field(min_length=3)
    level: Literal["foundation", "professional", "specialist"]
    summary: str = Field(min_length=20)
    audience: str = Field(min_length=10)
    prerequisites: Prerequisites
    exam: ExamPolicy
    validity: Validity
    blueprint: list[BlueprintDomain] = Field(min_length=2)
    scale: ScaleFile

    @model_validator(mode="after")
    def _cut_on_the_scale(self):
        self.scale.definition().cut_score(self.exam.cut_theta)  # ValueError names both
        return self

    @field_validator("blueprint")
    @classmethod
    def _weights_sum_to_one(cls, value):
        total = sum(d.weight for d in value)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"blueprint weights sum to {total:.3f}, not 1")
        if len({d.code for d in value}) != len(value):
            raise ValueError("blueprint domain codes repeat")
        return value


class ModuleFile(Strict):
    code: str = Field(pattern=r"^[CPA][1-9]$")
    title: str = Field(min_length=3)
    domain: str | list[str]
    objectives: list[str] = Field(min_length=1)

    @field_validator("domain", mode="before")
    @classmethod
    def _codes_are_strings(cls, value):
        return [str(v) for v in value] if isinstance(value, list) else str(value)

    @property
    def domains(self) -> list[str]:
        return self.domain if isinstance(self.domain, list) else [self.domain]


class LessonMeta(Strict):
    title: str = Field(min_length=3)
    objectives: list[str] = Field(min_length=1)
    minutes: int = Field(ge=1, le=240)
    sources: list[str] = Field(min_length=1)


@dataclass(frozen=True)
class Lesson:
    slug: str
    path: Path
    meta: LessonMeta
    body: str
    digest: str

    @property
    def words(self) -> int:
        return len(re.findall(r"[\w'’-]+", self.body))

    @property
    def headings(self) -> list[str]:
        return re.findall(r"^## (.+?)\s*$", self.body, flags=re.M)


@dataclass(frozen=True)
class Module:
    slug: str
    path: Path
    meta: ModuleFile
    lessons: tuple[Lesson, ...]


@dataclass(frozen=True)
class Track:
    path: Path
    meta: TrackFile
    modules: tuple[Module, ...]


@dataclass
class ContentTree:
    tracks: dict[str, Track] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _explain(path: Path, exc: ValidationError) -> list[str]:
    return [
        f"{path}: {'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
    ]


def read_yaml(path: Path):
    """Parse a YAML file; raise ValueError naming the file on a syntax error."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc


def split_front_matter(text: str) -> tuple[dict, str]:
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, flags=re.S)
    if not match:
        raise ValueError("no YAML front matter between --- lines")
    meta = yaml.safe_load(match.group(1))
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping")
    return meta, match.group(2)


def read_sources(root: Path) -> dict[str, str]:
    data = read_yaml(root / "sources.yaml") if (root / "sources.yaml").exists() else {}
    return {str(k): str(v) for k, v in (data or {}).items()}


def _read_lesson(path: Path, tree: ContentTree) -> Lesson | None:
    text = path.read_text(encoding="utf-8")
    try:
        raw, body = split_front_matter(text)
        meta = LessonMeta.model_validate(raw)
    except ValidationError as exc:
        tree.errors += _explain(path, exc)
        return None
    except (ValueError, yaml.YAMLError) as exc:
        tree.errors.append(f"{path}: {exc}")
        return None
    return Lesson(slug=path.stem, path=path, meta=meta, body=body, digest=digest(text))


def _read_module(path: Path, tree: ContentTree) -> Module | None:
    try:
        meta = ModuleFile.model_validate(read_yaml(path / "module.yaml"))
    except ValidationError as exc:
        tree.errors += _explain(path / "module.yaml", exc)
        return None
    except (ValueError, FileNotFoundError) as exc:
        tree.errors.append(f"{path}: {exc}")
        return None
    lessons = [_read_lesson(p, tree) for p in sorted(path.glob("*.md"))]
    return Module(
        slug=path.name, path=path, meta=meta, lessons=tuple(lesson for lesson in lessons if lesson)
    )


def read_track(path: Path, tree: ContentTree) -> Track | None:
    try:
        meta = TrackFile.model_validate(read_yaml(path / "track.yaml"))
    except ValidationError as exc:
        tree.errors += _explain(path / "track.yaml", exc)
        return None
    except (ValueError, FileNotFoundError) as exc:
        tree.errors.append(f"{path}: {exc}")
        return None
    modules = [_read_module(p, tree) for p in sorted(path.iterdir()) if p.is_dir()]
    return Track(path=path, meta=meta, modules=tuple(m for m in modules if m))


def read_content(root: Path) -> ContentTree:
    """Read every track under root; problems are collected, not raised."""
    tree = ContentTree(sources=read_sources(root))
    for code in TRACKS:
        if not (root / code).is_dir():
            tree.errors.append(f"{root / code}: the track folder is missing")
            continue
        track = read_track(root / code, tree)
        if track:
            tree.tracks[code] = track
    return tree
