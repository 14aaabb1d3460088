"""`wmi simulate` (and `wmi calibrate` from a CSV, app/cli/calibration.py): files in, a review
folder out.

Neither touches the database or replaces live item parameters. Inputs are read by
`psychometrics_inputs`, reports written by `psychometrics_reports`; numpy and the engine are
imported when a command runs, not when `wmi` starts.
"""

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from app.cli.common import console

if TYPE_CHECKING:
    from app.psychometrics import engine

app = typer.Typer()


@app.command("simulate")
def simulate(
    track: str = typer.Option("CAWM", help="CAWM, WMP or CWA: exam policy and blueprint"),
    examinees: int = typer.Option(5000, help="simulated candidates, theta ~ N(0, 1)"),
    seed: int = typer.Option(1, help="seed of every random draw"),
    bank: Path | None = typer.Option(None, help="CSV or YAML rows id,a,b,c,domain[,pretest]"),
    out: Path | None = typer.Option(None, help="output folder [var/simulations/<track>-<seed>]"),
    sympson_hetter: float = typer.Option(
        0.25, help="max exposure rate (the platform's design: WMI_EXPOSURE_*); 0 turns SH off"
    ),
    sh_examinees: int = typer.Option(0, help="candidates per SH iteration [the platform's]"),
    sh_iterations: int = typer.Option(0, help="Sympson-Hetter iterations [the platform's]"),
    sh_margin: float = typer.Option(-1.0, help="aim K at r_max minus this [the platform's]"),
    randomesque: int = typer.Option(1, help="randomesque k (1 = off)"),
    opening: tuple[int, int] = typer.Option((1, 0), help="randomesque k for the first n items"),
    synthetic: int = typer.Option(
        0, help="instead of a bank: N simulated 3PL items over the track's domains"
    ),
    a_scale: float = typer.Option(1.0, help="with --synthetic: multiply every a by this"),
    min_items: int = typer.Option(0, help="override the track's minimum length (0 = keep)"),
    max_items: int = typer.Option(0, help="override the track's maximum length (0 = keep)"),
    a_strata: int = typer.Option(1, help="a-stratification: strata by ascending a (1 = off)"),
    strata_at: str = typer.Option("", help="scored-item counts starting strata 2.., e.g. 10"),
    select_at_cut: bool = typer.Option(False, help="rank by information at the cut"),
    revision: int = typer.Option(
        0,
        help="a stored pool revision: its items and the very policy candidates get on it "
        "(exposure control included); the policy and bank options are then ignored",
    ),  # fmt: skip
) -> None:
    """Simulate candidates through the CAT engine against fixed forms (report, plots, CSV)."""
    import numpy as np

    from app.cli import psychometrics_reports as reports
    from app.psychometrics import simulation

    started = time.perf_counter()
    if revision:
        track, policy, pool = _revision_inputs(revision)
    else:
        policy = _policy(
            track, randomesque=randomesque, opening=opening, min_items=min_items,
            max_items=max_items, a_strata=a_strata, strata_at=strata_at,
            select_at_cut=select_at_cut,
        )  # fmt: skip
        pool = _simulation_pool(policy, track, bank, synthetic, a_scale, seed)
    out = out or Path("var/simulations") / (f"revision-{revision}-{seed}" if revision else
                                             f"{track}-{seed}")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    if sympson_hetter > 0 and not revision:
        policy = _with_sympson_hetter(
            policy, pool, out, sympson_hetter, seed, sh_examinees, sh_iterations, sh_margin
        )
    thetas = np.random.default_rng([seed, 0x7E]).normal(0.0, 1.0, examinees)
    run = _progress_run(
        "Candidates", examinees, lambda cb: simulation.simulate_cat(policy, pool, thetas, seed, cb)
    )
    designs = [reports.cat_row(run, pool, policy)]
    designs += reports.fixed_form_rows(pool, policy, thetas, seed)
    cond = reports.write_run(out, run, pool, designs)
    header = {
        "track": track,
        "command": _command_line(locals()),
        "items (operational / pretest)": f"{reports.pool_size(pool)} / "
        f"{int(pool.is_pretest.sum())}",
        "policy": f"{policy.min_items}-{policy.max_items} scored, cut {policy.cut_theta}, "
        f"{policy.pretest_count} pretest, SH r_max {sympson_hetter or 'off'}, "
        f"randomesque {randomesque}",
        "seconds": f"{time.perf_counter() - started:.1f}",
    }
    if revision:
        header["policy"] = f"pool revision {revision}: the policy candidates get, digest " + (
            _digest(policy)
        )
    reasons = {r: run.reason.count(r) for r in set(run.reason)}
    images = reports.plots(out, run, cond, pool)
    reports.write_report(out, header, designs, cond, reasons, images)
    console.print(reports.table(designs, reports.SUMMARY_KEYS))
    console.print(f"report: {out / 'report.md'}")
    if revision:
        console.print(f"policy {_digest(policy)} (pool revision {revision})", highlight=False)


def _policy(track: str, *, opening: tuple[int, int], strata_at: str, **given: Any):
    """The track's policy with the command's overrides (0 keeps the track's length)."""
    from dataclasses import replace

    from app.cli.psychometrics_inputs import load_policy

    policy = load_policy(track)
    return replace(
        policy,
        randomesque_k=given["randomesque"],
        opening_k=opening[0],
        opening_items=opening[1],
        min_items=given["min_items"] or policy.min_items,
        max_items=given["max_items"] or policy.max_items,
        a_strata=given["a_strata"],
        strata_at=tuple(int(n) for n in strata_at.split(",") if n.strip()),
        select_at_cut=given["select_at_cut"],
    )


def _revision_inputs(revision_id: int) -> tuple[str, "engine.CatPolicy", "engine.ItemPool"]:
    """Track, policy and pool of a stored pool revision, built by the function that builds
    them for an attempt starting now (app.exams.exposure.revision_parts)."""
    from app.cli.common import database
    from app.cli.pools_report import refused
    from app.core.clock import utcnow
    from app.exams import engine_bridge, exposure

    with database() as session, refused():
        parts = exposure.revision_parts(session, revision_id=revision_id, now=utcnow())
    return parts.track, parts.cat_policy, engine_bridge.item_pool(parts.items)


def _digest(policy) -> str:
    from app.exams.exposure import policy_digest

    return policy_digest(policy)


def _simulation_pool(policy, track, bank, synthetic, a_scale, seed) -> "engine.ItemPool":
    """The track's bank, a --bank file, or a synthetic bank over the policy's domains."""
    import numpy as np

    from app.cli.psychometrics_inputs import load_bank
    from app.psychometrics import simulation

    if not synthetic:
        return load_bank(track, bank)
    weights = np.array([w for _, w in policy.blueprint])
    domains = tuple(d for d, _ in policy.blueprint)
    bank_rng = np.random.default_rng([seed, 0xBA])
    return simulation.generate_bank(bank_rng, synthetic, domains, weights, a_scale)


def _with_sympson_hetter(policy, pool, out, r_max, seed, examinees, iterations, margin):
    """The policy with Sympson-Hetter exposure parameters derived by simulation for the
    platform's exposure design (exposure.design_of: its band cap and aims, the same object
    pool revisions are derived for), with the options given replacing its values (the K of
    each band written to sympson_hetter.csv)."""
    from dataclasses import replace

    import numpy as np

    from app.cli.psychometrics_reports import write_csv
    from app.core.config import get_settings
    from app.exams.exposure import design_of
    from app.psychometrics import simulation

    design = design_of(get_settings())
    given = {"cap": r_max, "aim": r_max - (design.cap - design.aim if margin < 0 else margin)}
    design = replace(design, **given, examinees=examinees or design.examinees,
                     iterations=iterations or design.iterations)  # fmt: skip
    rng = np.random.default_rng([seed, 0x5E])  # candidates get their own stream
    k = _progress_run(
        "Sympson-Hetter",
        design.iterations,
        lambda cb: simulation.derive_exposure(design, policy, pool, rng, cb),
    )
    bands = [f"k{b}" for b in range(k.rows)]  # per band (then per band of the second stage)
    write_csv(out / "sympson_hetter.csv",
              [{"id": i, **dict(zip(bands, v, strict=True))} for i, v in k.k])  # fmt: skip
    return replace(policy, sh_exposure=k)


def _progress_run(label: str, total: int, fn):
    from rich.progress import Progress

    with Progress(console=console, transient=False) as progress:
        task = progress.add_task(label, total=total)
        return fn(lambda done: progress.update(task, completed=done))


def _command_line(a: dict[str, Any]) -> str:
    """The `wmi simulate` command that reproduces the run (a: the command's arguments)."""
    return " ".join(
        ["wmi simulate", f"--track {a['track']} --examinees {a['examinees']} --seed {a['seed']}"]
        + ([f"--bank {a['bank']}"] if a["bank"] else [])
        + ([f"--synthetic {a['synthetic']} --a-scale {a['a_scale']}"] if a["synthetic"] else [])
        + ([f"--min-items {a['min_items']}"] if a["min_items"] else [])
        + ([f"--max-items {a['max_items']}"] if a["max_items"] else [])
        + ([f"--opening {a['opening'][0]} {a['opening'][1]}"] if a["opening"][1] else [])
        + ([f"--sympson-hetter {a['sympson_hetter']}"] if a["sympson_hetter"] != 0.25 else [])
        + ([f"--a-strata {a['a_strata']} --strata-at {a['strata_at']}"] * (a["a_strata"] > 1))
        + (["--select-at-cut"] if a["select_at_cut"] else [])
    )
