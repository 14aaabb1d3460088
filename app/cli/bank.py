"""`wmi bank`: the item banks in question_banks/."""

import textwrap
from pathlib import Path
from typing import Any

import typer

from app.cli.common import console, database, load_files, report_problems

app = typer.Typer(help="Item banks in question_banks/.", no_args_is_help=True)


@app.command("check")
def check(
    strict: bool = typer.Option(False, help="Fail on the rules checks.yaml lists as warn_only."),
    advice: bool = typer.Option(
        False, help="Also list the findings of the advice rules (checks.yaml `advice`)."
    ),
    track: list[str] = typer.Option([], help="With --advice: only these tracks' findings."),
) -> None:
    """Validate question_banks/: schema, facts, keys, cues, levels, duplicates, counts, sources.
    Advice rules (new rules not yet enforced) never fail it; --advice lists their findings."""
    from app.core.config import get_settings
    from app.itembank import checks

    settings = get_settings()
    report = checks.check_banks(settings.banks_dir, settings.content_dir, strict=strict)
    if advice:
        _print_advice([f for f in report.advice if not track or f.track in track])
    for warning in report.warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    report_problems(
        report.errors, f"{len(report.bank.items)} items; {len(report.warnings)} warnings"
    )


def _print_advice(findings: list) -> None:
    """Each advice finding (`advice: <file>: <item>: <rule>: <message>`), then counts per track
    and rule."""
    from collections import Counter

    for finding in findings:
        console.print(f"advice: {finding}", markup=False, highlight=False, soft_wrap=True)
    counts = Counter((f.track, f.rule) for f in findings)
    summary = ", ".join(f"{t} {r} {n}" for (t, r), n in sorted(counts.items())) or "none"
    console.print(f"advice findings: {len(findings)} ({summary})", markup=False, highlight=False)


@app.command("sample")
def sample(
    seed: int = typer.Option(..., help="The documented seed of the draw (write it in the review)."),
    size: int = typer.Option(30, min=1, help="Items per track."),
    track: list[str] = typer.Option(["CAWM", "WMP", "CWA"], help="Tracks to draw from."),
    out: Path | None = typer.Option(None, help="Write the Markdown packet here (default: print)."),
) -> None:
    """Draw random exam items per track for an independent review (docs/ITEM_REVIEW.md)."""
    from app.core.config import get_settings
    from app.itembank import sample as sampling
    from app.itembank.files import read_banks

    bank = read_banks(get_settings().banks_dir)
    text = sampling.packet(bank, tracks=tuple(track), seed=seed, n=size)
    if out is None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"{out}: {size} items per track, seed {seed}", markup=False)


@app.command("load")
def load(
    folder: Path | None = typer.Argument(
        None, help="A bank folder to load instead of WMI_BANKS_DIR (e.g. an export)."
    ),
) -> None:
    """Load question_banks/ into the database (an edited item becomes a new version)."""
    with database(migrated=True) as session:
        load_files(session, banks=True, banks_dir=folder)


@app.command("export")
def export(
    out: Path = typer.Argument(..., help="The folder to write (created if missing)."),
) -> None:
    """Write the database's items in the question_banks/ format (docs/QTI.md)."""
    from app.core.config import get_settings
    from app.itembank import bank_export

    with database(migrated=True) as session:
        report = bank_export.export_banks(session=session, out=out, source=get_settings().banks_dir)
    console.print(
        f"{out}: {report.items} items in {len(report.files)} files", markup=False, soft_wrap=True
    )


@app.command("stats")
def stats() -> None:
    """Counts per track, pool, domain, level and status; key and option-length distributions;
    per track the exam pool's level mix, items per fact and cue rates beside their chance."""
    from app.core.config import get_settings
    from app.itembank import checks, rules
    from app.itembank.files import read_banks

    settings = get_settings()
    bank = read_banks(settings.banks_dir)
    policy = rules.read_policy(settings.banks_dir, [])
    quality = rules.quality_lines(
        rules.quality(bank), fact_cap=policy.fact_cap, factor=policy.cue_factor
    )
    lines = stats_lines(checks.stats(bank), width=console.width) + [
        wrapped for line in quality for wrapped in _wrap(line, console.width)
    ]
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def stats_lines(counts: dict[str, dict[str, Any]], *, width: int) -> list[str]:
    """One block per track and pool, a figure per line, values wrapped (never cut) to width."""
    lines: list[str] = []
    for track, pools in counts.items():
        for pool, s in pools.items():
            lines += ["", f"{track} · {pool} pool: {s['items']} items"]
            for label, value in _pool_figures(s):
                lines += _wrap(f"  {label:<16}{value}", width)
    return lines


def _wrap(line: str, width: int) -> list[str]:
    """A figure line wrapped (never cut) to width, continuation lines under the value column."""
    if len(line) <= width or not line.strip():
        return [line]
    return textwrap.wrap(
        line, width=max(width, 40), subsequent_indent=" " * 18, break_on_hyphens=False
    )


def _pool_figures(s: dict[str, Any]) -> list[tuple[str, str]]:
    def counted(name: str) -> str:
        return " ".join(f"{k}:{v}" for k, v in sorted(s[name].items()))

    chars = sorted(s["option_chars"]) or [0]
    singles = max(1, s["singles"])
    return [
        ("domains", counted("domain")),
        ("levels", counted("level")),
        ("types", counted("type")),
        ("status", counted("status")),
        ("key A/B/C/D", " ".join(f"{s['key'][k] / singles:.0%}" for k in "ABCD")),
        ("key longest", f"{s['key_longest'] / singles:.0%} of single-answer items"),
        (
            "option length",
            f"min {chars[0]} · median {chars[len(chars) // 2]} · max {chars[-1]} characters",
        ),
    ]


@app.command("qti-export")
def qti_export(
    out: Path = typer.Argument(..., help="The package to write (a .zip)."),
    track: str = typer.Option(..., help="CAWM, WMP or CWA."),
    pool: str | None = typer.Option(None, help="exam, pretest or practice."),
    status: str | None = typer.Option(None, help="draft, pretest, operational or retired."),
    domain: str | None = typer.Option(None, help="A domain of the track (1-6, A-F)."),
    fact: str | None = typer.Option(None, help="A fact id of question_banks/facts.yaml."),
) -> None:
    """Export the filtered items as a QTI 3.0 content package (docs/QTI.md)."""
    from app.core.errors import AppError
    from app.itembank import qti

    filters = qti.Filters(track=track, pool=pool, status=status, domain=domain, fact=fact)
    with database(migrated=True) as session:
        try:
            data, count = qti.export_package(session, filters)
        except AppError as exc:
            console.print(exc.message, markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
    out.write_bytes(data)
    console.print(f"{out}: {count} items, {len(data)} bytes", markup=False, soft_wrap=True)


@app.command("qti-import")
def qti_import(
    package: Path = typer.Argument(..., exists=True, dir_okay=False, help="A QTI package (.zip)."),
    track: str | None = typer.Option(None, help="For items that carry no bank metadata."),
    pool: str = typer.Option("exam", help="For items that carry no bank metadata."),
    domain: str | None = typer.Option(None, help="For items that carry no bank metadata."),
    module: str | None = typer.Option(None, help="For items that carry no bank metadata."),
    fact: str | None = typer.Option(None, help="For items that carry no bank metadata."),
    level: str | None = typer.Option(None, help="For items that carry no bank metadata."),
    source: list[str] = typer.Option([], help="For items that carry no bank metadata."),
) -> None:
    """Import a QTI 3.0 package (or QTI 2.1 choice items) as draft items; print the report."""
    from app.core.clock import utcnow
    from app.core.config import get_settings
    from app.itembank import files, qti

    settings = get_settings()
    defaults = qti.Defaults(track, pool, domain, module, fact, level, tuple(source))
    with database(migrated=True) as session:
        report = qti.import_package(
            session=session,
            data=package.read_bytes(),
            name=package.name,
            facts=files.read_facts(settings.banks_dir, []),
            defaults=defaults,
            max_bytes=settings.qti_max_bytes,
            now=utcnow(),
        )
    for line in qti_report_lines(report):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    if report.refused:
        raise typer.Exit(1)


def qti_report_lines(report: Any) -> list[str]:
    """An import report in words: the refusal, or one line per item and the counts."""
    if report.refused:
        return [f"{report.package}: refused, nothing imported. {report.refused}"]
    lines = [
        f"{i.identifier}: {i.outcome}"
        + (f" as {i.code}" if i.outcome == "imported" else "")
        + (f". {i.reason}" if i.reason else "")
        for i in report.items
    ]
    counts = (report.count(k) for k in ("imported", "unchanged", "skipped"))
    return lines + ["{}: {} imported, {} unchanged, {} skipped".format(report.package, *counts)]
