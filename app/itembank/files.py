"""Reading question_banks/: items as validated values (no database)."""

import hashlib
import json
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

POOLS = ("exam", "pretest", "practice")
LETTERS = string.ascii_uppercase
OPTION_COUNTS = {"single": (4, 4), "multiple": (5, 5), "ordering": (4, 5)}
PROVISIONAL_B = {1: -2.0, 2: -1.0, 3: 0.0, 4: 1.0, 5: 2.0}
PROVISIONAL_C = {"single": 0.2, "multiple": 0.1, "ordering": 0.05}


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str = Field(min_length=1, max_length=600)
    rationale: str = Field(min_length=5, max_length=1200)


class Irt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    a: float = Field(gt=0, le=5)
    b: float = Field(ge=-6, le=6)
    c: float = Field(ge=0, lt=0.6)
    provisional: bool = True


class ItemFile(BaseModel):
    """One item as written in a bank file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^(CAWM|WMP|CWA)-[A-Z0-9]{1,3}-\d{3}$")
    version: int = Field(ge=1)
    domain: str
    module: str = Field(pattern=r"^[CPA][1-9]$")
    level: Literal["recall", "understand", "apply", "analyse", "evaluate"]
    type: Literal["single", "multiple", "ordering"]
    stem: str = Field(min_length=10, max_length=2000)
    options: list[Option]
    key: str | list[str]
    sources: list[str] = Field(min_length=1)
    difficulty: int = Field(ge=1, le=5)
    irt: Irt
    status: Literal["draft", "pretest", "operational", "retired"]

    @field_validator("domain", mode="before")
    @classmethod
    def _domain_string(cls, value):
        return str(value)

    @model_validator(mode="after")
    def _key_fits_type(self):
        low, high = OPTION_COUNTS[self.type]
        if not low <= len(self.options) <= high:
            raise ValueError(
                f"a {self.type} item needs {low}-{high} options, has {len(self.options)}"
            )
        letters = list(LETTERS[: len(self.options)])
        keys = [self.key] if isinstance(self.key, str) else list(self.key)
        if any(k not in letters for k in keys):
            raise ValueError(f"key {self.key} names an option that does not exist")
        if self.type == "single" and (not isinstance(self.key, str) or len(keys) != 1):
            raise ValueError("a single-best-answer item needs exactly one key letter")
        if self.type == "multiple" and (
            len(set(keys)) != len(keys) or not 2 <= len(keys) < len(letters)
        ):
            raise ValueError("a multiple-response item needs two or more distinct key letters")
        if self.type == "ordering" and sorted(keys) != letters:
            raise ValueError("an ordering key must list every option letter exactly once")
        return self

    @property
    def keys(self) -> list[str]:
        return [self.key] if isinstance(self.key, str) else list(self.key)

    @property
    def track(self) -> str:
        return self.id.split("-", 1)[0]

    def content_digest(self) -> str:
        """What identifies a version: everything a candidate sees or is scored on."""
        payload = self.model_dump(include={"stem", "options", "key", "type", "domain", "module"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class BankItem:
    pool: str
    path: Path
    item: ItemFile


@dataclass
class Bank:
    items: list[BankItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def of(self, track: str, pool: str | None = None) -> list[BankItem]:
        return [b for b in self.items if b.item.track == track and (pool is None or b.pool == pool)]


def _read_file(path: Path, pool: str, bank: Bank) -> None:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        bank.errors.append(f"{path}: not valid YAML: {exc}")
        return
    if not isinstance(raw, list):
        bank.errors.append(f"{path}: expected a YAML list of items")
        return
    for index, entry in enumerate(raw):
        label = (
            entry.get("id", f"item #{index + 1}") if isinstance(entry, dict) else f"#{index + 1}"
        )
        try:
            bank.items.append(BankItem(pool=pool, path=path, item=ItemFile.model_validate(entry)))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "item"
                bank.errors.append(f"{path}: {label}: schema: {where}: {err['msg']}")


def read_banks(root: Path, tracks: tuple[str, ...] = ("CAWM", "WMP", "CWA")) -> Bank:
    """Read every pool file of every track; problems are collected, not raised."""
    bank = Bank()
    for track in tracks:
        for pool in POOLS:
            folder = root / track / pool
            if not folder.is_dir():
                bank.errors.append(f"{folder}: the pool folder is missing")
                continue
            for path in sorted(folder.glob("*.yaml")):
                _read_file(path, pool, bank)
    return bank
