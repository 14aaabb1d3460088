"""Value types of the CAT engine: ItemPool, CatPolicy, AttemptState, ExamResult."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

import numpy as np

from app.psychometrics import estimation
from app.psychometrics.scoring import DEFAULT_SCALE, DomainDiagnostic, Scale

T = TypeVar("T")
STATE_VERSION = 2  # 2: log_post as base64 float64 bytes; version 1 (a list) still reads


def _readonly(values: Any, dtype: Any) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class ItemPool:
    """Items an attempt may draw from; arrays are (N,), aligned with ids.

    a, b, c: 3PL parameters (logit metric). domain: blueprint domain code per item.
    is_pretest: delivered unscored. eligible: pool-wide availability (False for retired or
    practice items, which then never get delivered). fact: the idea each item tests (items
    of one fact are enemies; None for none). kind: the item type (single, multiple,
    ordering, ...; None if unknown). Both are () when the pool was built without them.
    """

    ids: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    domain: tuple[str, ...]
    is_pretest: np.ndarray
    eligible: np.ndarray
    fact: tuple[str | None, ...] = ()
    kind: tuple[str | None, ...] = ()
    index: dict[str, int] = field(repr=False, default_factory=dict)
    _cache: dict[str, dict[Any, Any]] = field(init=False, repr=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def memo(self, kind: str, key: Hashable, build: Callable[[], T], limit: int) -> T:
        """A value derived from this pool, built once per (kind, key) and kept in a bounded
        table (oldest evicted first). Safe to call from several threads at once: worker
        threads of one server process share a pool."""
        with self._lock:
            hit = self._cache.setdefault(kind, {}).get(key)
        if hit is not None:
            return hit
        value = build()  # outside the lock; a racing thread may build it too, one wins
        with self._lock:
            table = self._cache[kind]
            value = table.setdefault(key, value)
            while len(table) > limit:
                del table[next(iter(table))]
        return value

    @classmethod
    def from_lists(
        cls,
        ids: Sequence[str],
        a: Sequence[float],
        b: Sequence[float],
        c: Sequence[float],
        domain: Sequence[str],
        is_pretest: Sequence[bool] | None = None,
        eligible: Sequence[bool] | None = None,
        fact: Sequence[str | None] | None = None,
        kind: Sequence[str | None] | None = None,
    ) -> ItemPool:
        """Build a pool from plain lists; raises ValueError on bad lengths, ids or parameters."""
        n = len(ids)
        pre = [False] * n if is_pretest is None else is_pretest
        ok = [True] * n if eligible is None else eligible
        facts = [None] * n if fact is None else fact
        kinds = [None] * n if kind is None else kind
        if any(len(x) != n for x in (a, b, c, domain, pre, ok, facts, kinds)):
            raise ValueError("all item lists must have the same length")
        if len(set(ids)) != n:
            raise ValueError("item ids must be unique")
        pool = cls(
            ids=tuple(str(i) for i in ids),
            a=_readonly(a, float),
            b=_readonly(b, float),
            c=_readonly(c, float),
            domain=tuple(str(d) for d in domain),
            is_pretest=_readonly(pre, bool),
            eligible=_readonly(ok, bool),
            fact=tuple(None if f is None else str(f) for f in facts),
            kind=tuple(None if k is None else str(k) for k in kinds),
        )
        if (pool.a <= 0).any() or (pool.c < 0).any() or (pool.c >= 1).any():
            raise ValueError("need a > 0 and 0 <= c < 1")
        pool.index.update({i: k for k, i in enumerate(pool.ids)})
        return pool


@dataclass(frozen=True)
class ExposureControl:
    """Sympson-Hetter exposure parameters K, conditional on the ability estimate.

    edges: B - 1 increasing cut points (logits); an estimate t is in band
    b = #{edges <= t}, so band 0 and band B - 1 are open-ended. k: (item id, (K_0 .. K_B-1))
    pairs, each K in [0, 1]; items not listed get 1 in every band. One band (edges ()) is
    the classic unconditional rule. stage_at > 0: two stages of the attempt, each with its
    own K per band; an item's K are then (K_0 .. K_B-1) for attempts with fewer than
    stage_at scored items and (K_B .. K_2B-1) from stage_at on (row(theta, n_scored)): the
    candidates whose estimate only passes through a band early in the test draw on other
    K than those who stay in it (docs/PSYCHOMETRICS.md 8.6). Hashable and JSON-safe through
    to_dict / from_value, so it can be frozen on an attempt as opaque data.
    """

    edges: tuple[float, ...] = ()
    k: tuple[tuple[str, tuple[float, ...]], ...] = ()
    stage_at: int = 0

    def __post_init__(self) -> None:
        edges = tuple(float(e) for e in self.edges)
        k = tuple((str(i), tuple(float(x) for x in ks)) for i, ks in self.k)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "stage_at", int(self.stage_at))
        if list(edges) != sorted(set(edges)):
            raise ValueError("exposure band edges must increase")
        if self.stage_at < 0:
            raise ValueError("an exposure stage starts at 0 or more scored items")
        for _, ks in k:
            if len(ks) != self.rows or not all(0.0 <= x <= 1.0 for x in ks):
                raise ValueError("each item needs one K in [0, 1] per exposure band and stage")

    @property
    def rows(self) -> int:
        """K per item: one per band, times two with stages."""
        return (len(self.edges) + 1) * (2 if self.stage_at else 1)

    @classmethod
    def from_value(cls, value: Any) -> ExposureControl | None:
        """From an ExposureControl, its to_dict form, or the unconditional forms used before
        bands existed (a mapping or pairs of item id -> K)."""
        if value is None or isinstance(value, ExposureControl):
            return value
        if isinstance(value, Mapping) and set(value) - {"stage_at"} == {"edges", "k"}:
            k = value["k"]
            pairs = k.items() if isinstance(k, Mapping) else k
            return cls(tuple(value["edges"]), tuple((i, tuple(ks)) for i, ks in pairs),
                       int(value.get("stage_at", 0)))  # fmt: skip
        pairs = value.items() if isinstance(value, Mapping) else value
        return cls(
            (), tuple((i, (x,) if isinstance(x, int | float) else tuple(x)) for i, x in pairs)
        )

    def to_dict(self) -> dict[str, Any]:
        """{"edges": [...], "k": {item id: [K per band (and stage)]}} and "stage_at" when
        there are stages: JSON types only."""
        out: dict[str, Any] = {"edges": list(self.edges), "k": {i: list(ks) for i, ks in self.k}}
        if self.stage_at:
            out["stage_at"] = self.stage_at
        return out

    def matrix(self, ids: Sequence[str]) -> np.ndarray:
        """(rows, N) K per band (and stage) for the pool's items (1 where not listed)."""
        out = np.ones((self.rows, len(ids)))
        where = {i: j for j, i in enumerate(ids)}
        for i, ks in self.k:
            j = where.get(i)
            if j is not None:
                out[:, j] = ks
        return out

    def band(self, theta: float) -> int:
        """The band of an estimate (logits)."""
        return int(np.searchsorted(np.asarray(self.edges), theta, side="right"))

    def row(self, theta: float, n_scored: int) -> int:
        """The row of matrix() that applies at an estimate after n_scored scored items."""
        late = self.stage_at and n_scored >= self.stage_at
        return self.band(theta) + (len(self.edges) + 1 if late else 0)


@dataclass(frozen=True)
class CatPolicy:
    """The exam policy frozen on an attempt.

    Lengths count scored items. cut_theta: the cut on the theta scale. ci_rule: stop once the
    ci_level interval excludes the cut. se_target: optional SE stopping rule (logits).
    blueprint: (domain, weight) pairs or a mapping (weights are normalised).
    randomesque_k: pick uniformly among the k most informative items. opening_k,
    opening_items: a wider randomesque k for the first opening_items delivered items only
    (spreads the opening items, which every attempt draws at the same estimate; off by default).
    sh_exposure: optional Sympson-Hetter parameters (ExposureControl, conditional on the
    band of the current estimate; a mapping item id -> K is read as one band). pretest_count:
    unscored items per attempt (as many as the pool has eligible pretest items at most).
    The EAP grid has grid_points on [-grid_bound, grid_bound]
    with a N(prior_mean, prior_sd^2) prior.
    a_strata, strata_at: a-stratification (Chang and Ying, 1999), off by default: the
    operational items are split into a_strata equal strata by ascending a, and stage s (from
    the s-th entry of strata_at, a count of scored items, onward) prefers stratum s: its
    items are ranked ahead of the others.
    select_at_cut: rank by information at cut_theta instead of at the estimate (the
    classification CAT criterion of Spray and Reckase, 1994); off by default.
    scale: the track's reported scale (scoring.Scale, or its to_dict form); the passing
    score is scale.cut_score(cut_theta).
    Content constraints (app.psychometrics.constraints), held in every attempt: with a
    blueprint, each domain within floor/ceil of weight x length at every length from min_items
    to max_items; fact_limit: at most this many delivered items per fact (items of one fact
    are enemies; 0 turns it off); type_max_share: (type, share) pairs, at most
    floor(share x max(length, min_items)) scored items of that type.
    """

    min_items: int = 30
    max_items: int = 60
    cut_theta: float = 0.0
    se_target: float | None = None
    ci_level: float = 0.95
    ci_rule: bool = True
    blueprint: tuple[tuple[str, float], ...] = ()  # a Mapping is accepted and normalised
    randomesque_k: int = 1
    opening_k: int = 1
    opening_items: int = 0
    sh_exposure: ExposureControl | None = None  # earlier forms are accepted (from_value)
    pretest_count: int = 0
    grid_points: int = estimation.GRID_POINTS
    grid_bound: float = 6.0
    prior_mean: float = 0.0
    prior_sd: float = 1.0
    a_strata: int = 1
    strata_at: tuple[int, ...] = ()
    select_at_cut: bool = False
    scale: Scale = DEFAULT_SCALE
    fact_limit: int = 1
    type_max_share: tuple[tuple[str, float], ...] = ()  # a Mapping is accepted, normalised

    def __post_init__(self) -> None:
        if isinstance(self.scale, Mapping):
            object.__setattr__(self, "scale", Scale.from_dict(self.scale))
        self.scale.cut_score(self.cut_theta)  # the cut must lie inside the reported scale
        object.__setattr__(self, "strata_at", tuple(int(n) for n in self.strata_at))
        steps = self.strata_at
        if self.a_strata < 1 or len(steps) != self.a_strata - 1 or list(steps) != sorted(steps):
            raise ValueError("need a_strata >= 1 and a_strata - 1 increasing strata_at")
        blueprint: Any = self.blueprint
        if isinstance(blueprint, Mapping):
            pairs = tuple((str(d), float(w)) for d, w in blueprint.items())
            object.__setattr__(self, "blueprint", pairs)
        object.__setattr__(self, "sh_exposure", ExposureControl.from_value(self.sh_exposure))
        shares: Any = self.type_max_share
        given = shares.items() if isinstance(shares, Mapping) else shares
        object.__setattr__(self, "type_max_share", tuple((str(t), float(x)) for t, x in given))
        if self.fact_limit < 0 or any(not 0 <= x <= 1 for _, x in self.type_max_share):
            raise ValueError("need fact_limit >= 0 and type shares in [0, 1]")
        if not 0 < self.min_items <= self.max_items:
            raise ValueError("need 0 < min_items <= max_items")
        if self.grid_points < 61:
            raise ValueError("the EAP grid needs at least 61 points")
        bounds = (-self.grid_bound, self.grid_bound)
        grid = estimation.make_grid(self.grid_points, bounds, self.prior_mean, self.prior_sd)
        object.__setattr__(self, "_grid", grid)  # derived, not a field: eq/hash/replace ignore it
        # Hashed once: a policy keys the engine's per-pool memo on every step.
        object.__setattr__(self, "_hash", hash(tuple(getattr(self, f.name) for f in fields(self))))

    def __hash__(self) -> int:
        return int(self.__dict__["_hash"])

    def to_dict(self) -> dict[str, Any]:
        """JSON types only (pairs become lists), for freezing the policy on an attempt."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["blueprint"] = [list(p) for p in self.blueprint]
        out["strata_at"] = list(self.strata_at)
        out["scale"] = self.scale.to_dict()
        out["type_max_share"] = [list(p) for p in self.type_max_share]
        if self.sh_exposure is not None:
            out["sh_exposure"] = self.sh_exposure.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CatPolicy:
        """Inverse of to_dict."""
        data = dict(data)
        data["blueprint"] = tuple((str(d), float(w)) for d, w in data.get("blueprint", ()))
        data["type_max_share"] = tuple(
            (str(t), float(x)) for t, x in data.get("type_max_share", ())
        )
        return cls(**data)

    def grid(self) -> estimation.Grid:
        """The EAP quadrature grid of this policy (built once, read-only)."""
        grid: estimation.Grid = self.__dict__["_grid"]
        return grid


@dataclass(frozen=True, eq=False)
class AttemptState:
    """Everything needed to resume an attempt; JSON-safe through to_dict / from_dict.

    item_ids, responses: delivered items in order and their scored outcome (pretest items
    included). pretest_slots: 0-based positions reserved for pretest items. log_post: (G,)
    log-posterior on the policy grid, max 0, after the scored responses. seed: the attempt's
    random seed.
    """

    seed: int
    item_ids: tuple[str, ...]
    responses: tuple[bool, ...]
    pretest_slots: tuple[int, ...]
    excluded_ids: tuple[str, ...]
    log_post: np.ndarray
    n_scored: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only. log_post is its 81 float64 values as base64 text: exact, and
        about 20x cheaper to encode than 81 JSON floats (each float's shortest repr is
        costly), which mattered because the state is written on every answer."""
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "item_ids": list(self.item_ids),
            "responses": list(self.responses),
            "pretest_slots": list(self.pretest_slots),
            "excluded_ids": list(self.excluded_ids),
            "log_post_f64": base64.b64encode(self.log_post.astype("<f8").tobytes()).decode(),
            "n_scored": self.n_scored,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttemptState:
        """Inverse of to_dict, also reading version 1 (log_post as a JSON list); raises
        ValueError on an unknown version or inconsistent data."""
        version = data.get("version")
        if version not in (1, STATE_VERSION):
            raise ValueError(f"unsupported attempt state version {version!r}")
        if len(data["item_ids"]) != len(data["responses"]):
            raise ValueError("item_ids and responses differ in length")
        if version == 1:
            log_post = np.array(data["log_post"], dtype=float)
        else:
            raw = base64.b64decode(data["log_post_f64"], validate=True)
            if len(raw) % 8:
                raise ValueError("log_post_f64 is not a whole number of float64 values")
            log_post = np.frombuffer(raw, dtype="<f8").astype(float)
        return cls(
            seed=int(data["seed"]),
            item_ids=tuple(str(i) for i in data["item_ids"]),
            responses=tuple(bool(r) for r in data["responses"]),
            pretest_slots=tuple(int(s) for s in data["pretest_slots"]),
            excluded_ids=tuple(str(i) for i in data.get("excluded_ids", ())),
            log_post=log_post,
            n_scored=int(data["n_scored"]),
        )


@dataclass(frozen=True)
class ExamResult:
    """Final result: EAP theta and SE (logits), pass/fail, scaled score, domain feedback.

    scaled_score is on the scale named scale_version, whose passing score was cut_score (the
    cut's scaled value when the result was reported).
    """

    theta: float
    se: float
    passed: bool
    scaled_score: int
    domains: tuple[DomainDiagnostic, ...]
    n_scored: int
    n_pretest: int
    reason: str | None
    scale_version: str = DEFAULT_SCALE.version
    cut_score: int = 500

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (domains as a list of dicts)."""
        out = asdict(self)
        out["domains"] = [asdict(d) for d in self.domains]
        return out
