"""Aging of SGD dynamics: the mean-squared displacement Δ(t_w, t_w + t), relaxation times t*(t_w) and
the aging exponent μ (003: Herrera Segura, Montoya & Tapias, *Subaging in underparametrized deep
neural networks*).

- [`aging_grid`][jamscope.aging.aging_grid] chooses log-spaced waiting times t_w and lags t, and
  [`snapshot_schedule`][jamscope.aging.snapshot_schedule] the steps t_w + t at which
  [`train`][jamscope.train.train] must keep θ (``snapshot_steps=``): about W·T snapshots instead of
  every step, so N ~ 10⁴ parameters × 10³ snapshots fit in memory.
- [`msd`][jamscope.aging.msd]: Δ(t_w, t_w + t) = (1/N) Σ_i (θ_i(t_w) − θ_i(t_w + t))² (003 eq. 2),
  one waiting time at a time.
- [`relaxation_time`][jamscope.aging.relaxation_time]: t* with Δ(t_w, t_w + t*) = Δ* (003 §3,
  Δ* = 10⁻²), interpolated linearly in log t and log Δ.
- [`fit_aging_exponent`][jamscope.aging.fit_aging_exponent]: t* ∼ t_w^μ (μ = 1 simple aging, μ < 1
  subaging) with a bootstrap interval over runs; [`collapse_error`][jamscope.aging.collapse_error] and
  [`collapse_exponent`][jamscope.aging.collapse_exponent]: how well Δ against t/t_w^μ falls on one curve.
- [`gradient_norms`][jamscope.aging.gradient_norms] and
  [`gradient_norm_rms`][jamscope.aging.gradient_norm_rms] (003 Fig. A.3), and
  [`hessian_spectra`][jamscope.aging.hessian_spectra] at chosen snapshots (003 Fig. 7, A.1).

The objective is eq. 1, $L_D(θ) = -\\frac{1}{N} \\sum_n \\ln \\mathrm{softmax}(a_n)_{k_n} + λ‖θ‖^2$ with
λ‖θ‖² on every parameter
(biases included, as eq. 1 is written): its gradient and Hessian here include the L2 term (+2λθ, +2λI).
003 calls the number of parameters P and the number of data N; here N is the length of θ.
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax.tree_utils as otu

from ._checks import (
    check_finite,
    check_int_at_least,
    check_nonempty,
    check_positive,
    check_trailing_shape,
    is_concrete,
)
from .curvature import hessian
from .data import Dataset
from .fits import ExponentFit, bootstrap_scaling_fit
from .losses import AbstractLoss, mean_loss
from .nets import AbstractNet, outputs, partition, with_flat_params
from .typing import Array, Float, Int, typechecked

__all__ = [
    "aging_grid",
    "snapshot_schedule",
    "msd",
    "relaxation_time",
    "fit_aging_exponent",
    "scaled_lags",
    "collapse_error",
    "collapse_exponent",
    "gradient_norms",
    "gradient_norm_rms",
    "hessian_spectra",
]

Waiting = Int[Array, " W"] | Int[np.ndarray, " W"]
Lags = Int[Array, " T"] | Int[np.ndarray, " T"]
Steps = Int[Array, " S"] | Int[np.ndarray, " S"]


@typechecked
def aging_grid(
    steps: int,
    n_waiting: int = 12,
    n_lags: int = 40,
    *,
    first_waiting: int = 10,
    last_waiting: int | None = None,
) -> tuple[Int[np.ndarray, " W"], Int[np.ndarray, " T"]]:
    """About `n_waiting` log-spaced waiting times t_w from `first_waiting` to `last_waiting` (default
    `steps`/2) and the lags t: 0 and about `n_lags` − 1 log-spaced integers from 1 to `steps` − t_w[0]
    (003 leaves the grids open: jamscope's choice). Lags that run past `steps` for a large t_w
    give NaN in [`msd`][jamscope.aging.msd]."""
    check_int_at_least("steps", steps, 4)
    check_int_at_least("n_waiting", n_waiting, 2)
    check_int_at_least("n_lags", n_lags, 3)
    last = steps // 2 if last_waiting is None else last_waiting
    check_int_at_least("first_waiting", first_waiting, 1)
    if not first_waiting < last < steps:
        raise ValueError(
            f"need `first_waiting` < `last_waiting` < `steps`, got {first_waiting}, {last}, {steps}"
        )
    waiting = np.unique(np.round(np.geomspace(first_waiting, last, n_waiting)).astype(np.int64))
    lags = np.unique(np.round(np.geomspace(1, steps - waiting[0], n_lags - 1)).astype(np.int64))
    return waiting, np.concatenate([[0], lags])


@typechecked
def snapshot_schedule(t_w: Waiting, t: Lags, steps: int) -> Int[np.ndarray, " S"]:
    """The sorted distinct steps {0} ∪ {t_w + t ≤ `steps`} at which θ must be stored so that
    [`msd`][jamscope.aging.msd] can evaluate every Δ(t_w, t_w + t) of the grid (pass it to
    [`train`][jamscope.train.train] as ``snapshot_steps``)."""
    t_w, t = _check_grid(t_w, t)
    check_int_at_least("steps", steps, 1)
    pairs = (t_w[:, None] + t[None, :]).ravel()
    return np.union1d([0], pairs[pairs <= steps])


def _check_grid(t_w, t) -> tuple[np.ndarray, np.ndarray]:
    t_w, t = np.asarray(t_w), np.asarray(t)
    if t_w.size == 0 or t.size == 0 or t_w.min() < 0 or t.min() < 0:
        raise ValueError("`t_w` and `t` must be non-empty and non-negative")
    return t_w, t


def _indices(snapshot_steps: np.ndarray, t_w: np.ndarray, t: np.ndarray):
    """Indices of t_w and t_w + t among the snapshots, and which pairs lie within the run."""
    position = {int(s): i for i, s in enumerate(snapshot_steps)}
    missing = [int(w) for w in t_w if int(w) not in position]
    if missing:
        raise ValueError(f"`t_w` values {missing[:5]} are not among `snapshot_steps`")
    later = t_w[:, None] + t[None, :]
    inside = later <= snapshot_steps.max()
    absent = sorted({int(s) for s in later[inside] if int(s) not in position})
    if absent:
        raise ValueError(
            f"`t`: the steps t_w + t = {absent[:5]} are not among `snapshot_steps` "
            "(take the snapshots at aging.snapshot_schedule(t_w, t, steps))"
        )
    first = np.array([position[int(w)] for w in t_w])
    second = np.array([[position.get(int(s), 0) for s in row] for row in later])
    return first, second, inside


@jax.jit
def _msd_rows(snapshots, first, second, inside):
    def one_waiting_time(row):
        i, js, ok = row
        difference = snapshots[..., i, None, :] - snapshots[..., js, :]
        return jnp.where(ok, jnp.mean(difference**2, axis=-1), jnp.nan)

    rows = jax.lax.map(one_waiting_time, (first, second, inside))  # (W, *K, T)
    return jnp.moveaxis(rows, 0, -2)


@typechecked
def msd(
    snapshots: Float[Array, "*K S N"], snapshot_steps: Steps, t_w: Waiting, t: Lags
) -> Float[Array, "*K W T"]:
    """Δ(t_w, t_w + t) = (1/N) Σ_i (θ_i(t_w) − θ_i(t_w + t))² (003 eq. 2) for every t_w and lag t.

    `snapshots` are θ at `snapshot_steps` (any leading run axes K, e.g. ``History.snapshots`` of a
    vmapped ensemble). Every t_w and every t_w + t up to the last snapshot must be a snapshot step
    (build them with [`snapshot_schedule`][jamscope.aging.snapshot_schedule]); pairs beyond the last
    snapshot are NaN. Memory: one waiting time at a time, K·T·N numbers.
    """
    check_finite("snapshots", snapshots)
    _check_grid(t_w, t)
    steps = np.asarray(snapshot_steps)
    if steps.shape[0] != snapshots.shape[-2]:
        raise ValueError(
            f"`snapshot_steps` must have one step per snapshot ({snapshots.shape[-2]}), got {steps.shape[0]}"
        )
    first, second, inside = _indices(steps, np.asarray(t_w), np.asarray(t))
    return _msd_rows(snapshots, jnp.asarray(first), jnp.asarray(second), jnp.asarray(inside))


@typechecked
def relaxation_time(
    t: Lags | Float[Array, " T"], delta: Float[Array, "*B T"], delta_star: float = 1e-2
) -> Float[Array, "*B"]:
    """t* with Δ(t_w, t_w + t*) = Δ* (003 §3, Δ* = 10⁻²) for each curve Δ(t) of `delta` (lags `t`).

    The first lag where Δ ≥ Δ* and the lag before it are interpolated linearly in (log t, log Δ)
    (003 does not say how: jamscope's choice). NaN when Δ never reaches Δ* on the grid, or is
    already above it at the smallest positive lag (no bracketing point).
    """
    check_positive("delta_star", delta_star)
    if is_concrete(delta) and np.any(np.isinf(np.asarray(delta))):
        raise ValueError("`delta` must not hold ±inf (NaN marks the pairs past the end of a run)")
    t = jnp.asarray(t, delta.dtype)
    above = (delta >= delta_star) & jnp.broadcast_to(t > 0, delta.shape)
    first = jnp.argmax(above, axis=-1)
    before = jnp.maximum(first - 1, 0)
    bracketed = jnp.any(above, axis=-1) & (first >= 1) & (t[before] > 0)
    d0 = jnp.take_along_axis(delta, before[..., None], axis=-1)[..., 0]
    d1 = jnp.take_along_axis(delta, first[..., None], axis=-1)[..., 0]
    tiny = jnp.finfo(delta.dtype).tiny
    log_d0, log_d1 = jnp.log(jnp.maximum(d0, tiny)), jnp.log(jnp.maximum(d1, tiny))
    log_t0, log_t1 = jnp.log(jnp.maximum(t[before], 1.0)), jnp.log(jnp.maximum(t[first], 1.0))
    fraction = (math.log(delta_star) - log_d0) / jnp.where(bracketed, log_d1 - log_d0, 1.0)
    return jnp.where(bracketed, jnp.exp(log_t0 + fraction * (log_t1 - log_t0)), jnp.nan)


@typechecked
def fit_aging_exponent(
    t_w: Waiting | Float[np.ndarray, " W"],
    t_star: Float[Array, "*R W"] | Float[np.ndarray, "*R W"],
    *,
    low: float | int | None = None,
    high: float | int | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ExponentFit:
    """μ of t* ∼ t_w^μ (003 §3–4): least squares of log ⟨t*⟩ on log t_w over `low` ≤ t_w ≤ `high`, with
    ⟨t*⟩ the geometric mean over the runs (rows of `t_star`) where t* is finite, and a percentile
    bootstrap over runs (`n_boot` resamples). 003 does not state its fit; it fits the asymptotic range
    only (t_w > 10^3.6 for LJAT19), so choose `low` accordingly."""
    check_int_at_least("n_boot", n_boot, 1)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"`confidence` must lie in (0, 1), got {confidence}")
    values = np.asarray(t_star, float).reshape(-1, np.shape(t_star)[-1])
    x = np.asarray(t_w, float)
    if x.shape[0] != values.shape[1]:
        raise ValueError(f"`t_star` must have one column per t_w ({x.shape[0]}), got {values.shape[1]}")
    if values.shape[0] == 0:
        raise ValueError(f"`t_star` must hold at least one run, got shape {np.shape(t_star)}")
    low, high = (None if v is None else float(v) for v in (low, high))
    boot = bootstrap_scaling_fit(x, values, low=low, high=high, geometric=True, n_boot=n_boot, seed=seed)
    return boot.exponent_fit(confidence)


@typechecked
def scaled_lags(t_w: Waiting, t: Lags, mu: float | int) -> Float[np.ndarray, "W T"]:
    """t / t_w^μ, the variable in which Δ(t_w, t_w + t) of different t_w collapse when t* ∼ t_w^μ."""
    _check_grid(t_w, t)
    check_finite("mu", mu)
    return np.asarray(t, float)[None, :] / np.asarray(t_w, float)[:, None] ** mu


@typechecked
def collapse_error(
    t_w: Waiting,
    t: Lags,
    delta: Float[Array, "W T"] | Float[np.ndarray, "W T"],
    mu: float | int,
    n_grid: int = 50,
) -> float:
    """How far the curves log Δ against log(t/t_w^μ) are from one curve: the variance of log Δ across
    waiting times, averaged over `n_grid` points of the range that all curves cover (each curve is
    interpolated linearly; lags with t = 0 or Δ ≤ 0 are left out). Infinite if the curves share no
    range. At the right μ the curves collapse and this is smallest."""
    check_int_at_least("n_grid", n_grid, 2)
    x = np.log(np.where(np.asarray(t) > 0, scaled_lags(t_w, t, mu), np.nan))
    y = np.log(np.where(np.asarray(delta) > 0, np.asarray(delta, float), np.nan))
    curves = []
    for xs, ys in zip(x, y, strict=True):
        keep = np.isfinite(xs) & np.isfinite(ys)
        if keep.sum() >= 2:
            curves.append((xs[keep], ys[keep]))
    if len(curves) < 2:
        raise ValueError("`delta` must have at least two curves with two positive values each")
    left, right = max(c[0][0] for c in curves), min(c[0][-1] for c in curves)
    if not left < right:
        return math.inf
    grid = np.linspace(left, right, n_grid)
    stacked = np.stack([np.interp(grid, xs, ys) for xs, ys in curves])
    return float(np.mean(np.var(stacked, axis=0)))


@typechecked
def collapse_exponent(
    t_w: Waiting,
    t: Lags,
    delta: Float[Array, "W T"] | Float[np.ndarray, "W T"],
    candidates: Float[np.ndarray, " M"] | None = None,
) -> float:
    """The μ among `candidates` (default 0, 0.01, …, 1.5) with the smallest
    [`collapse_error`][jamscope.aging.collapse_error]: an estimate of μ from the whole curves, independent
    of Δ*."""
    mus = np.linspace(0.0, 1.5, 151) if candidates is None else candidates
    errors = [collapse_error(t_w, t, delta, float(mu)) for mu in mus]
    return float(mus[int(np.argmin(errors))])


def _objective(loss: AbstractLoss, template: AbstractNet, weight_decay, theta, x, y):
    """L_D(θ) of 003 eq. 1: the mean loss plus λ‖θ‖²."""
    model = with_flat_params(template, theta)
    return mean_loss(loss, outputs(model, x), y, model.output_scale) + weight_decay * jnp.sum(theta**2)


@eqx.filter_jit
def _gradient_norms(loss, template, weight_decay, thetas, x, y):
    grad = jax.grad(lambda th: _objective(loss, template, weight_decay, th, x, y))
    return jax.lax.map(lambda th: otu.tree_norm(grad(th)), thetas, batch_size=16)


def _check_template(template: AbstractNet, snapshots: Array, data: Dataset) -> None:
    check_trailing_shape("data.x", data.x, template.input_shape)
    check_nonempty("snapshots", snapshots)
    if snapshots.shape[-2] == 0:
        raise ValueError(f"`snapshots` must hold at least one θ, got shape {snapshots.shape}")
    check_finite("snapshots", snapshots)
    n = sum(leaf.size for leaf in jax.tree.leaves(partition(template)[0]))
    if snapshots.shape[-1] != n:
        raise ValueError(
            f"`snapshots` must hold θ of `template` ({n} parameters) on the last axis, "
            f"got {snapshots.shape[-1]}"
        )


@typechecked
def gradient_norms(
    loss: AbstractLoss,
    template: AbstractNet,
    data: Dataset,
    snapshots: Float[Array, "*K S N"],
    weight_decay: float | int = 0.0,
) -> Float[Array, "*K S"]:
    """‖∇_θ L_D(θ)‖ on the whole training set at every snapshot, L_D = mean loss + λ‖θ‖² (003 eq. 1,
    Fig. A.3; λ = `weight_decay`). `template` is one network of the architecture of the snapshots."""
    _check_template(template, snapshots, data)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    flat = snapshots.reshape(-1, snapshots.shape[-1])
    lam = jnp.asarray(weight_decay, snapshots.dtype)
    norms = _gradient_norms(loss, template, lam, flat, data.x, data.y)
    return norms.reshape(snapshots.shape[:-1])


@typechecked
def gradient_norm_rms(
    snapshot_steps: Steps, norms: Float[Array, "*K S"], after: int = 10_000
) -> Float[Array, "*K"]:
    """The root mean square of the gradient norms at the snapshots with step > `after`, per run (003
    Fig. A.3 reports it for t > 10⁴: 0.02, 0.07, 0.12 for H = 1, 2, 3 on LJAT19). The snapshots are
    log-spaced, so this weights late times less than the paper's every-step average."""
    check_finite("norms", norms)
    check_int_at_least("after", after, 0)
    late = np.asarray(snapshot_steps) > after
    if not late.any():
        raise ValueError(f"no snapshot after step {after} (`after`)")
    return jnp.sqrt(jnp.mean(norms[..., jnp.asarray(late)] ** 2, axis=-1))


@typechecked
def hessian_spectra(
    loss: AbstractLoss,
    template: AbstractNet,
    data: Dataset,
    snapshots: Float[Array, "S N"],
    weight_decay: float | int = 0.0,
) -> Float[Array, "S N"]:
    """The eigenvalues (ascending) of the full Hessian of L_D = mean loss + λ‖θ‖² (003 eq. 1) on the
    whole training set at each snapshot: the dense H of [`curvature.hessian`][jamscope.curvature.hessian]
    plus 2λI (003 Fig. 7 and A.1 do not say whether they include the L2 term; eq. 1 does)."""
    _check_template(template, snapshots, data)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    rows = []
    for theta in snapshots:
        h = hessian(loss, with_flat_params(template, theta), data)
        rows.append(jnp.linalg.eigvalsh(h) + 2 * weight_decay)
    return jnp.stack(rows)
