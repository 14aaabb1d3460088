"""What the QTI routes answer with (the import report) and read (the import's defaults)."""

from pydantic import BaseModel, Field


class QtiItemOutcome(BaseModel):
    identifier: str
    outcome: str = Field(description="imported, unchanged or skipped")
    code: str | None = Field(default=None, description="The item's code in the bank")
    reason: str = ""


class QtiImportReport(BaseModel):
    """One line per item of the package; `refused` says why a package was refused whole."""

    package: str
    refused: str | None = None
    imported: int
    unchanged: int
    skipped: int
    items: list[QtiItemOutcome]


class QtiDefaults(BaseModel):
    """Fields for items that carry no bank metadata (from another system)."""

    track: str | None = None
    pool: str = "exam"
    domain: str | None = None
    module: str | None = None
    fact: str | None = None
    level: str | None = None
    source: str | None = Field(default=None, description="Comma-separated source ids")
