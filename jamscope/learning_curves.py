"""Learning curves of kernels and their exponents (thesis ch. 6 §3–4, §6–7).

- [`teacher_student_curve`][jamscope.learning_curves.teacher_student_curve]: E MSE(n) of a student
  learning a Gaussian-random-field teacher on S^d (Fig. 2), averaged exactly over teachers by default
  or with sampled teachers as in the paper.
- [`data_curve`][jamscope.learning_curves.data_curve]: the test MSE of ridgeless regression or the
  error of the SVM (C = 10⁴) on a labelled data set (Fig. 1).
- [`fit_decay`][jamscope.learning_curves.fit_decay]: y ∼ C n^(−b) on a window of n, least squares on
  log–log axes of the mean over repeats, with a bootstrap over repeats. β = b for error curves;
  d_eff = 1/b for ⟨δ_min⟩ (eq. 15).
- [`kernel_pca_tail`][jamscope.learning_curves.kernel_pca_tail]: $\\sum_{ρ ≥ n} (Z·φ_ρ)^2$ (eq. 14), whose
decay
  n^(1−a) predicts β = a − 1 (eq. 12).
- [`nearest_neighbour_curve`][jamscope.learning_curves.nearest_neighbour_curve] and
  [`effective_dimension`][jamscope.learning_curves.effective_dimension]: ⟨δ_min⟩(n) ∼ n^(−1/d_eff) (§7).

Every training set of a repeat is a prefix of one random draw, so the curve of a repeat is nested;
curves are xarray DataArrays with dims (repeat, n).
"""

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jaxtyping import DTypeLike
from tqdm.auto import tqdm

from ._checks import (
    check_binary_labels,
    check_finite,
    check_in_range,
    check_int_at_least,
    check_positive,
    check_positive_values,
)
from .fits import ExponentFit, bootstrap_scaling_fit
from .kernels import AbstractKernel, gram, nearest_neighbour_distances
from .teacher_student import expected_errors, hypersphere, regression_mse, svm_error, teacher_field
from .typing import Array, Float, PRNGKeyArray, typechecked

__all__ = [
    "teacher_student_curve",
    "data_curve",
    "fit_decay",
    "kernel_pca_tail",
    "nearest_neighbour_curve",
    "EffectiveDimension",
    "effective_dimension",
]

TASKS = ("regression", "classification")


def _check_sizes(ns: tuple[int, ...]) -> None:
    check_positive_values("ns", ns, integer=True)
    if list(ns) != sorted(set(ns)):
        raise ValueError(f"`ns` must be strictly increasing, got {ns}")


def _curve(name: str, ns, repeats: int, progress: bool, one_repeat: Callable, key) -> xr.DataArray:
    """Stack `one_repeat(key_r)` (an array over `ns`) for `repeats` subkeys of `key`."""
    keys = jax.random.split(key, repeats)
    rows = [np.asarray(one_repeat(k)) for k in tqdm(keys, desc=name, disable=not progress, leave=False)]
    return xr.DataArray(np.stack(rows), dims=("repeat", "n"), coords={"n": list(ns)}, name=name)


@typechecked
def teacher_student_curve(
    key: PRNGKeyArray,
    teacher: AbstractKernel,
    student: AbstractKernel,
    d: int,
    ns: tuple[int, ...],
    *,
    n_test: int = 500,
    repeats: int = 4,
    sample_teacher: bool = False,
    ridge: float = 0.0,
    dtype: DTypeLike | None = None,
    progress: bool = False,
) -> xr.DataArray:
    """Test MSE against n for a teacher–student pair on S^d (thesis ch. 6 §4, Fig. 2), dims (repeat, n).

    Each repeat draws max(ns) + `n_test` points uniform on S^d ⊂ ℝ^(d+1); the first n train. By
    default the error is averaged exactly over teachers
    ([`expected_errors`][jamscope.teacher_student.expected_errors]); with `sample_teacher` one field
    Z ~ N(0, K_T) per repeat is drawn and the MSE of eq. 4 is measured (the paper's protocol). The
    student is ridgeless (Cholesky with a tiny jitter) unless `ridge` > 0.
    """
    _check_sizes(ns)
    check_int_at_least("d", d, 1)
    check_int_at_least("n_test", n_test, 1)
    check_int_at_least("repeats", repeats, 1)
    n_max = ns[-1]

    def one_repeat(k):
        k_points, k_teacher = jax.random.split(k)
        x = hypersphere(k_points, n_max + n_test, d, dtype)
        ks = gram(student, x)
        ks_train, ks_cross = ks[:n_max, :n_max], ks[:n_max, n_max:]
        if sample_teacher:
            z = teacher_field(k_teacher, teacher, x)
            return [
                regression_mse(ks_train[:n, :n], z[:n], ks_cross[:n].T, z[n_max:], ridge=ridge) for n in ns
            ]
        kt = gram(teacher, x)[:n_max]  # symmetric: an exact unit diagonal
        return [
            jnp.mean(expected_errors(ks_train[:n, :n], ks_cross[:n], kt[:n, :n], kt[:n, n_max:], ridge=ridge))
            for n in ns
        ]

    return _curve("mse", ns, repeats, progress, one_repeat, key)


@typechecked
def data_curve(
    key: PRNGKeyArray,
    student: AbstractKernel,
    x: Float[Array, "P D"],
    y: Float[Array, " P"],
    ns: tuple[int, ...],
    *,
    n_test: int = 500,
    repeats: int = 4,
    task: str = "regression",
    ridge: float = 0.0,
    c: float = 1e4,
    progress: bool = False,
) -> xr.DataArray:
    """Learning curve of a kernel on labelled data (thesis ch. 6 §3, Fig. 1), dims (repeat, n).

    Each repeat shuffles the P points; the last `n_test` test, the first n train. `task`:
    ``"regression"`` (ridgeless or ridge regression of the labels, MSE of eq. 4) or
    ``"classification"`` (the soft-margin SVM with C = `c`, error of eq. 24; labels ±1).
    """
    _check_sizes(ns)
    check_finite("x", x)
    check_finite("y", y)
    check_positive("ridge", ridge, allow_zero=True)
    check_positive("c", c)
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS}, got {task!r}")
    if task == "classification":
        check_binary_labels("y", y)
    check_int_at_least("n_test", n_test, 1)
    check_int_at_least("repeats", repeats, 1)
    if ns[-1] + n_test > x.shape[0]:
        raise ValueError(f"max(ns) + n_test = {ns[-1] + n_test} exceeds the {x.shape[0]} points of `x`")
    n_max = ns[-1]

    def one_repeat(k):
        order = jax.random.permutation(k, x.shape[0])
        train, test = order[:n_max], order[x.shape[0] - n_test :]
        k_train, k_cross = gram(student, x[train]), gram(student, x[train], x[test])
        y_train, y_test = y[train], y[test]
        if task == "classification":
            k_train, k_cross, y_train, y_test = map(np.asarray, (k_train, k_cross, y_train, y_test))
            return [svm_error(k_train[:n, :n], y_train[:n], k_cross[:n].T, y_test, c=c) for n in ns]
        return [regression_mse(k_train[:n, :n], y_train[:n], k_cross[:n].T, y_test, ridge=ridge) for n in ns]

    return _curve("error" if task == "classification" else "mse", ns, repeats, progress, one_repeat, key)


@typechecked
def fit_decay(
    curve: xr.DataArray,
    *,
    low: float | int | None = None,
    high: float | int | None = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ExponentFit:
    """Fit mean_repeats(y) ≈ C n^(−b) on `low` ≤ n ≤ `high` by least squares on log–log axes.

    `curve` has dims (repeat, n) (or only n). The confidence interval is the percentile bootstrap over
    repeats (`n_boot` resamples with replacement). The paper fits "the last decade" of n (Fig. 1) or
    "from n = 700" (Fig. 2): choose the window accordingly.
    """
    check_in_range("confidence", confidence, 0.0, 1.0)
    low, high = (None if v is None else float(v) for v in (low, high))
    values = np.atleast_2d(np.asarray(curve.transpose(..., "n"), float))
    if values.size == 0:
        raise ValueError(f"`curve` must hold at least one value, got sizes {dict(curve.sizes)}")
    check_finite("curve", values)
    ns = np.asarray(curve["n"], float)
    boot = bootstrap_scaling_fit(ns, values, low=low, high=high, n_boot=n_boot, seed=seed)
    return boot.exponent_fit(confidence, decay=True)


@jax.jit
def _tail(k, z):
    _, vectors = jnp.linalg.eigh(0.5 * (k + k.T))
    projections = (vectors.T @ z)[::-1] ** 2  # ρ = 1, 2, … by decreasing eigenvalue
    return jnp.cumsum(projections[::-1])[::-1]


@typechecked
def kernel_pca_tail(k: Float[Array, "n n"], z: Float[Array, " n"]) -> Float[Array, " n"]:
    """$T(ρ) = \\sum_{ρ' ≥ ρ} (Z·φ_{ρ'})^2$, ρ = 1 … ñ (thesis ch. 6 eq. 14), φ_ρ the unit eigenvectors of
    the Gram
    matrix 𝕂_S by decreasing eigenvalue (uncentered kernel PCA, eq. 13).

    If (Z·φ_ρ)² ∼ ρ^(−a), T(n) ∼ n^(1−a) and the predicted learning-curve exponent is β = a − 1 (eq. 12):
    the decay exponent of T fitted by [`fit_decay`][jamscope.learning_curves.fit_decay].
    """
    check_finite("k", k)
    check_finite("z", z)
    return _tail(k, z.astype(k.dtype))


@typechecked
def nearest_neighbour_curve(
    key: PRNGKeyArray, x: Float[Array, "P D"], ns: tuple[int, ...], *, repeats: int = 4
) -> xr.DataArray:
    """⟨δ_min⟩(n): the mean distance from a point to its nearest neighbour within a random subset of n
    points of `x` (thesis ch. 6 §7, eq. 15), dims (repeat, n)."""
    _check_sizes(ns)
    check_finite("x", x)
    check_int_at_least("repeats", repeats, 1)
    if ns[0] < 2 or ns[-1] > x.shape[0]:
        raise ValueError(f"`ns` must lie in [2, {x.shape[0]}] (the points of `x`), got {ns}")

    def one_repeat(k):
        subset = x[jax.random.permutation(k, x.shape[0])[: ns[-1]]]
        return [jnp.mean(nearest_neighbour_distances(subset[:n])) for n in ns]

    return _curve("delta_min", ns, repeats, False, one_repeat, key)


@dataclasses.dataclass(frozen=True)
class EffectiveDimension:
    """d_eff = 1/b from ⟨δ_min⟩ ∼ n^(−b) (eq. 15), with the bootstrap interval of `fit` mapped through 1/b."""

    d_eff: float
    ci_low: float
    ci_high: float
    fit: ExponentFit


@typechecked
def effective_dimension(
    curve: xr.DataArray,
    *,
    low: float | int | None = None,
    high: float | int | None = None,
    n_boot: int = 1000,
) -> EffectiveDimension:
    """d_eff of thesis ch. 6 §7 from a
    [`nearest_neighbour_curve`][jamscope.learning_curves.nearest_neighbour_curve] fitted on
    `low` ≤ n ≤ `high` (the paper fits from n ≈ 6000 for spheres: the larger d, the later the asymptote)."""
    fit = fit_decay(curve, low=low, high=high, n_boot=n_boot)
    return EffectiveDimension(_inverse(fit.exponent), _inverse(fit.ci_high), _inverse(fit.ci_low), fit)


def _inverse(b: float) -> float:
    return 1 / b if b > 0 else math.inf
