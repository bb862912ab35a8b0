"""Densities on logarithmic bins (the form of every spectrum and gap distribution in 000)."""

import numpy as np

from .typing import Array, Float, typechecked

__all__ = ["log_binned_density"]


@typechecked
def log_binned_density(
    values: Float[Array, " n"] | Float[np.ndarray, " n"],
    *,
    n_bins: int = 40,
    low: float | None = None,
    high: float | None = None,
    total: int | None = None,
) -> tuple[Float[np.ndarray, " b"], Float[np.ndarray, " b"]]:
    """Density of the positive `values` on `n_bins` logarithmic bins between `low` and `high`.

    Default range: the smallest to the largest positive value (one decade centred on it when they
    coincide). Returns (geometric bin centres, density) with density = count / (total · bin width), so that
    Σ density · width = (number of values in range) / `total` (default: all values, positive or
    not). Spectral densities of 000 Fig. 7 and the gap distributions P±(Δ) of 000 Fig. 8 are drawn
    this way on log–log axes.
    """
    v = np.asarray(values, dtype=float)
    if n_bins < 1:
        raise ValueError(f"`n_bins` must be ≥ 1, got {n_bins}")
    positive = v[v > 0]
    if positive.size == 0:
        raise ValueError("`values` has no positive entry to bin on a logarithmic axis")
    if low is None and high is None and positive.min() == positive.max():
        low, high = positive[0] / np.sqrt(10.0), positive[0] * np.sqrt(10.0)  # one decade around it
    low = positive.min() if low is None else low
    high = positive.max() if high is None else high
    if not 0 < low < high:
        raise ValueError(f"need 0 < `low` < `high`, got low={low}, high={high}")
    edges = np.logspace(np.log10(low), np.log10(high), n_bins + 1)
    edges[0], edges[-1] = low, high  # 10**log10(v) may round below v and drop the extreme values
    counts, _ = np.histogram(positive, bins=edges)
    total = v.size if total is None else total
    return np.sqrt(edges[:-1] * edges[1:]), counts / (total * np.diff(edges))
