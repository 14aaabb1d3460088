"""Summary statistics of a simulation: classification, precision, exposure, blueprint."""

from __future__ import annotations

from typing import Any

import numpy as np


def classification(theta_true: np.ndarray, passed: np.ndarray, cut: float) -> dict[str, float]:
    """Accuracy P(decision = truth); false pass P(pass | theta < cut); false fail likewise."""
    truth = theta_true >= cut
    return {
        "accuracy": float(np.mean(passed == truth)),
        "false_pass_rate": float(np.mean(passed[~truth])) if (~truth).any() else 0.0,
        "false_fail_rate": float(np.mean(~passed[truth])) if truth.any() else 0.0,
    }


def conditional(
    theta_true: np.ndarray, theta_hat: np.ndarray, se: np.ndarray, edges: np.ndarray
) -> list[dict[str, float]]:
    """Per ability bin [edges_k, edges_k+1): n, bias mean(hat - true), RMSE, mean reported SE."""
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (theta_true >= lo) & (theta_true < hi)
        if not sel.any():
            continue
        err = theta_hat[sel] - theta_true[sel]
        rows.append(
            {
                "lo": float(lo),
                "hi": float(hi),
                "n": int(sel.sum()),
                "bias": float(err.mean()),
                "rmse": float(np.sqrt((err**2).mean())),
                "mean_se": float(se[sel].mean()),
            }
        )
    return rows


def exposure(items: list[np.ndarray], n_pool: int) -> dict[str, Any]:
    """Exposure rates r_i = administrations / examinees; overlap between two candidates.

    Mean pairwise overlap = E|A cap B| / mean length, computed exactly as
    sum_i k_i (k_i - 1) / (E (E - 1)) / mean length, where k_i counts administrations of i.
    """
    e = len(items)
    k = np.bincount(np.concatenate(items), minlength=n_pool).astype(float)
    mean_len = float(np.mean([len(x) for x in items]))
    shared = float((k * (k - 1)).sum() / (e * (e - 1))) if e > 1 else 0.0
    rates = k / e
    return {
        "max_exposure": float(rates.max()),
        "share_never_used": float(np.mean(k == 0)),
        "mean_overlap": shared / mean_len if mean_len else 0.0,
        "rates": rates,
    }


def rounding_floor(length: int, weights: np.ndarray) -> float:
    """Smallest mean |n_d / L - w_d| any L-item form can reach (largest-remainder counts)."""
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    ideal = w * length
    counts = np.floor(ideal)
    order = np.argsort(-(ideal - counts), kind="stable")
    counts[order[: int(length - counts.sum())]] += 1
    return float(np.abs(counts / length - w).mean())


def blueprint_deviation(
    items: list[np.ndarray], domain_code: np.ndarray, weights: np.ndarray
) -> dict[str, float]:
    """Blueprint fidelity, in proportion units (x 100 for percentage points).

    mean_abs_deviation: mean over candidates and domains of |share_d - w_d|; floor: the same
    for the best possible integer counts at each candidate's length (odd lengths cannot hit
    0.15 exactly); pooled: mean over domains of |mean share_d - w_d| across candidates.
    domain_code: (N,) int code per pool item; weights: (D,).
    """
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    shares = np.array(
        [np.bincount(domain_code[x], minlength=len(w)) / max(len(x), 1) for x in items]
    )
    dev = np.abs(shares - w).mean(axis=1)
    floors = {n: rounding_floor(n, w) for n in {len(x) for x in items}}
    return {
        "mean_abs_deviation": float(dev.mean()),
        "max_abs_deviation": float(dev.max()),
        "floor": float(np.mean([floors[len(x)] for x in items])),
        "pooled": float(np.abs(shares.mean(axis=0) - w).mean()),
    }
