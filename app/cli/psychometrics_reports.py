"""What `wmi simulate` and `wmi calibrate` write: design rows, CSV files, plots, Markdown."""

import csv
from pathlib import Path
from typing import Any

import numpy as np

from app.psychometrics import calibration, engine, metrics, simulation

Row = dict[str, Any]

NOTES = """Fixed forms: the best items by information at the cut, scored by the same EAP; "fixed N"
ignores the blueprint, "fixed N (blueprint)" takes the best items within each domain's count
(largest remainders of weight x N). Rates: false_pass = P(pass | theta < cut), false_fail =
P(fail | theta >= cut). Exposure: share of candidates who saw the item; mean_overlap = expected
shared items between two candidates / mean length. blueprint_dev_pp: mean over candidates and
domains of |share - weight|; blueprint_floor_pp: the smallest value integer item counts allow
at the same lengths."""

DESIGN_KEYS = [
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
SUMMARY_KEYS = ["design", "accuracy", "mean_length", "max_exposure", "blueprint_dev_pp"]


def pool_size(pool: engine.ItemPool) -> int:
    """Operational items that may be chosen."""
    return int((~pool.is_pretest & pool.eligible).sum())


def _weights(policy: engine.CatPolicy) -> np.ndarray:
    return np.array([w for _, w in policy.blueprint])


def _domain_codes(pool: engine.ItemPool, policy: engine.CatPolicy) -> np.ndarray:
    lookup = {d: i for i, (d, _) in enumerate(policy.blueprint)}
    return np.array([lookup.get(d, -1) for d in pool.domain])


def fixed_form_rows(
    pool: engine.ItemPool, policy: engine.CatPolicy, thetas: np.ndarray, seed: int
) -> list[Row]:
    """The fixed forms at the policy's lengths, scored like the CAT, as design rows."""
    rows = []
    forms = []
    for length in sorted({policy.min_items, policy.max_items}):
        forms.append(("", length, simulation.best_fixed_form(pool, length, policy.cut_theta)))
        if policy.blueprint:
            form = simulation.blueprint_fixed_form(pool, length, policy.cut_theta, policy.blueprint)
            forms.append((" (blueprint)", length, form))
    for label, length, form in forms:
        hat, _ = simulation.simulate_fixed_form(
            form, pool, thetas, policy.grid(), np.random.default_rng([seed, length])
        )
        cls = metrics.classification(thetas, hat >= policy.cut_theta, policy.cut_theta)
        code = _domain_codes(pool, policy)
        dev = metrics.blueprint_deviation([form], code, _weights(policy))
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


def cat_row(run: simulation.CatRun, pool: engine.ItemPool, policy: engine.CatPolicy) -> Row:
    """The simulated CAT as a design row."""
    code = _domain_codes(pool, policy)
    weights = _weights(policy)
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


def write_csv(path: Path, rows: list[Row]) -> None:
    """Rows with the same keys, as CSV with a header."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def table(rows: list[Row], keys: list[str]) -> str:
    """A Markdown table of the rows' keys (floats to four places)."""
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for r in rows:
        cells = [f"{r[k]:.4f}" if isinstance(r[k], float) else str(r[k]) for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_run(
    out: Path, run: simulation.CatRun, pool: engine.ItemPool, designs: list[Row]
) -> list[Row]:
    """designs.csv, conditional.csv, candidates.csv, exposure.csv; returns the conditional rows."""
    cond = metrics.conditional(run.theta_true, run.theta_hat, run.se, np.arange(-3.0, 3.01, 0.5))
    write_csv(out / "designs.csv", designs)
    write_csv(out / "conditional.csv", cond)
    columns = (run.theta_true, run.theta_hat, run.se, run.passed, run.length, run.reason)
    write_csv(
        out / "candidates.csv",
        [
            {"theta": t, "theta_hat": h, "se": s, "passed": bool(p), "length": int(n), "reason": r}
            for t, h, s, p, n, r in zip(*columns, strict=True)
        ],
    )
    rates = metrics.exposure(run.items, len(pool.ids))["rates"]
    write_csv(
        out / "exposure.csv",
        [{"id": i, "rate": float(r)} for i, r in zip(pool.ids, rates, strict=True)],
    )
    return cond


def plots(out: Path, run: simulation.CatRun, cond: list[Row], pool: engine.ItemPool):
    """length.png, conditional.png and exposure.png; their names."""
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


def write_report(
    out: Path,
    header: dict[str, str],
    designs: list[Row],
    cond: list[Row],
    reasons: dict[str, int],
    images: list[str],
) -> None:
    """report.md: the command, the header, the designs side by side, stop reasons, plots."""
    text = [f"# CAT simulation: {header['track']}", "", "```", header["command"], "```", ""]
    text += [f"- {k}: {v}" for k, v in header.items() if k not in ("track", "command")]
    text += ["", "## Designs side by side", "", table(designs, DESIGN_KEYS), ""]
    text += [NOTES, ""]
    text += ["## Stop reasons", ""] + [f"- {k}: {v}" for k, v in sorted(reasons.items())]
    text += ["", "## Conditional bias and SE (CAT)", ""]
    text += [table(cond, ["lo", "hi", "n", "bias", "rmse", "mean_se"]), ""]
    text += [f"![{p}]({p})" for p in images]
    (out / "report.md").write_text("\n".join(text) + "\n", encoding="utf-8")


def write_calibration(
    out: Path, item_ids: list[str], x: np.ndarray, res: calibration.CalibrationResult,
    command: str, seconds: float,
) -> list[str]:  # fmt: skip
    """parameters.csv and summary.md of a calibration; the ids flagged for review."""
    fields = ("a", "b", "c", "se_a", "se_b", "se_c", "fit_chi2", "fit_p")
    rows = [
        {"id": i, **{f: float(getattr(res, f)[k]) for f in fields},
         "anchored": bool(res.anchored[k]), "n": int(res.n_responses[k]),
         "fit_df": int(res.fit_df[k]), "review": bool(res.fit_p[k] < 0.01)}
        for k, i in enumerate(item_ids)
    ]  # fmt: skip
    write_csv(out / "parameters.csv", rows)
    flagged = [r["id"] for r in rows if r["review"]]
    text = [
        "# Calibration result (for review; not applied)", "", "```", command, "```", "",
        f"- candidates x items: {x.shape[0]} x {x.shape[1]}; missing "
        f"{100 * np.isnan(x).mean():.1f}%",
        f"- EM steps: {res.iterations} in {res.cycles} SQUAREM cycles (converged: "
        f"{res.converged}); "
        f"marginal log-likelihood {res.log_likelihood:.2f}",
        f"- anchored items: {int(res.anchored.sum())}; latent N({res.pop_mean:.3f}, "
        f"{res.pop_sd:.3f}^2)",
        f"- items flagged by the fit test (p < 0.01): {len(flagged)} {flagged[:20]}",
        f"- seconds: {seconds:.1f}", "",
        "Parameters with standard errors and fit: `parameters.csv`.",
    ]  # fmt: skip
    (out / "summary.md").write_text("\n".join(text) + "\n", encoding="utf-8")
    return flagged
