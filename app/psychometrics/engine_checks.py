"""Checks of the engine's content constraints: violations of a state, problems of a pool.

Tests use violations to show that no reachable state breaks a constraint; the item bank
loader and the policy setter report pool_problems, so no candidate meets them.
"""

from __future__ import annotations

import numpy as np

from app.psychometrics import constraints
from app.psychometrics.engine_prepared import prepare
from app.psychometrics.engine_types import AttemptState, CatPolicy, ItemPool


def violations(state: AttemptState, policy: CatPolicy, pool: ItemPool) -> list[str]:
    """Every content constraint the delivered items break (empty when none), in words.

    Below min_items a state violates the blueprint when no continuation can meet the
    quotas at every stopping length; from min_items on, when it is outside them now.
    """
    prep = prepare(pool, policy)
    seen = np.fromiter((pool.index[i] for i in state.item_ids), int, len(state.item_ids))
    out = []
    if len(set(state.item_ids)) != len(state.item_ids):
        out.append("an item was delivered twice")
    if not pool.eligible[seen].all() or set(state.item_ids) & set(state.excluded_ids):
        out.append("an ineligible or excluded item was delivered")
    if prep.fact_code is not None:
        used = prep.fact_code[seen]
        counts = np.bincount(used[used >= 0]) if (used >= 0).any() else np.zeros(0, int)
        for f in np.flatnonzero(counts > policy.fact_limit):
            name = pool.fact[int(prep.fact_items[f][0])]
            out.append(f"fact {name!r} delivered {counts[f]} times (limit {policy.fact_limit})")
    scored = seen[~pool.is_pretest[seen]]
    n = len(scored)
    if n > policy.max_items:
        out.append(f"{n} scored items, more than max_items {policy.max_items}")
    if prep.plan is not None:
        counts = np.bincount(prep.domain_code[scored], minlength=len(prep.domains))
        if (prep.domain_code[scored] < 0).any() or not prep.plan.inside(counts, n):
            out.append(f"domain counts {counts.tolist()} after {n} scored items miss the quotas")
    if prep.type_code is not None:
        used = prep.type_code[scored]
        counts = np.bincount(used[used >= 0], minlength=len(prep.type_share))
        for t, (name, share) in enumerate(policy.type_max_share):
            if counts[t] > constraints.type_cap(share, n, policy.min_items):
                out.append(f"{counts[t]} items of type {name!r} after {n} scored items")
    return out


def pool_problems(policy: CatPolicy, pool: ItemPool) -> list[str]:
    """Why this pool cannot serve this policy in every attempt (empty when it can), in words.

    Checked when a pool is loaded or a policy is set, never in front of a candidate: the
    quotas must be satisfiable at every length, each domain must be able to supply its most
    items at max_items under the fact limit, the items outside capped types must fill what
    the caps leave, and the pool must supply max_items.
    """
    prep = prepare(pool, policy)
    out = []
    limit = policy.fact_limit if prep.fact_code is not None else 0
    codes = prep.fact_code if prep.fact_code is not None else np.full(len(pool.ids), -1)
    total = constraints.fact_capacity(codes, prep.operational, limit)
    if total < policy.max_items:
        out.append(
            f"the pool can supply {total} items to one attempt, max_items is {policy.max_items}"
        )
    if prep.plan is not None:
        if not prep.plan.feasible:
            out.append("the blueprint's quotas cannot hold at every length from min to max items")
        _, need = constraints.quota(prep.plan.weights, policy.max_items)
        for d, name in enumerate(prep.domains):
            have = constraints.fact_capacity(
                codes, prep.operational & (prep.domain_code == d), limit
            )
            if have < need[d]:
                out.append(
                    f"domain {name} can supply {have} items to one attempt, "
                    f"the blueprint needs up to {need[d]}"
                )
    if prep.type_code is not None:
        free = prep.operational & (prep.type_code < 0)
        capped = sum(
            constraints.type_cap(x, policy.max_items, policy.min_items) for x in prep.type_share
        )
        have = constraints.fact_capacity(codes, free, limit)
        if have + capped < policy.max_items:
            out.append(
                f"items of uncapped types supply {have}; "
                f"with the type caps ({capped}) that is under max_items"
            )
    if policy.pretest_count > int(prep.pretest.sum()):
        out.append(
            f"{int(prep.pretest.sum())} eligible pretest items "
            f"for {policy.pretest_count} pretest slots"
        )
    return out
