"""Reading question_banks/: items as validated values (no database)."""

import hashlib
import json
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

POOLS = ("exam", "pretest", "practice")
LETTERS = string.ascii_uppercase
OPTION_COUNTS = {"single": (4, 4), "multiple": (5, 5), "ordering": (4, 5)}
PROVISIONAL_B = {1: -2.0, 2: -1.0, 3: 0.0, 4: 1.0, 5: 2.0}
PROVISIONAL_C = {"single": 0.2, "multiple": 0.1, "ordering": 0.05}
FACTS_FILE = "facts.yaml"
FACT_ID = r"^[a-z0-9]+(\.[a-z0-9-]+)+$"


class Fact(BaseModel):
    """One idea an item can test (question_banks/facts.yaml); items sharing a fact are enemies."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=FACT_ID, max_length=48)
    section: str = Field(pattern=r"^\d+(\.\d+)?$")
    tag: Literal["STATED", "INFERRED", "VARIANT", "GAP"]
    exam: bool
    why: str | None = Field(default=None, min_length=5)
    sources: list[str] = Field(min_length=1)
    misconceptions: list[int] = Field(default_factory=list)
    idea: str = Field(min_length=10, max_length=300)

    @model_validator(mode="after")
    def _exam_rule(self):
        if self.tag in ("INFERRED", "GAP") and self.exam:
            raise ValueError(f"an [{self.tag}] idea cannot be examinable (exam: false)")
        if not self.exam and not self.why:
            raise ValueError("an idea kept out of exams needs a `why`")
        return self


class FactCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1)
    facts: list[Fact]


def read_facts(root: Path, errors: list[str]) -> dict[str, Fact] | None:
    """The fact catalogue by id, or None when it cannot be read; problems go to `errors`."""
    path = root / FACTS_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        catalogue = FactCatalogue.model_validate(raw)
    except FileNotFoundError:
        errors.append(f"{path}: the fact catalogue is missing")
        return None
    except yaml.YAMLError as exc:
        errors.append(f"{path}: not valid YAML: {exc}")
        return None
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "catalogue"
            errors.append(f"{path}: schema: {where}: {err['msg']}")
        return None
    facts: dict[str, Fact] = {}
    for fact in catalogue.facts:
        if fact.id in facts:
            errors.append(f"{path}: {fact.id}: fact id used twice")
        facts[fact.id] = fact
    return facts


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
    fact: str = Field(pattern=FACT_ID, max_length=48)
    level: Literal["recall", "understand", "apply", "analyse", "evaluate"]
    type: Literal["single", "multiple", "ordering"]
    stem: str = Field(min_length=10, max_length=2000)
    options: list[Option]
    key: str | list[str]
    sources: list[str] = Field(min_length=1)
    difficulty: int = Field(ge=1, le=5)
    irt: Irt
    # review and approved come from the workbench (docs/AUTHORING.md): an export of the
    # database must load back unchanged; `wmi bank check` still wants the repository's pools to
    # hold only deliverable or retired items (checks.POOL_STATUS)
    status: Literal["draft", "review", "approved", "pretest", "operational", "retired"]

    @field_validator("domain", mode="before")
    @classmethod
    def _domain_string(cls, value):
        return str(value)

    @field_validator("fact")
    @classmethod
    def _fact_in_catalogue(cls, value: str, info: ValidationInfo) -> str:
        facts = (info.context or {}).get("facts")
        if facts is not None and value not in facts:
            raise ValueError(f"fact '{value}' is not in the fact catalogue ({FACTS_FILE})")
        return value

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
    facts: dict[str, Fact] | None = None  # None: the catalogue could not be read

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
            item = ItemFile.model_validate(entry, context={"facts": bank.facts})  # None: unchecked
            bank.items.append(BankItem(pool=pool, path=path, item=item))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "item"
                bank.errors.append(f"{path}: {label}: schema: {where}: {err['msg']}")


def read_banks(root: Path, tracks: tuple[str, ...] = ("CAWM", "WMP", "CWA")) -> Bank:
    """Read the fact catalogue and every pool file of every track; problems are collected, not
    raised. An item whose `fact` is not in the catalogue is a schema problem (and is not read)."""
    bank = Bank()
    bank.facts = read_facts(root, bank.errors)
    for track in tracks:
        for pool in POOLS:
            folder = root / track / pool
            if not folder.is_dir():
                bank.errors.append(f"{folder}: the pool folder is missing")
                continue
            for path in sorted(folder.glob("*.yaml")):
                _read_file(path, pool, bank)
    return bank
