"""Results of the CAT engine (re-exported by app.psychometrics.engine): the EAP, pass/fail,
the scaled score and the domain diagnostics of an attempt, from its incremental posterior
(finalize) or recomputed from the response log (score_responses)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from app.psychometrics import estimation, scoring
from app.psychometrics.engine_prepared import prepare
from app.psychometrics.engine_types import AttemptState, CatPolicy, ExamResult, ItemPool
from app.psychometrics.stopping import StopReason


def _result(
    log_post: np.ndarray,
    scored: Sequence[tuple[int, bool]],
    n_pretest: int,
    policy: CatPolicy,
    pool: ItemPool,
    reason: StopReason | str | None,
) -> ExamResult:
    prep = prepare(pool, policy)
    est = estimation.eap_from_log_posterior(log_post, prep.grid)
    idx = np.array([j for j, _ in scored], dtype=int)
    u = np.array([r for _, r in scored], dtype=float)
    # recomputed from the responses (not the incremental posterior), so a result finalized
    # live and one scored again from the log have bit-for-bit the same diagnostics
    whole = estimation.log_posterior(prep.grid, pool.a[idx], pool.b[idx], pool.c[idx], u)
    diagnostics = []
    for d, name in enumerate(prep.domains):
        sel = prep.domain_code[idx] == d
        diagnostics.append(
            scoring.domain_diagnostic(
                name,
                prep.grid,
                pool.a[idx[sel]],
                pool.b[idx[sel]],
                pool.c[idx[sel]],
                u[sel],
                policy.cut_theta,
                whole,
            )
        )
    return ExamResult(
        theta=est.theta,
        se=est.se,
        passed=scoring.passed(est.theta, policy.cut_theta),
        scaled_score=scoring.scaled_score(est.theta, policy.cut_theta, policy.scale),
        domains=tuple(diagnostics),
        n_scored=len(scored),
        n_pretest=n_pretest,
        reason=str(reason) if reason is not None else None,
        scale_version=policy.scale.version,
        cut_score=policy.scale.cut_score(policy.cut_theta),
    )


def _split(
    responses: Iterable[tuple[str, bool]], pool: ItemPool
) -> tuple[list[tuple[int, bool]], int]:
    scored: list[tuple[int, bool]] = []
    n_pretest = 0
    for item_id, correct in responses:
        j = pool.index[item_id]
        if pool.is_pretest[j]:
            n_pretest += 1
        else:
            scored.append((j, bool(correct)))
    return scored, n_pretest


def finalize(
    state: AttemptState, policy: CatPolicy, pool: ItemPool, reason: StopReason | str | None
) -> ExamResult:
    """The result from the state's incremental posterior: EAP, pass/fail, scaled, domains."""
    scored, n_pretest = _split(zip(state.item_ids, state.responses, strict=True), pool)
    return _result(state.log_post, scored, n_pretest, policy, pool, reason)


def score_responses(
    responses: Iterable[tuple[str, bool]],
    policy: CatPolicy,
    pool: ItemPool,
    reason: StopReason | str | None = None,
) -> ExamResult:
    """Recompute the result from scratch from (item_id, correct) pairs, pretest ignored."""
    scored, n_pretest = _split(responses, pool)
    idx = np.array([j for j, _ in scored], dtype=int)
    u = np.array([r for _, r in scored], dtype=float)
    grid = prepare(pool, policy).grid
    log_post = estimation.log_posterior(grid, pool.a[idx], pool.b[idx], pool.c[idx], u)
    return _result(log_post, scored, n_pretest, policy, pool, reason)
