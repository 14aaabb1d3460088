"""`wmi simulate` and `wmi calibrate`: file-level commands around app.psychometrics.

The lead registers `simulate` and `calibrate` on the `wmi` app; `python -m app.cli_psychometrics`
runs them stand-alone. Both only read files and write a review folder; nothing here touches the
database or replaces live item parameters.
"""

from __future__ import annotations

import csv
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import typer
import yaml
from rich.console import Console
from rich.progress import Progress

from app.psychometrics import calibration, engine, metrics, simulation

console = Console()
main = typer.Typer(help="Psychometrics: CAT simulation and item calibration.", no_args_is_help=True)

DEFAULTS = {  # DESIGN.md section 2 and wmbok FACTS.md section 7, used when track.yaml is absent
    "CAWM": (30, 60, dict(zip("ABCDEF", (0.15, 0.20, 0.15, 0.20, 0.15, 0.15), strict=True))),
    "WMP": (40, 80, dict(zip("123456", (0.20, 0.15, 0.15, 0.20, 0.15, 0.15), strict=True))),
    "CWA": (40, 80, dict(zip("123456", (0.10, 0.15, 0.25, 0.15, 0.15, 0.20), strict=True))),
}


def load_policy(track: str, content_dir: Path = Path("content")) -> engine.CatPolicy:
    """The track's CatPolicy from content/<TRACK>/track.yaml (exam, blueprint), else defaults."""
    path = content_dir / track / "track.yaml"
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        exam = data.get("exam", {})
        blueprint = {str(d["code"]): float(d["weight"]) for d in data.get("blueprint", [])}
        return engine.CatPolicy(
            min_items=int(exam["min_items"]),
            max_items=int(exam["max_items"]),
            cut_theta=float(exam.get("cut_theta", 0.0)),
            pretest_count=int(exam.get("pretest_items", 0)),
            blueprint=blueprint,
        )
    lo, hi, blueprint = DEFAULTS[track]
    return engine.CatPolicy(min_items=lo, max_items=hi, pretest_count=5, blueprint=blueprint)


def _rows_from_file(path: Path) -> list[dict]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def load_bank(track: str, bank: Path | None, banks_dir: Path = Path("question_banks")):
    """ItemPool from --bank (CSV or YAML rows id,a,b,c,domain[,pretest]) or the track's files.

    From question_banks/<TRACK>/: exam items (retired ones ineligible) and pretest items;
    the practice pool is never loaded. Items without irt parameters are skipped.
    """
    rows: list[dict] = []
    if bank is not None:
        rows = [
            dict(
                r,
                pool="pretest"
                if str(r.get("pretest", "")).lower() in ("1", "true", "yes")
                else "exam",
            )
            for r in _rows_from_file(bank)
        ]
    else:
        for pool in ("exam", "pretest"):
            for path in sorted((banks_dir / track / pool).glob("*.yaml")):
                for item in _rows_from_file(path):
                    if isinstance(item, dict) and isinstance(item.get("irt"), dict):
                        rows.append({**item, **item["irt"], "pool": pool})
    if not rows:
        raise typer.BadParameter(f"no items with IRT parameters for {track}; pass --bank")
    return engine.ItemPool.from_lists(
        [str(r["id"]) for r in rows],
        [float(r["a"]) for r in rows],
        [float(r["b"]) for r in rows],
        [float(r.get("c") or 0.0) for r in rows],
        [str(r["domain"]) for r in rows],
        is_pretest=[r["pool"] == "pretest" for r in rows],
        eligible=[r.get("status", "operational") != "retired" for r in rows],
    )


def _progress_run(label: str, total: int, fn):
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task(label, total=total)
        return fn(lambda done: progress.update(task, completed=done))


def _fixed_form_rows(pool, policy, thetas, seed):
    rows = []
    forms = []
    for length in sorted({policy.min_items, policy.max_items}):
        forms.append(("", length, simulation.best_fixed_form(pool, length, policy.cut_theta)))
        if policy.blueprint:
            form = simulation.blueprint_fixed_form(pool, length, policy.cut_theta, policy.blueprint)
            forms.append((" (blueprint)", length, form))
    for label, length, form in forms:
        hat, se = simulation.simulate_fixed_form(
            form, pool, thetas, policy.grid(), np.random.default_rng([seed, length])
        )
        cls = metrics.classification(thetas, hat >= policy.cut_theta, policy.cut_theta)
        code = _domain_codes(pool, policy)
        dev = metrics.blueprint_deviation([form], code, np.array([w for _, w in policy.blueprint]))
        rows.append(
            {
                "design": f"fixed {len(form)}{label}",
                **cls,
                "mean_length": float(len(form)),
                "rmse": float(np.sqrt(np.mean((hat - thetas) ** 2))),
                "max_exposure": 1.0,
                "share_never_used": 1 - len(form) / pool_size(pool),
                "mean_overlap": 1.0,
                "blueprint_dev_pp": 100 * dev["mean_abs_deviation"],
                "blueprint_floor_pp": 100 * dev["floor"],
            }
        )
    return rows


def pool_size(pool) -> int:
    return int((~pool.is_pretest & pool.eligible).sum())


def _domain_codes(pool, policy) -> np.ndarray:
    lookup = {d: i for i, (d, _) in enumerate(policy.blueprint)}
    return np.array([lookup.get(d, -1) for d in pool.domain])


def _cat_row(run, pool, policy):
    code = _domain_codes(pool, policy)
    weights = np.array([w for _, w in policy.blueprint])
    exposure = metrics.exposure(run.items, len(pool.ids))
    ops = ~pool.is_pretest & pool.eligible
    dev = metrics.blueprint_deviation(run.items, code, weights)
    return {
        "design": "CAT",
        **metrics.classification(run.theta_true, run.passed, policy.cut_theta),
        "mean_length": float(run.length.mean()),
        "rmse": float(np.sqrt(np.mean((run.theta_hat - run.theta_true) ** 2))),
        "max_exposure": exposure["max_exposure"],
        "share_never_used": float(np.mean(exposure["rates"][ops] == 0)),
        "mean_overlap": exposure["mean_overlap"],
        "blueprint_dev_pp": 100 * dev["mean_abs_deviation"],
        "blueprint_floor_pp": 100 * dev["floor"],
    }


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _plots(out: Path, run, cond, pool) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(run.length, bins=np.arange(run.length.min(), run.length.max() + 2) - 0.5)
    ax.set(xlabel="scored items", ylabel="candidates", title="Test length")
    fig.tight_layout()
    fig.savefig(out / "length.png", dpi=110)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    mid = [(r["lo"] + r["hi"]) / 2 for r in cond]
    ax.plot(mid, [r["bias"] for r in cond], "o-", label="bias")
    ax.plot(mid, [r["rmse"] for r in cond], "s-", label="RMSE")
    ax.plot(mid, [r["mean_se"] for r in cond], "^-", label="mean reported SE")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="true theta", title="Conditional bias and precision")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "conditional.png", dpi=110)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    rates = metrics.exposure(run.items, len(pool.ids))["rates"]
    ax.hist(rates[~pool.is_pretest], bins=30)
    ax.set(xlabel="exposure rate", ylabel="items", title="Item exposure")
    fig.tight_layout()
    fig.savefig(out / "exposure.png", dpi=110)
    plt.close("all")
    return ["length.png", "conditional.png", "exposure.png"]


def _table(rows: list[dict], keys: list[str]) -> str:
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for r in rows:
        cells = [f"{r[k]:.4f}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


NOTES = """Fixed forms: the best items by information at the cut, scored by the same EAP; "fixed N"
ignores the blueprint, "fixed N (blueprint)" takes the best items within each domain's count
(largest remainders of weight x N). Rates: false_pass = P(pass | theta < cut), false_fail =
P(fail | theta >= cut). Exposure: share of candidates who saw the item; mean_overlap = expected
shared items between two candidates / mean length. blueprint_dev_pp: mean over candidates and
domains of |share - weight|; blueprint_floor_pp: the smallest value integer item counts allow
at the same lengths."""


def _report(out, header, designs, cond, reasons, plots) -> None:
    keys = [
        "design",
        "accuracy",
        "false_pass_rate",
        "false_fail_rate",
        "mean_length",
        "rmse",
        "max_exposure",
        "share_never_used",
        "mean_overlap",
        "blueprint_dev_pp",
        "blueprint_floor_pp",
    ]
    text = [f"# CAT simulation: {header['track']}", "", "```", header["command"], "```", ""]
    text += [f"- {k}: {v}" for k, v in header.items() if k not in ("track", "command")]
    text += ["", "## Designs side by side", "", _table(designs, keys), ""]
    text += [NOTES, ""]
    text += ["## Stop reasons", ""] + [f"- {k}: {v}" for k, v in sorted(reasons.items())]
    text += ["", "## Conditional bias and SE (CAT)", ""]
    text += [_table(cond, ["lo", "hi", "n", "bias", "rmse", "mean_se"]), ""]
    text += [f"![{p}]({p})" for p in plots]
    (out / "report.md").write_text("\n".join(text) + "\n", encoding="utf-8")


def simulate(
    track: str = typer.Option("CAWM", help="CAWM, WMP or CWA: exam policy and blueprint"),
    examinees: int = typer.Option(5000, help="simulated candidates, theta ~ N(0, 1)"),
    seed: int = typer.Option(1, help="seed of every random draw"),
    bank: Path | None = typer.Option(None, help="CSV or YAML rows id,a,b,c,domain[,pretest]"),
    out: Path | None = typer.Option(None, help="output folder [var/simulations/<track>-<seed>]"),
    sympson_hetter: float = typer.Option(0.25, help="max exposure rate r_max; 0 turns SH off"),
    sh_examinees: int = typer.Option(1000, help="candidates per Sympson-Hetter iteration"),
    sh_iterations: int = typer.Option(10, help="Sympson-Hetter iterations"),
    sh_margin: float = typer.Option(0.04, help="aim K at r_max minus this (sampling error)"),
    randomesque: int = typer.Option(1, help="randomesque k (1 = off)"),
    opening: tuple[int, int] = typer.Option((1, 0), help="randomesque k for the first n items"),
    synthetic: int = typer.Option(0, help="instead of a bank: N simulated 3PL items (issue 3)"),
    a_scale: float = typer.Option(1.0, help="with --synthetic: multiply every a by this"),
    min_items: int = typer.Option(0, help="override the track's minimum length (0 = keep)"),
    max_items: int = typer.Option(0, help="override the track's maximum length (0 = keep)"),
    a_strata: int = typer.Option(1, help="a-stratification: strata by ascending a (1 = off)"),
    strata_at: str = typer.Option("", help="scored-item counts starting strata 2.., e.g. 10"),
    select_at_cut: bool = typer.Option(False, help="rank by information at the cut"),
) -> None:
    """Run simulated candidates through the CAT engine and compare with fixed forms."""
    started = time.perf_counter()
    policy = load_policy(track)
    policy = replace(
        policy,
        randomesque_k=randomesque,
        opening_k=opening[0],
        opening_items=opening[1],
        min_items=min_items or policy.min_items,
        max_items=max_items or policy.max_items,
        a_strata=a_strata,
        strata_at=tuple(int(n) for n in strata_at.split(",") if n.strip()),
        select_at_cut=select_at_cut,
    )
    pool = _simulation_pool(policy, track, bank, synthetic, a_scale, seed)
    out = out or Path("var/simulations") / f"{track}-{seed}"
    out.mkdir(parents=True, exist_ok=True)
    if sympson_hetter > 0:
        rng = np.random.default_rng([seed, 0x5E])  # candidates get their own stream below
        k = _progress_run(
            "Sympson-Hetter",
            sh_iterations,
            lambda cb: simulation.derive_sympson_hetter(
                policy, pool, sympson_hetter, rng, sh_examinees, sh_iterations, cb, sh_margin
            ),
        )
        policy = replace(policy, sh_exposure=k)
        _write_csv(out / "sympson_hetter.csv", [{"id": i, "k": v} for i, v in k.items()])
    thetas = np.random.default_rng([seed, 0x7E]).normal(0.0, 1.0, examinees)
    run = _progress_run(
        "Candidates", examinees, lambda cb: simulation.simulate_cat(policy, pool, thetas, seed, cb)
    )
    designs = [_cat_row(run, pool, policy)] + _fixed_form_rows(pool, policy, thetas, seed)
    cond = _write_run(out, run, pool, designs)
    command = " ".join(
        ["wmi simulate", f"--track {track} --examinees {examinees} --seed {seed}"]
        + ([f"--bank {bank}"] if bank else [])
        + ([f"--synthetic {synthetic} --a-scale {a_scale}"] if synthetic else [])
        + ([f"--min-items {min_items}"] if min_items else [])
        + ([f"--max-items {max_items}"] if max_items else [])
        + ([f"--opening {opening[0]} {opening[1]}"] if opening[1] else [])
        + ([f"--sympson-hetter {sympson_hetter}"] if sympson_hetter != 0.25 else [])
        + ([f"--a-strata {a_strata} --strata-at {strata_at}"] if a_strata > 1 else [])
        + (["--select-at-cut"] if select_at_cut else [])
    )
    header = {
        "track": track,
        "command": command,
        "items (operational / pretest)": f"{pool_size(pool)} / {int(pool.is_pretest.sum())}",
        "policy": f"{policy.min_items}-{policy.max_items} scored, cut {policy.cut_theta}, "
        f"{policy.pretest_count} pretest, SH r_max {sympson_hetter or 'off'}, "
        f"randomesque {randomesque}",
        "seconds": f"{time.perf_counter() - started:.1f}",
    }
    reasons = {r: run.reason.count(r) for r in set(run.reason)}
    _report(out, header, designs, cond, reasons, _plots(out, run, cond, pool))
    console.print(
        _table(designs, ["design", "accuracy", "mean_length", "max_exposure", "blueprint_dev_pp"])
    )
    console.print(f"report: {out / 'report.md'}")


def _simulation_pool(policy, track, bank, synthetic, a_scale, seed) -> engine.ItemPool:
    """The track's bank, a --bank file, or a synthetic bank over the policy's domains."""
    if not synthetic:
        return load_bank(track, bank)
    weights = np.array([w for _, w in policy.blueprint])
    domains = tuple(d for d, _ in policy.blueprint)
    bank_rng = np.random.default_rng([seed, 0xBA])
    return simulation.generate_bank(bank_rng, synthetic, domains, weights, a_scale)


def _write_run(out: Path, run, pool, designs) -> list[dict]:
    """designs.csv, conditional.csv, candidates.csv, exposure.csv; returns the conditional rows."""
    cond = metrics.conditional(run.theta_true, run.theta_hat, run.se, np.arange(-3.0, 3.01, 0.5))
    _write_csv(out / "designs.csv", designs)
    _write_csv(out / "conditional.csv", cond)
    columns = (run.theta_true, run.theta_hat, run.se, run.passed, run.length, run.reason)
    _write_csv(
        out / "candidates.csv",
        [
            {"theta": t, "theta_hat": h, "se": s, "passed": bool(p), "length": int(n), "reason": r}
            for t, h, s, p, n, r in zip(*columns, strict=True)
        ],
    )
    rates = metrics.exposure(run.items, len(pool.ids))["rates"]
    _write_csv(
        out / "exposure.csv",
        [{"id": i, "rate": float(r)} for i, r in zip(pool.ids, rates, strict=True)],
    )
    return cond


def read_responses(path: Path) -> tuple[list[str], np.ndarray]:
    """Wide CSV: first column the candidate, one column per item id; 1 / 0 / blank (missing)."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [
            [float(v) if v.strip() not in ("", "NA", "nan") else np.nan for v in r[1:]]
            for r in reader
            if r
        ]
    return header[1:], np.array(rows, dtype=float)


def read_anchors(path: Path, item_ids: list[str]) -> calibration.Anchors:
    """Anchor CSV rows id,a,b,c (the operational parameters to hold fixed)."""
    given = {r["id"]: r for r in _rows_from_file(path)}
    mask = np.array([i in given for i in item_ids])
    pick = [
        (float(given[i]["a"]), float(given[i]["b"]), float(given[i].get("c") or 0))
        if i in given
        else (1.0, 0.0, 0.0)
        for i in item_ids
    ]
    a, b, c = (np.array(x) for x in zip(*pick, strict=True))
    return calibration.Anchors(mask, a, b, c)


def calibrate(
    responses: Path = typer.Option(..., help="wide CSV: candidate, then one column per item"),
    model: str = typer.Option("3pl", help="2pl or 3pl"),
    anchors: Path | None = typer.Option(None, help="CSV id,a,b,c of items to hold fixed"),
    out: Path = typer.Option(..., help="folder for the reviewable result"),
) -> None:
    """Estimate item parameters (MML-EM) into a review folder; live parameters are untouched."""
    started = time.perf_counter()
    item_ids, x = read_responses(responses)
    anchor_set = read_anchors(anchors, item_ids) if anchors else None
    console.print(f"{x.shape[0]} candidates x {x.shape[1]} items, model {model}")
    res = calibration.calibrate(x, model.lower(), anchors=anchor_set)
    out.mkdir(parents=True, exist_ok=True)
    fields = ("a", "b", "c", "se_a", "se_b", "se_c", "fit_chi2", "fit_p")
    rows = [
        {"id": i, **{f: float(getattr(res, f)[k]) for f in fields},
         "anchored": bool(res.anchored[k]), "n": int(res.n_responses[k]),
         "fit_df": int(res.fit_df[k]), "review": bool(res.fit_p[k] < 0.01)}
        for k, i in enumerate(item_ids)
    ]  # fmt: skip
    _write_csv(out / "parameters.csv", rows)
    flagged = [r["id"] for r in rows if r["review"]]
    command = f"wmi calibrate --responses {responses} --model {model}"
    command += (f" --anchors {anchors}" if anchors else "") + f" --out {out}"
    text = [
        "# Calibration result (for review; not applied)", "", "```", command, "```", "",
        f"- candidates x items: {x.shape[0]} x {x.shape[1]}; missing "
        f"{100 * np.isnan(x).mean():.1f}%",
        f"- EM cycles: {res.iterations} (converged: {res.converged}); "
        f"marginal log-likelihood {res.log_likelihood:.2f}",
        f"- anchored items: {int(res.anchored.sum())}; latent N({res.pop_mean:.3f}, "
        f"{res.pop_sd:.3f}^2)",
        f"- items flagged by the fit test (p < 0.01): {len(flagged)} {flagged[:20]}",
        f"- seconds: {time.perf_counter() - started:.1f}", "",
        "Parameters with standard errors and fit: `parameters.csv`.",
    ]  # fmt: skip
    (out / "summary.md").write_text("\n".join(text) + "\n", encoding="utf-8")
    console.print(f"result: {out / 'summary.md'} ({len(flagged)} items flagged for review)")


main.command("simulate")(simulate)
main.command("calibrate")(calibrate)

if __name__ == "__main__":
    main()
