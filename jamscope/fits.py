"""Densities on logarithmic bins and power-law fits (spectra and gap distributions of 000 §V–VI).

The exponents θ and γ of the overlap distributions P₊(z) ∼ z^θ and P₋(Δ) ∼ |Δ|^(−γ) (000 §VI,
Fig. 8) are fitted by [`power_law_fit`][jamscope.fits.power_law_fit]: the maximum-likelihood
exponent of a power-law density truncated to a window, with a bootstrap standard error. The papers
state neither the fit window nor the method ("power laws for about two decades"); here both are
explicit arguments and part of the result.

Scaling laws y ∼ C x^a between two measured observables (‖ΔΘ‖/‖Θ₀‖ against α√h, ‖f − f̄‖
against N, …) are fitted by [`scaling_fit`][jamscope.fits.scaling_fit], least squares on log–log
axes, and ε(N) = ε∞ + B N^(−1/2) (004 eq. 13) by [`offset_fit`][jamscope.fits.offset_fit].
[`bootstrap_scaling_fit`][jamscope.fits.bootstrap_scaling_fit] does the same fit on the average of
repeated curves and resamples the repeats for a confidence interval (learning-curve β, aging μ).
"""

import dataclasses
import math
import warnings

import numpy as np
from scipy.optimize import brentq

from ._checks import check_finite, check_int_at_least
from .typing import Array, Float, typechecked

__all__ = ["log_binned_density", "PowerLawFit", "power_law_fit", "ScalingFit", "scaling_fit", "offset_fit",
           "BootstrapFit", "bootstrap_scaling_fit", "ExponentFit"]  # fmt: skip


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
    check_finite("values", v)
    if n_bins < 1:
        raise ValueError(f"`n_bins` must be ≥ 1, got {n_bins}")
    positive = v[v > 0]
    if positive.size == 0:
        raise ValueError("`values` has no positive entry to bin on a logarithmic axis")
    if low is None and high is None and positive.min() == positive.max():
        low, high = positive[0] / np.sqrt(10.0), positive[0] * np.sqrt(10.0)  # one decade around it
    low = positive.min() if low is None else low
    high = positive.max() if high is None else high
    if not 0 < low < high < np.inf:
        raise ValueError(f"need 0 < `low` < `high` < ∞, got low={low}, high={high}")
    edges = np.logspace(np.log10(low), np.log10(high), n_bins + 1)
    edges[0], edges[-1] = low, high  # 10**log10(v) may round below v and drop the extreme values
    counts, _ = np.histogram(positive, bins=edges)
    if total is not None:
        check_int_at_least("total", total, 1)
    total = v.size if total is None else total
    return np.sqrt(edges[:-1] * edges[1:]), counts / (total * np.diff(edges))


@dataclasses.dataclass(frozen=True)
class PowerLawFit:
    """A power-law density ρ(x) ∝ x^a fitted on the window [low, high].

    - `exponent`: a (θ = a for P₊(z) ∼ z^θ; γ = −a for P₋(Δ) ∼ |Δ|^(−γ)).
    - `stderr`: the bootstrap standard deviation of a (resampling the values in the window).
    - `low`, `high`: the window; `n_used`: the number of values in it; `n_total`: all positive values.
    """

    exponent: float
    stderr: float
    low: float
    high: float
    n_used: int
    n_total: int


def _mean_log_excess(b: float, span: float) -> float:
    """E[log(x/low)] for ρ(x) ∝ x^(b−1) on [low, low·e^span]."""
    if abs(b * span) < 1e-8:
        return span / 2 + b * span**2 / 12
    return span / -math.expm1(-b * span) - 1 / b


def _mle_exponent(logs: np.ndarray, span: float) -> float:
    """The a that makes the model's E[log(x/low)] equal the sample mean (the likelihood equation)."""
    target = float(np.mean(logs))
    bound = 600 / span  # e^{b·span} stays finite in float64
    return brentq(lambda b: _mean_log_excess(b, span) - target, -bound, bound, xtol=1e-12) - 1.0


@typechecked
def power_law_fit(
    values: Float[Array, " n"] | Float[np.ndarray, " n"],
    *,
    window: tuple[float, float] | None = None,
    quantiles: tuple[float, float] = (0.01, 0.5),
    n_bootstrap: int = 200,
    seed: int = 0,
) -> PowerLawFit:
    """Maximum-likelihood exponent a of ρ(x) ∝ x^a on a window, with a bootstrap error (000 Fig. 8).

    With u = log(x/low) ∈ [0, s], s = log(high/low), the truncated density is ∝ e^((a+1)u) and the
    likelihood equation is mean(u) = E_a[u] = s/(1 − e^(−(a+1)s)) − 1/(a+1), solved for a by
    Brent's method. Unlike a least-squares line through a log–log histogram, this uses every value
    and no bins. The window defaults to the `quantiles` of the positive values (the small-x side,
    where 000's critical power laws live); only values inside it are used. `stderr` is the standard
    deviation over `n_bootstrap` resamples of the values in the window.
    """
    v = np.asarray(values, dtype=float)
    check_finite("values", v)
    v = v[v > 0]
    check_int_at_least("n_bootstrap", n_bootstrap, 2)
    if window is None:
        if not 0 <= quantiles[0] < quantiles[1] <= 1:
            raise ValueError(f"`quantiles` must satisfy 0 ≤ q_low < q_high ≤ 1, got {quantiles}")
        if v.size < 2:
            raise ValueError(f"`values` needs at least 2 positive entries, got {v.size}")
        window = (float(np.quantile(v, quantiles[0])), float(np.quantile(v, quantiles[1])))
    low, high = window
    if not 0 < low < high:
        raise ValueError(f"`window` must satisfy 0 < low < high, got {window}")
    inside = v[(v >= low) & (v <= high)]
    if inside.size < 10:
        raise ValueError(
            f"only {inside.size} values of `values` fall in the window {window}; need at least 10"
        )
    span = math.log(high / low)
    logs = np.log(inside / low)
    rng = np.random.default_rng(seed)
    boot = [_mle_exponent(rng.choice(logs, logs.size), span) for _ in range(n_bootstrap)]
    return PowerLawFit(
        exponent=_mle_exponent(logs, span),
        stderr=float(np.std(boot, ddof=1)),
        low=float(low),
        high=float(high),
        n_used=int(inside.size),
        n_total=int(v.size),
    )


@dataclasses.dataclass(frozen=True)
class ScalingFit:
    """y = C x^a (or y = y∞ + B x^a for [`offset_fit`][jamscope.fits.offset_fit]) fitted on [low, high].

    - `exponent`: a; `stderr`: its least-squares standard error (NaN with fewer than 3 points).
    - `prefactor`: C (or B); `offset`: y∞ (0 for a pure power law).
    - `low`, `high`: the x-window; `n_used`: points in it.
    """

    exponent: float
    stderr: float
    prefactor: float
    offset: float
    low: float
    high: float
    n_used: int


def _window(x, y, low, high):
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"`x` and `y` must have the same number of values, got {x.size} and {y.size}")
    check_finite("x", x)
    for name, bound in (("low", low), ("high", high)):
        if bound is not None and math.isnan(bound):
            raise ValueError(f"`{name}` must be a number or None, got {bound}")
    low = -np.inf if low is None else low
    high = np.inf if high is None else high
    keep = (x >= low) & (x <= high) & np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep], float(low), float(high)


@typechecked
def scaling_fit(
    x: Float[np.ndarray, " n"] | Float[Array, " n"],
    y: Float[np.ndarray, " n"] | Float[Array, " n"],
    *,
    low: float | None = None,
    high: float | None = None,
) -> ScalingFit:
    """Least-squares fit of log y = log C + a log x over the points with `low` ≤ x ≤ `high`, x, y > 0.

    Used for the lazy-regime slope of the kernel change, ‖ΔΘ‖/‖Θ₀‖ ∼ (α√h)^(−1) (thesis ch. 3 §6),
    and the fluctuations ‖f − f̄‖ ∼ N^(−1/4) (004 eq. 9). Needs at least two points in the window.
    """
    xs, ys, low, high = _window(x, y, low, high)
    positive = (xs > 0) & (ys > 0)
    xs, ys = np.log(xs[positive]), np.log(ys[positive])
    if xs.size < 2 or np.ptp(xs) == 0:
        raise ValueError(
            f"need at least two distinct positive `x` in the window `low` ≤ x ≤ `high` = [{low}, {high}], "
            f"got {xs.size}"
        )
    slope, intercept = np.polyfit(xs, ys, 1)
    stderr = _slope_stderr(xs, ys, slope, intercept)
    return ScalingFit(float(slope), stderr, float(np.exp(intercept)), 0.0, low, high, int(xs.size))


def _slope_stderr(u, v, slope, intercept) -> float:
    if u.size < 3:
        return float("nan")
    residual = v - (slope * u + intercept)
    return float(np.sqrt(np.sum(residual**2) / (u.size - 2) / np.sum((u - u.mean()) ** 2)))


@typechecked
def offset_fit(
    x: Float[np.ndarray, " n"] | Float[Array, " n"],
    y: Float[np.ndarray, " n"] | Float[Array, " n"],
    *,
    exponent: float = -0.5,
    low: float | None = None,
    high: float | None = None,
) -> ScalingFit:
    """Least-squares fit of y = y∞ + B x^a with the exponent a fixed (004 eq. 13: ε(N) = ε∞ + B N^(−1/2)).

    Linear in (y∞, B); `stderr` is the standard error of B. Needs at least two points in the window.
    """
    xs, ys, low, high = _window(x, y, low, high)
    xs, ys = xs[xs > 0], ys[xs > 0]
    if xs.size < 2 or np.ptp(xs) == 0:
        raise ValueError(
            f"need at least two distinct positive `x` in the window `low` ≤ x ≤ `high` = [{low}, {high}], "
            f"got {xs.size}"
        )
    design = np.stack([np.ones_like(xs), xs**exponent], axis=1)
    (offset, amplitude), *_ = np.linalg.lstsq(design, ys, rcond=None)
    stderr = float("nan")
    if xs.size > 2:
        residual = ys - design @ np.array([offset, amplitude])
        covariance = np.linalg.inv(design.T @ design) * np.sum(residual**2) / (xs.size - 2)
        stderr = float(np.sqrt(covariance[1, 1]))
    return ScalingFit(float(exponent), stderr, float(amplitude), float(offset), low, high, int(xs.size))


@dataclasses.dataclass(frozen=True)
class ExponentFit:
    """A power-law exponent with its bootstrap interval: the one result of the fits of learning curves
    (β, [`fit_decay`][jamscope.learning_curves.fit_decay]), of nearest-neighbour distances (1/d_eff) and
    of aging (μ, [`fit_aging_exponent`][jamscope.aging.fit_aging_exponent]).

    - `exponent`: e of y ≈ C x^e, or of y ≈ C x^(−e) for a decay (the returning function says which);
      `prefactor`: C.
    - `ci_low`, `ci_high`: the percentile bootstrap interval of e over repeats (NaN with one repeat);
      `stderr`: the bootstrap standard deviation (the least-squares one with one repeat).
    - `low`, `high`, `n_used`: the window of x and the sizes in it; `n_repeats`: the repeats averaged.
    """

    exponent: float
    stderr: float
    ci_low: float
    ci_high: float
    prefactor: float
    low: float
    high: float
    n_used: int
    n_repeats: int


@dataclasses.dataclass(frozen=True)
class BootstrapFit:
    """A [`ScalingFit`][jamscope.fits.ScalingFit] of the average over `n_repeats` repeats, with the
    exponents a of the fits of resampled averages (`samples`, empty with one repeat)."""

    fit: ScalingFit
    samples: np.ndarray
    n_repeats: int

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The percentile bootstrap interval of a (NaN with one repeat)."""
        if self.samples.size == 0:
            return math.nan, math.nan
        tail = 50 * (1 - confidence)
        low, high = np.nanpercentile(self.samples, [tail, 100 - tail])
        return float(low), float(high)

    @property
    def stderr(self) -> float:
        """The bootstrap standard deviation of a (the least-squares one with one repeat)."""
        return float(np.nanstd(self.samples)) if self.samples.size else self.fit.stderr

    def exponent_fit(self, confidence: float = 0.95, *, decay: bool = False) -> ExponentFit:
        """The fit as an [`ExponentFit`][jamscope.fits.ExponentFit]: e = a, or e = −a for a decay."""
        low, high = self.interval(confidence)
        sign = -1.0 if decay else 1.0
        ci_low, ci_high = sorted((sign * low, sign * high)) if math.isfinite(low) else (low, high)
        fit = self.fit
        exponent = sign * fit.exponent
        return ExponentFit(exponent, self.stderr, ci_low, ci_high, fit.prefactor, fit.low, fit.high,
                           fit.n_used, self.n_repeats)  # fmt: skip


def _average(values: np.ndarray, geometric: bool) -> np.ndarray:
    if not geometric:
        return values.mean(axis=0)
    with warnings.catch_warnings():  # a column without any finite positive value averages to NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        logs = np.log(np.where(values > 0, values, np.nan))
        return np.exp(np.nanmean(logs, axis=0))


def _fit_or_nan(x, y, low, high) -> float:
    try:
        return scaling_fit(x, y, low=low, high=high).exponent
    except ValueError:  # a resample left fewer than two points in the window
        return math.nan


@typechecked
def bootstrap_scaling_fit(
    x: Float[np.ndarray, " n"],
    values: Float[np.ndarray, "repeats n"],
    *,
    low: float | None = None,
    high: float | None = None,
    geometric: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
) -> BootstrapFit:
    """[`scaling_fit`][jamscope.fits.scaling_fit] of the average of the repeated curves `values`
    (arithmetic, or `geometric`: exp ⟨log y⟩ over the finite positive values of each column), and of
    `n_boot` averages of repeats resampled with replacement (the percentile bootstrap over repeats)."""
    check_int_at_least("n_boot", n_boot, 1)
    fit = scaling_fit(x, _average(values, geometric), low=low, high=high)
    if values.shape[0] == 1:
        return BootstrapFit(fit, np.zeros(0), 1)
    picks = np.random.default_rng(seed).integers(0, values.shape[0], size=(n_boot, values.shape[0]))
    samples = np.array([_fit_or_nan(x, _average(values[p], geometric), low, high) for p in picks])
    return BootstrapFit(fit, samples, values.shape[0])
