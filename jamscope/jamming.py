"""Jamming observables and the search for the jamming point N* (000 §II–VI; thesis ch. 1–2).

- [`gaps`][jamscope.jamming.gaps]: the overlaps Δ_μ = ε − y_μ f(x_μ) (000 eq. 9);
  [`n_delta`][jamscope.jamming.n_delta]: N_Δ = #{Δ_μ > 0}, the unsatisfied patterns ("forces");
  [`n_misclassified`][jamscope.jamming.n_misclassified]: #{y_μ f(x_μ) ≤ 0}. A pattern with
  0 < Δ < ε is unsatisfied but still correctly classified.
- [`overlap_distributions`][jamscope.jamming.overlap_distributions]: P₊(z), z = Δ/√L for Δ > 0, and
  P₋(Δ) for Δ < 0 (000 §VI, Fig. 8), log-binned, with fitted exponents P₊ ∼ z^θ, P₋ ∼ |Δ|^(−γ).
- N* from end states (the one definition used everywhere): [`point_outcome`][jamscope.jamming.point_outcome]
  turns the certified end states of a seed ensemble ([`jamscope.end_state`][jamscope.end_state]) into
  the outcome of one point, and [`jamming_bracket`][jamscope.jamming.jamming_bracket] brackets P/N*
  between the largest fitted and the smallest jammed ratio P/N (000 §III, Figs. 5c and 6).
- [`find_jamming`][jamscope.jamming.find_jamming]: bisection in the width at fixed P (or in P at
  fixed width) for that change of outcome.
"""

import dataclasses
import math
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from tqdm.auto import tqdm

from ._checks import check_finite, check_in_range, check_int_at_least, check_positive, check_trailing_shape
from .data import Dataset
from .end_state import FITTED, FROZEN, JAMMED, UNDECIDED, EndCriterion
from .fits import PowerLawFit, log_binned_density, power_law_fit
from .losses import AbstractMarginLoss, misclassified
from .nets import AbstractNet, ensemble, n_params, outputs
from .train import AbstractMethod, train
from .typing import Array, Float, Int, PRNGKeyArray, Real, typechecked

__all__ = [
    "gaps",
    "n_delta",
    "n_misclassified",
    "OverlapDistributions",
    "overlap_distributions",
    "point_outcome",
    "jamming_bracket",
    "JammingSearch",
    "find_jamming",
]


def _binary_outputs(model: AbstractNet, data: Dataset) -> Array:
    if model.n_outputs != 1:
        raise ValueError(
            f"gaps are defined for scalar-output models (000 eq. 9), `model` has {model.n_outputs} outputs"
        )
    if data.n_classes != 2:
        raise ValueError(
            f"gaps are defined on binary ±1 labels (000 eq. 9), `data.y` has {data.n_classes} classes"
        )
    check_trailing_shape("data.x", data.x, model.input_shape)
    return outputs(model, data.x)


@typechecked
def gaps(loss: AbstractMarginLoss, model: AbstractNet, data: Dataset) -> Float[Array, " P"]:
    """Δ_μ = ε − y_μ F(x_μ) with ε = `loss.margin` (000 eq. 9): Δ > 0 unsatisfied, Δ < 0 satisfied."""
    return loss.gaps(_binary_outputs(model, data), data.y)


@typechecked
def n_delta(loss: AbstractMarginLoss, model: AbstractNet, data: Dataset) -> Int[Array, ""]:
    """N_Δ = #{μ : Δ_μ > 0}, the number of unsatisfied patterns (000 §II)."""
    return jnp.sum(gaps(loss, model, data) > 0)


@typechecked
def n_misclassified(model: AbstractNet, data: Dataset) -> Int[Array, ""]:
    """#{μ : y_μ F(x_μ) ≤ 0}, the training errors (000 Fig. 6c); f = 0 counts as an error."""
    return jnp.sum(misclassified(_binary_outputs(model, data), data.y))


@typechecked
def point_outcome(outcomes: Int[Array, " K"] | Int[np.ndarray, " K"], fraction: float = 0.5) -> int:
    """The outcome of one point (one N, one P) from the end states of its K runs.

    [`FITTED`][jamscope.end_state.FITTED] when at least `fraction` of the runs fitted (default half:
    a median criterion); [`JAMMED`][jamscope.end_state.JAMMED] when so many runs are certified
    jammed that fewer than `fraction` would fit even if every undecided run did;
    [`UNDECIDED`][jamscope.end_state.UNDECIDED] otherwise. Undecided and
    [`FROZEN`][jamscope.end_state.FROZEN] runs never count as fitted or jammed: a frozen run cannot
    fit, but its loss is held by dead units, not by the constraints that make a point jammed.
    """
    _check_fraction(fraction)
    codes = np.asarray(outcomes)
    if codes.size == 0 or not np.all(np.isin(codes, (UNDECIDED, FITTED, JAMMED, FROZEN))):
        raise ValueError(f"`outcomes` must be a non-empty array of end-state codes 0, 1, 2, 3, got {codes}")
    if np.mean(codes == FITTED) >= fraction:
        return FITTED
    return JAMMED if np.mean(codes != JAMMED) < fraction else UNDECIDED


@typechecked
def jamming_bracket(
    p_over_n: Real[Array, " M"] | Real[np.ndarray, " M"],
    outcomes: Int[Array, " M"] | Int[np.ndarray, " M"],
) -> tuple[float, float]:
    """(r_fitted, r_jammed) with P/N* ∈ [r_fitted, r_jammed): r_jammed is the smallest ratio P/N
    whose point is jammed and r_fitted the largest ratio below it whose point fitted
    ([`point_outcome`][jamscope.jamming.point_outcome]); the points may vary N at fixed P (000 Fig. 5c)
    or P at fixed N (000 Fig. 6). Undecided points in between widen the bracket; NaN where no fitted
    point lies below a jammed one.
    """
    ratio, codes = np.asarray(p_over_n, dtype=float), np.asarray(outcomes)
    check_finite("p_over_n", ratio)
    if ratio.shape != codes.shape:
        raise ValueError(
            f"`p_over_n` and `outcomes` must have one entry per point, got {ratio.shape} and {codes.shape}"
        )
    jammed = ratio[codes == JAMMED]
    if jammed.size == 0:
        return math.nan, math.nan
    below = ratio[(codes == FITTED) & (ratio < jammed.min())]
    return (float(below.max()), float(jammed.min())) if below.size else (math.nan, math.nan)


def _check_fraction(fraction: float) -> None:
    if not 0 < fraction <= 1:
        raise ValueError(f"`fraction` must lie in (0, 1], got {fraction!r}")


# ----------------------------------------------------------------------------------------------
# Overlap distributions


@dataclasses.dataclass(frozen=True)
class OverlapDistributions:
    """P₊(z), z = Δ/√L, over the unsatisfied patterns and P₋(|Δ|) over the satisfied ones (000 Fig. 8).

    - `z`, `p_plus`: log-bin centres and density of z = Δ/√L (Δ > 0), normalized over Δ > 0.
    - `abs_delta`, `p_minus`: the same for |Δ| with Δ < 0, normalized over Δ < 0.
    - `theta`: fit of P₊ ∼ z^θ (exponent = θ); `gamma`: fit of P₋ ∼ |Δ|^(−γ) (exponent = −γ,
      so γ = −gamma.exponent). Each carries its window and bootstrap error.
    - `n_plus`, `n_minus`: the numbers of unsatisfied and satisfied patterns pooled.
    """

    z: np.ndarray
    p_plus: np.ndarray
    abs_delta: np.ndarray
    p_minus: np.ndarray
    theta: PowerLawFit
    gamma: PowerLawFit
    n_plus: int
    n_minus: int


@typechecked
def overlap_distributions(
    gaps: Float[Array, " R P"] | Float[np.ndarray, " R P"],
    losses: Float[Array, " R"] | Float[np.ndarray, " R"],
    *,
    n_bins: int = 30,
    theta_window: tuple[float, float] | None = None,
    gamma_window: tuple[float, float] | None = None,
    n_bootstrap: int = 200,
    min_value: float = 1e-8,
    seed: int = 0,
) -> OverlapDistributions:
    """Pool the gaps of R runs into P₊(Δ/√L) and P₋(Δ) and fit θ and γ (000 §VI, Fig. 8).

    Each run's positive gaps are divided by the square root of its own loss L (000 Fig. 8a: the
    forces scale as √L near jamming); NaN entries (padding of runs with fewer patterns) are dropped.
    Fit windows default to the 1 %–50 % quantiles of each side's values above `min_value` (see
    [`power_law_fit`][jamscope.fits.power_law_fit]); the papers report "about two decades". The
    cut keeps out the patterns that gradient descent leaves at |Δ| ≈ 0 (10⁻¹⁵–10⁻⁹ in float64:
    the last contacts creep to Δ = 0 without crossing), which are numerical, not critical.
    """
    g = np.asarray(gaps, dtype=float)
    loss_values = np.asarray(losses, dtype=float)
    check_finite("losses", loss_values)
    check_positive("min_value", min_value, allow_zero=True)
    if np.any(np.isinf(g)):
        raise ValueError("`gaps` must be finite (NaN marks padding), found ±inf")
    if np.any(loss_values <= 0):
        raise ValueError("`losses` must be > 0: runs at L = 0 have no unsatisfied pattern to rescale")
    z = (g / np.sqrt(loss_values)[:, None])[g > 0]
    minus = -g[g < 0]
    for name, side in (("positive", z), ("negative", minus)):
        if side.size < 10:
            raise ValueError(f"need at least 10 {name} gaps in `gaps`, got {side.size}")
    z_centres, p_plus = log_binned_density(z, n_bins=n_bins)
    d_centres, p_minus = log_binned_density(minus, n_bins=n_bins)

    def window(values, given):
        if given is not None:
            return given
        kept = values[values > min_value]
        if kept.size < 10:
            raise ValueError(f"need at least 10 overlaps above `min_value` = {min_value}, got {kept.size}")
        return float(np.quantile(kept, 0.01)), float(np.quantile(kept, 0.5))

    gamma_fit = power_law_fit(minus, window=window(minus, gamma_window), n_bootstrap=n_bootstrap, seed=seed)
    return OverlapDistributions(
        z=z_centres,
        p_plus=p_plus,
        abs_delta=d_centres,
        p_minus=p_minus,
        theta=power_law_fit(z, window=window(z, theta_window), n_bootstrap=n_bootstrap, seed=seed),
        gamma=gamma_fit,
        n_plus=int(z.size),
        n_minus=int(minus.size),
    )


# ----------------------------------------------------------------------------------------------
# The jamming point


@dataclasses.dataclass(frozen=True)
class JammingSearch:
    """The outcome of [`find_jamming`][jamscope.jamming.find_jamming].

    - `over`: ``"width"`` (P fixed) or ``"n_train"`` (width fixed).
    - `fitting`, `jammed`: the adjacent searched values whose points fitted and jammed
      ([`point_outcome`][jamscope.jamming.point_outcome]); N* lies between the parameter counts
      `n_params_jammed` and `n_params_fitting` (width search) and P* between `fitting` and `jammed`
      (P search). None when `bracketed` is False.
    - `bracketed`: whether the search ended on two adjacent decided values. If not, `undecided`
      names the value whose point the budget left undecided (raise `steps`), or is None when an end
      point behaved against the requirement (jammed at small width / large P, fitting at large
      width / small P: widen the range).
    - `outcomes`, `losses`, `end_states`: the final N_Δ, loss and end-state code of every seed at
      every evaluated value (value → array of K).
    - `n_params`: N at every evaluated value. `steps`: the training budget per run; `fraction`: the
      share of fitted seeds that makes a point fit.
    """

    over: str
    fitting: int | None
    jammed: int | None
    n_params_fitting: int | None
    n_params_jammed: int | None
    bracketed: bool
    undecided: int | None
    outcomes: dict[int, np.ndarray]
    losses: dict[int, np.ndarray]
    end_states: dict[int, np.ndarray]
    n_params: dict[int, int]
    steps: int
    fraction: float


class _Undecided(Exception):
    pass


@typechecked
def find_jamming(
    loss: AbstractMarginLoss,
    data: Dataset,
    make: Callable[[PRNGKeyArray, int], AbstractNet],
    method: AbstractMethod,
    *,
    low: int,
    high: int,
    steps: int,
    key: PRNGKeyArray,
    over: Literal["width", "n_train"] = "width",
    width: int | None = None,
    seeds: int = 4,
    fraction: float = 0.5,
    end: EndCriterion | None = None,
    mesh: Mesh | None = None,
    progress: bool = True,
) -> JammingSearch:
    """Bisect for the jamming point: the smallest width (or largest P) whose seed ensemble fits
    (000 §III; thesis ch. 2 App. B), from certified end states only.

    ``over="width"``: `make(key, h)` builds a network of width h; the whole `data` is used and h is
    bisected in [`low`, `high`] (jammed at `low`, fitting at `high`). ``over="n_train"``: the width
    is `width`, the training set is the first P patterns of `data` and P is bisected in
    [`low`, `high`] (fitting at `low`, jammed at `high`); the initial weights are the same for every
    P (one key), so the outcome is monotone in P when the end states are (nested training sets).
    At each evaluated value `seeds` networks train vmapped as one ensemble with `method` for at
    most `steps` steps, each stopping when fitted or certified jammed by `end` (default
    [`EndCriterion()`][jamscope.end_state.EndCriterion], see [`jamscope.end_state`][jamscope.end_state];
    a jammed run whose unsatisfied patterns are all on dead units is
    [`FROZEN`][jamscope.end_state.FROZEN], as `train` marks it for networks with hidden layers,
    [`can_freeze`][jamscope.end_state.can_freeze]);
    [`point_outcome`][jamscope.jamming.point_outcome]
    decides the point. A point left undecided by the budget stops the search (`bracketed` False).
    The papers decrease h from large values instead of bisecting; both locate the same change of
    outcome when it is monotone. `mesh` splits each ensemble over devices
    ([`jamscope.ensemble`][jamscope.ensemble]).
    """
    check_int_at_least("low", low, 1)
    if high <= low:
        raise ValueError(f"`high` must be > `low`, got low={low}, high={high}")
    check_int_at_least("seeds", seeds, 1)
    check_int_at_least("steps", steps, 1)
    _check_fraction(fraction)
    if over == "width" and width is not None:
        raise ValueError('`width` is the fixed width of over="n_train"; leave it None for a width search')
    if over == "n_train":
        if width is None:
            raise ValueError('over="n_train" needs the fixed `width`')
        check_in_range("high", high, 2, data.n_train)
    end = EndCriterion() if end is None else end
    outcomes: dict[int, np.ndarray] = {}
    losses: dict[int, np.ndarray] = {}
    states: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    bar = tqdm(desc=f"find_jamming over {over}", disable=not progress)

    def fits(value: int) -> bool:
        h, subset = (value, data) if over == "width" else (width, _first(data, value))
        init = jax.random.fold_in(key, value) if over == "width" else key
        keys = jax.random.split(init, seeds)
        models = ensemble(lambda k: make(k, h), keys)
        trained, history = train(
            models, loss, subset, method, steps=steps, end=end, ensemble=True, mesh=mesh, progress=False
        )
        outcomes[value] = np.asarray(history.n_unsatisfied[:, -1])
        losses[value] = np.asarray(history.loss[:, -1])
        states[value] = np.asarray(history.outcome)
        counts[value] = n_params(make(keys[0], h))
        bar.update()
        bar.set_postfix(value=value, fitted=f"{np.mean(states[value] == FITTED):.2f}")
        verdict = point_outcome(states[value], fraction)
        if verdict == UNDECIDED:
            raise _Undecided(value)
        return verdict == FITTED

    # fitting side and jammed side of the bracket: large width / small P fits
    fit_end, jam_end = (high, low) if over == "width" else (low, high)
    undecided = None
    try:
        bracketed = fits(fit_end) and not fits(jam_end)
        while bracketed and abs(fit_end - jam_end) > 1:
            middle = (fit_end + jam_end) // 2
            if fits(middle):
                fit_end = middle
            else:
                jam_end = middle
    except _Undecided as stop:
        bracketed, undecided = False, stop.args[0]
    bar.close()
    return JammingSearch(
        over=over,
        fitting=fit_end if bracketed else None,
        jammed=jam_end if bracketed else None,
        n_params_fitting=counts[fit_end] if bracketed else None,
        n_params_jammed=counts[jam_end] if bracketed else None,
        bracketed=bracketed,
        undecided=undecided,
        outcomes=dict(sorted(outcomes.items())),
        losses=dict(sorted(losses.items())),
        end_states=dict(sorted(states.items())),
        n_params=dict(sorted(counts.items())),
        steps=steps,
        fraction=fraction,
    )


def _first(data: Dataset, p: int) -> Dataset:
    return Dataset(data.x[:p], data.y[:p], n_classes=data.n_classes)
