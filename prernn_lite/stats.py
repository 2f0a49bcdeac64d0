"""What a result means across seeds: 95 % intervals and the one rule for a clear difference.

Each number in the book's tables is a mean over a few training seeds; another seed would
move it. So it comes with a 95 % Student-t interval ``mean ± t · s / √n`` (``s`` the spread
over seeds, ``n − 1`` degrees of freedom): the true means these seeds are consistent with.
Built this way, 95 intervals in 100 contain the true mean. One seed gives no interval (NaN).

Arms ``a`` and ``b`` are compared through the interval of the difference ``a − b``.
**Paired** (:func:`paired_difference`) when both arms share each seed's data: a hard seed
is hard for both, subtracting seed by seed cancels that shared part, so the interval is
narrower and pairing sees a real gap that an unpaired comparison misses. **Unpaired**
(:func:`unpaired_difference`, Welch's interval) for arms that share no data.

**The rule** (:func:`verdict`): ``a`` is clearly better than ``b`` (``">"``) when the whole
95 % interval of ``a − b`` lies on ``a``'s better side of 0, clearly worse (``"<"``) when it
lies wholly on the other side, and otherwise ``"="``: *we cannot tell them apart with this
many seeds*, which is not the same as "they are equal".

A run that diverged (NaN or ±inf) is never dropped silently: it makes the estimate NaN (so
the verdict is ``"="``) and is counted in ``n_failed``; ``dropna=True`` computes over the
finite runs and still reports ``n_failed``. :func:`compare` and :func:`summary_table` read
the long runs tables of ``results/*_runs.csv`` (one row per arm and seed). The t quantile
is computed here (incomplete beta function), so scipy is not needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

Values = Sequence[float] | np.ndarray | pd.Series | Mapping[Any, float]  # one value per seed
__all__ = ["Comparison", "Interval", "compare", "mean_ci", "paired_difference",
           "summary_table", "t_quantile", "unpaired_difference", "verdict"]


@dataclass(frozen=True)
class Interval:
    """An estimate over seeds with its Student-t interval.

    Attributes
    ----------
    mean : the estimate: a mean over seeds, or a difference of means.
    low, high : the interval's bounds (NaN with fewer than two runs, or a failed run).
    n : runs the estimate is over (seed pairs for a paired difference, both arms for Welch).
    std : sample standard deviation (``ddof=1``) of the values or of the per-seed
        differences; NaN for Welch's difference, which has no single sample.
    n_failed : runs with a NaN/±inf value (kept, making the estimate NaN, unless dropped).
    se, dof, level : standard error, t degrees of freedom and coverage (e.g. 0.95):
        ``high - mean = t_quantile((1 + level) / 2, dof) * se``.
    """

    mean: float
    low: float
    high: float
    n: int
    std: float
    n_failed: int
    se: float
    dof: float
    level: float


@dataclass(frozen=True)
class Comparison:
    """One row of a comparison of arm ``a`` with arm ``b`` (see :func:`compare`)."""

    a: str
    b: str
    metric: str
    mean_a: float
    mean_b: float
    diff: float  # mean_a - mean_b
    low: float  # interval of a - b
    high: float
    n: int
    paired: bool
    verdict: str  # ">": a clearly better, "<": clearly worse, "=": cannot tell apart
    n_failed: int
    level: float


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 20_000):
        for aa in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            return h
    raise RuntimeError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def _t_sf(t: float, dof: float) -> float:
    """P(T > t) for t >= 0: half the regularized incomplete beta I_{dof/(dof+t²)}(dof/2, 1/2)."""
    a, b, x = dof / 2, 0.5, dof / (dof + t * t)
    if x >= 1.0:
        return 0.5
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return 0.5 * front * _betacf(a, b, x) / a
    return 0.5 * (1.0 - front * _betacf(b, a, 1.0 - x) / b)


def t_quantile(p: float, dof: float) -> float:
    """Quantile of Student's t distribution (what ``scipy.stats.t.ppf(p, dof)`` returns).

    ``dof`` may be fractional (Welch) or ``inf`` (the normal distribution); NaN gives NaN.

    Examples
    --------
    By hand: with 1 dof, t is Cauchy, so t_0.975 = tan(0.475 π) = 12.7062; with 2 dof
    t_p = (2p − 1) √(2 / (4p(1 − p))), so t_0.975 = 0.95 √(2 / 0.0975) = 4.3027.

    >>> round(t_quantile(0.975, 1), 4), round(t_quantile(0.975, 2), 4)
    (12.7062, 4.3027)
    >>> round(t_quantile(0.025, 2), 4), round(t_quantile(0.975, math.inf), 4)
    (-4.3027, 1.96)
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p}")
    if math.isnan(dof):
        return math.nan
    if dof <= 0:
        raise ValueError(f"dof must be positive, got {dof}")
    if math.isinf(dof):
        return NormalDist().inv_cdf(p)
    if p < 0.5:
        return -t_quantile(1.0 - p, dof)
    q = 1.0 - p  # upper tail; find t >= 0 with P(T > t) = q by bisection
    lo, hi = 0.0, 1.0
    while _t_sf(hi, dof) > q:
        lo, hi = hi, 2 * hi
    while hi - lo > 1e-14 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _t_sf(mid, dof) > q else (lo, mid)
    return 0.5 * (lo + hi)


def _as_1d(values: Any, name: str) -> np.ndarray:
    x = np.asarray(list(values.values()) if isinstance(values, Mapping) else values, float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must hold one value per seed (1-D, not empty), got {x.shape}")
    return x


def _finite_mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size and np.isfinite(x).all() else math.nan


def _interval(mean: float, se: float, dof: float, n: int, std: float, n_failed: int,
              level: float) -> Interval:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1 (e.g. 0.95), got {level}")
    half = math.nan if math.isnan(se) else 0.0  # se == 0: all seeds agree, no spread at all
    if se > 0:
        half = t_quantile(0.5 + level / 2, dof) * se
    return Interval(mean, mean - half, mean + half, n, std, n_failed, se, dof, level)


def _sample(x: np.ndarray, n_failed: int, level: float) -> Interval:
    n, mean = int(x.size), _finite_mean(x)
    std = float(x.std(ddof=1)) if n > 1 and not math.isnan(mean) else math.nan
    se, dof = std / math.sqrt(max(n, 1)), n - 1.0 if n else math.nan
    return _interval(mean, se, dof, n, std, n_failed, level)


def mean_ci(values: Values, level: float = 0.95, *, dropna: bool = False) -> Interval:
    """Mean over seeds with its Student-t interval (``n − 1`` degrees of freedom).

    Parameters
    ----------
    values : one value per seed (a sequence, array, Series, or dict seed -> value).
    level : coverage of the interval (default 0.95).
    dropna : False (default): a NaN/±inf run makes the result NaN; True: it is left out.
        Either way ``n_failed`` counts such runs.

    Examples
    --------
    By hand for 2, 4, 6: mean 4, s = √((2² + 0² + 2²) / 2) = 2, s/√3 = 1.1547,
    t_0.975 with 2 dof = 4.3027, half-width 4.3027 × 1.1547 = 4.9683 -> [-0.968, 8.968].

    >>> iv = mean_ci([2.0, 4.0, 6.0])
    >>> round(iv.mean, 3), round(iv.low, 3), round(iv.high, 3), iv.n
    (4.0, -0.968, 8.968, 3)

    A diverged run: NaN unless dropped. By hand over 0.5 and 0.7: mean 0.6, s = 0.1414,
    s/√2 = 0.1, t_0.975 with 1 dof = 12.706 -> 0.6 ± 1.2706.

    >>> iv = mean_ci([0.5, float("nan"), 0.7])
    >>> iv.mean, iv.n, iv.n_failed
    (nan, 3, 1)
    >>> iv = mean_ci([0.5, float("nan"), 0.7], dropna=True)
    >>> round(iv.low, 4), round(iv.high, 4), iv.n, iv.n_failed
    (-0.6706, 1.8706, 2, 1)
    """
    x = _as_1d(values, "values")
    failed = ~np.isfinite(x)
    return _sample(x[~failed] if dropna else x, int(failed.sum()), level)


def _by_seed(values: Any, name: str) -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=float)
    if s.index.has_duplicates:
        dup = pd.unique(s.index[s.index.duplicated()]).tolist()
        raise ValueError(f"{name} has more than one value for seed(s) {dup}")
    return s.astype(float)


def paired_difference(a: Values, b: Values, level: float = 0.95, *,
                      dropna: bool = False) -> Interval:
    """Mean of the per-seed differences ``a − b`` with its t interval (``n − 1`` dof).

    ``a`` and ``b`` are matched by seed label (Series index or dict key; a plain sequence
    counts as seeds 0, 1, ...), not by position. Both must hold the same seeds, else a
    ``ValueError`` names the seeds found in one arm only. A seed where either arm failed
    (NaN/±inf) counts in ``n_failed``; ``dropna`` as in :func:`mean_ci`.

    Examples
    --------
    By hand: differences 2, 3, 4 -> mean 3, s = 1, s/√3 = 0.5774, half-width
    4.3027 × 0.5774 = 2.4841 -> [0.516, 5.484]: all above 0.

    >>> iv = paired_difference({0: 12, 1: 23, 2: 34}, {2: 30, 0: 10, 1: 20})
    >>> round(iv.mean, 3), round(iv.low, 3), round(iv.high, 3), verdict(iv)
    (3.0, 0.516, 5.484, '>')
    """
    sa, sb = _by_seed(a, "a"), _by_seed(b, "b")
    only_a = [s for s in sa.index.tolist() if s not in sb.index]
    only_b = [s for s in sb.index.tolist() if s not in sa.index]
    if only_a or only_b:
        raise ValueError(f"paired_difference needs the same seeds in both arms; only in a: "
                         f"{only_a}, only in b: {only_b} (use unpaired_difference instead)")
    d = sa.to_numpy() - sb.reindex(sa.index).to_numpy()
    failed = ~np.isfinite(d)
    return _sample(d[~failed] if dropna else d, int(failed.sum()), level)


def unpaired_difference(a: Values, b: Values, level: float = 0.95, *,
                        dropna: bool = False) -> Interval:
    """Welch's interval for ``mean(a) − mean(b)``, for arms that share no data.

    ``se² = s_a²/n_a + s_b²/n_b`` and Welch–Satterthwaite degrees of freedom
    ``se⁴ / ((s_a²/n_a)² / (n_a − 1) + (s_b²/n_b)² / (n_b − 1))``. ``n`` is ``n_a + n_b``;
    ``std`` is NaN (there is no single sample). NaN bounds unless each arm has two runs.

    Examples
    --------
    The arms of :func:`paired_difference`'s example, unpaired, by hand: means 23 and 20,
    variances 121 and 100, se² = 121/3 + 100/3 = 73.67, se = 8.583, dof = 73.67² /
    ((121/3)²/2 + (100/3)²/2) = 3.964, t_0.975 ≈ 2.78 -> 3 ± 23.9: cannot tell apart.

    >>> iv = unpaired_difference([12, 23, 34], [10, 20, 30])
    >>> round(iv.se, 3), round(iv.dof, 3), round(iv.low, 1), round(iv.high, 1), verdict(iv)
    (8.583, 3.964, -20.9, 26.9, '=')
    """
    xa, xb = _as_1d(a, "a"), _as_1d(b, "b")
    fa, fb = ~np.isfinite(xa), ~np.isfinite(xb)
    n_failed = int(fa.sum() + fb.sum())
    if dropna:
        xa, xb = xa[~fa], xb[~fb]
    na, nb = xa.size, xb.size
    mean, se, dof = _finite_mean(xa) - _finite_mean(xb), math.nan, math.nan
    if na > 1 and nb > 1 and not math.isnan(mean):
        va, vb = xa.var(ddof=1) / na, xb.var(ddof=1) / nb
        se = math.sqrt(va + vb)
        dof = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1)) if se > 0 else na + nb - 2.0
    return _interval(mean, se, float(dof), na + nb, math.nan, n_failed, level)


def verdict(interval: Interval, higher_is_better: bool = True) -> str:
    """The one rule: ``">"`` a clearly better, ``"<"`` clearly worse, ``"="`` cannot tell.

    ``interval`` is the interval of ``a − b``. With ``higher_is_better`` (accuracy) ``">"``
    means the whole interval lies above 0; with ``higher_is_better=False`` (NME, a loss)
    ``">"`` means it lies below 0. An interval touching 0, or with NaN bounds (one seed, a
    failed run), gives ``"="``.

    >>> iv = paired_difference([0.12, 0.13, 0.14], [0.10, 0.10, 0.10])  # NME a − b > 0
    >>> verdict(iv), verdict(iv, higher_is_better=False)
    ('>', '<')
    """
    if interval.low > 0:
        return ">" if higher_is_better else "<"
    if interval.high < 0:
        return "<" if higher_is_better else ">"
    return "="


def _check_columns(runs: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"runs has no column(s) {missing}; columns: {list(runs.columns)}")


def _arm(runs: pd.DataFrame, arm: str, by: str, metric: str) -> pd.Series:
    rows = runs[runs["arm"] == arm]
    if rows.empty:
        raise ValueError(f"no arm {arm!r} in runs; arms: {pd.unique(runs['arm']).tolist()}")
    dup = pd.unique(rows[by][rows[by].duplicated()]).tolist()
    if dup:
        raise ValueError(f"arm {arm!r} has several rows for {by} {dup} (a sweep?): "
                         "select one row per seed first")
    return pd.Series(rows[metric].to_numpy(dtype=float), index=rows[by].to_numpy())


def compare(runs: pd.DataFrame, a: str, b: str, metric: str, by: str = "seed",
            higher_is_better: bool = True, paired: bool | None = None, level: float = 0.95,
            *, dropna: bool = False) -> Comparison:
    """Compare arm ``a`` with arm ``b`` of a long runs table on ``metric``.

    ``runs`` has one row per arm and seed (columns ``"arm"``, ``by`` and ``metric``, as in
    ``results/*_runs.csv``). ``paired=None`` pairs by ``by`` exactly when both arms hold the
    same seeds (pass ``False``, Welch, if equal seeds do not mean shared data); ``True``
    insists (``ValueError`` naming the unmatched seeds). Paired, ``mean_a`` and ``mean_b``
    are over the seeds used, so ``diff == mean_a - mean_b``. ``n``, ``n_failed`` and
    ``dropna`` as in the interval.

    >>> runs = pd.DataFrame({"arm": ["lstm"] * 3 + ["frame"] * 3, "seed": [0, 1, 2] * 2,
    ...                      "nme": [0.10, 0.12, 0.14, 0.12, 0.15, 0.17]})
    >>> c = compare(runs, "lstm", "frame", "nme", higher_is_better=False)
    >>> c.paired, round(c.diff, 4), c.n, c.verdict  # differences -0.02, -0.03, -0.03
    (True, -0.0267, 3, '>')
    """
    _check_columns(runs, ["arm", by, metric])
    sa, sb = _arm(runs, a, by, metric), _arm(runs, b, by, metric)
    if paired is None:
        paired = set(sa.index) == set(sb.index)
    if paired:
        iv = paired_difference(sa, sb, level, dropna=dropna)
        both = np.column_stack([sa.to_numpy(), sb.reindex(sa.index).to_numpy()])
        if dropna:
            both = both[np.isfinite(both).all(axis=1)]
        mean_a, mean_b = _finite_mean(both[:, 0]), _finite_mean(both[:, 1])
    else:
        iv = unpaired_difference(sa, sb, level, dropna=dropna)
        mean_a = mean_ci(sa, level, dropna=dropna).mean
        mean_b = mean_ci(sb, level, dropna=dropna).mean
    return Comparison(a, b, metric, mean_a, mean_b, iv.mean, iv.low, iv.high, iv.n,
                      bool(paired), verdict(iv, higher_is_better), iv.n_failed, level)


def summary_table(runs: pd.DataFrame, metric: str, by: str = "arm", level: float = 0.95, *,
                  dropna: bool = False, seed: str | None = "seed") -> pd.DataFrame:
    """Mean, interval, n, std and n_failed of ``metric`` per ``by``, in first-appearance order.

    When ``runs`` has a ``seed`` column, a group with a repeated seed (a sweep mixed in) is
    refused rather than averaged; ``seed=None`` skips that check. Below, ``b`` by hand as
    in :func:`mean_ci` (0.6 ± 12.706 × 0.1); ``a`` has a failed run.

    >>> runs = pd.DataFrame({"arm": ["b", "b", "a", "a"], "seed": [0, 1, 0, 1],
    ...                      "acc": [0.5, 0.7, 0.9, float("nan")]})
    >>> summary_table(runs, "acc").round(4)  # doctest: +NORMALIZE_WHITESPACE
         mean     low    high  n     std  n_failed
    arm
    b     0.6 -0.6706  1.8706  2  0.1414         0
    a     NaN     NaN     NaN  2     NaN         1
    """
    _check_columns(runs, [by, metric])
    rows, keys = [], []
    for key, group in runs.groupby(by, sort=False, dropna=False):
        if seed is not None and seed in runs.columns and group[seed].duplicated().any():
            raise ValueError(f"{by} {key!r} has several rows for one {seed} (a sweep?): "
                             "select one row per seed first")
        iv = mean_ci(group[metric], level, dropna=dropna)
        keys.append(key)
        rows.append({"mean": iv.mean, "low": iv.low, "high": iv.high, "n": iv.n,
                     "std": iv.std, "n_failed": iv.n_failed})
    columns = ["mean", "low", "high", "n", "std", "n_failed"]
    return pd.DataFrame(rows, index=pd.Index(keys, name=by), columns=columns)
