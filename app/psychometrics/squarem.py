"""Fixed-point iteration of an EM map, plain or accelerated by SQUAREM.

SQUAREM (Varadhan and Roland, 2008, scheme S3 with the step control of their R package
`SQUAREM`): from z0 take two EM steps z1 = F(z0), z2 = F(z1); with r = z1 - z0 and
v = z2 - 2 z1 + z0 the step length is alpha = |r| / |v|, held in [1, step_max]; the
extrapolated point z0 + 2 alpha r + alpha^2 v (alpha = 1 gives z2 itself) is clipped to the
parameter bounds and then stabilised by one more EM step. If the objective (marginal log
posterior) at the extrapolated point is lower than at z0 by more than `slack`, the cycle
falls back to z2, the plain EM steps, and step_max shrinks; each accepted step at step_max
lets step_max grow fourfold.

Both iterations stop on the same rule: a plain EM step from the current point moves no watched
parameter by more than tol. Under SQUAREM that step is the first of every cycle, taken from the
accelerated point, which is nearer the fixed point than a plain EM iterate whose step is as
small (a slow EM creeps: its step understates its distance from the fixed point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# step(z) -> (F(z), the objective at z (to be maximised), the largest change of a watched
# parameter from z to F(z))
Step = Callable[[np.ndarray], tuple[np.ndarray, float, float]]
Progress = Callable[[int, int], None] | None


@dataclass(frozen=True)
class Outcome:
    """The last point; EM steps taken (each one E-step and one M-step), cycles (SQUAREM
    cycles of up to three steps; equal to steps for plain EM), whether the stopping rule was
    met, and how many extrapolations were rejected."""

    z: np.ndarray
    steps: int
    cycles: int
    converged: bool
    rejected: int = 0


def plain(step: Step, z: np.ndarray, tol: float, max_steps: int, progress: Progress) -> Outcome:
    """Plain EM: z <- F(z) until no watched parameter moves more than tol."""
    for k in range(1, max_steps + 1):
        z, _, moved = step(z)
        if progress is not None:
            progress(k, max_steps)
        if moved < tol:
            return Outcome(z, k, k, True)
    return Outcome(z, max_steps, max_steps, False)


def squarem(
    step: Step, z: np.ndarray, tol: float, max_steps: int, progress: Progress,
    lower: np.ndarray, upper: np.ndarray, slack: float = 1.0, grow: float = 4.0,
) -> Outcome:  # fmt: skip
    """SQUAREM-accelerated EM (module docstring); at most max_steps EM steps in all."""
    steps = cycles = rejected = 0
    step_max = 1.0

    def call(x: np.ndarray) -> tuple[np.ndarray, float, float]:
        nonlocal steps
        steps += 1
        out = step(x)
        if progress is not None:
            progress(steps, max_steps)
        return out

    while steps < max_steps:
        cycles += 1
        z1, start, moved = call(z)
        if moved < tol:
            return Outcome(z1, steps, cycles, True, rejected)
        if steps >= max_steps:
            return Outcome(z1, steps, cycles, False, rejected)
        z2, _, _ = call(z1)
        r, v = z1 - z, z2 - 2 * z1 + z
        size = float(np.linalg.norm(v))
        alpha = min(max(float(np.linalg.norm(r)) / size if size > 0 else 1.0, 1.0), step_max)
        if alpha == 1.0 or steps >= max_steps:  # the plain steps (no objective lost)
            z = z2
            step_max *= grow if alpha == step_max else 1.0
            continue
        extrapolated = np.clip(z + 2 * alpha * r + alpha**2 * v, lower, upper)
        stabilised, reached, _ = call(extrapolated)
        if reached >= start - slack:  # (False for NaN)
            z = stabilised
            if alpha == step_max:
                step_max *= grow
        else:
            z, rejected = z2, rejected + 1
            step_max = max(1.0, step_max / grow)
    return Outcome(z, steps, cycles, False, rejected)
