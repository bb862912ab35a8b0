"""The kernel teacher–student problem of thesis ch. 6 §4–5: Gaussian-random-field teachers, the test
error of a kernel student, Theorem 1's exponent β and the exact lattice formula (eq. 39).

- Data: n points uniform on the unit d-dimensional hypersphere S^d ⊂ ℝ^(d+1)
  ([`hypersphere`][jamscope.teacher_student.hypersphere]). d is the dimension of the data manifold, the
  d of Theorem 1 (App. E: "d = 1, points on a circle embedded in ℝ²").
- Teacher: Z ~ N(0, K_T) on train ∪ test points (eq. 5),
  [`teacher_field`][jamscope.teacher_student.teacher_field].
- Student: ridgeless regression Ẑ(x) = k_S(x)ᵀ K_S⁻¹ Z (eq. 3) with the MSE of eq. 4; or, without
  sampling the teacher, its average over teachers (the E MSE of eq. 6)
  [`expected_mse`][jamscope.teacher_student.expected_mse]:
  E_Z (Z(x) − Ẑ(x))² = K_T(x, x) − 2 aᵀ k_T(x) + aᵀ 𝕂_T a,  a = 𝕂_S⁻¹ k_S(x).
- Classification: the soft-margin SVM of App. A (eqs. 19–24, C = 10⁴) by scikit-learn's SVC on the
  precomputed Gram matrix, [`svm_error`][jamscope.teacher_student.svm_error].
- Theory: [`predicted_beta`][jamscope.teacher_student.predicted_beta] (Theorem 1, eq. 7) and
  [`lattice_mse`][jamscope.teacher_student.lattice_mse] (eq. 39, the exact E MSE on a periodic lattice).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import DTypeLike
from sklearn.svm import SVC

from ._checks import check_binary_labels, check_finite, check_int_at_least, check_nonempty, check_positive
from .kernels import AbstractKernel, gram
from .regression import kernel_coefficients
from .typing import Array, Float, PRNGKeyArray, typechecked

__all__ = [
    "hypersphere",
    "teacher_field",
    "expected_errors",
    "expected_mse",
    "regression_mse",
    "svm_error",
    "predicted_beta",
    "lattice_mse",
]


@typechecked
def hypersphere(key: PRNGKeyArray, n: int, d: int, dtype: DTypeLike | None = None) -> Float[Array, "n D"]:
    """n points uniform on the unit sphere S^d ⊂ ℝ^(d+1) (normalized Gaussian vectors); shape (n, d + 1)."""
    check_int_at_least("n", n, 1)
    check_int_at_least("d", d, 1)
    z = jax.random.normal(key, (n, d + 1), jnp.zeros((), dtype).dtype)
    return z / jnp.linalg.norm(z, axis=1, keepdims=True)


def _check_arrays(**arrays) -> None:
    """Every array non-empty (along both axes of a matrix) and finite."""
    for name, a in arrays.items():
        check_nonempty(name, a)
        if np.ndim(a) == 2:
            check_nonempty(name, a.T)
        check_finite(name, a)


@jax.jit
def _cholesky(k, jitter):
    return jnp.linalg.cholesky(k + jitter * jnp.eye(k.shape[0], dtype=k.dtype))


@typechecked
def teacher_field(
    key: PRNGKeyArray, teacher: AbstractKernel, x: Float[Array, "n D"], count: int | None = None
) -> Float[Array, "*count n"]:
    """Z ~ N(0, 𝕂_T + ε I) on the points `x` (thesis ch. 6 eq. 5), `count` independent fields (default one).

    𝕂_T = L Lᵀ by Cholesky; the tiny jitter ε is the smallest of 10^k · n · eps (k = 0, 1, …) for which the
    factorization succeeds (smooth teachers such as the Gaussian have numerically singular Gram
    matrices). It adds independent noise of variance ε to the labels, which sets a floor to the MSE.
    """
    if count is not None:
        check_int_at_least("count", count, 1)
    _check_arrays(x=x)
    k = gram(teacher, x)
    eps = x.shape[0] * float(jnp.finfo(x.dtype).eps)
    for power in range(12):
        factor = _cholesky(k, jnp.asarray(eps * 10.0**power, x.dtype))
        if bool(jnp.all(jnp.isfinite(factor))):
            break
    else:
        raise ValueError(
            "the teacher's Gram matrix is not positive definite even with a jitter of 1e11 n eps"
        )
    shape = () if count is None else (count,)
    return jax.random.normal(key, shape + (x.shape[0],), x.dtype) @ factor.T


@jax.jit
def _expected_errors(coefficients, kt_train, kt_cross, kt_diagonal):
    """E_Z (Z(x) − Ẑ(x))² per test point x (columns of `coefficients` a = 𝕂_S⁻¹ k_S(x))."""
    cross = jnp.sum(coefficients * kt_cross, axis=0)
    quadratic = jnp.sum(coefficients * (kt_train @ coefficients), axis=0)
    return kt_diagonal - 2 * cross + quadratic


@typechecked
def expected_errors(
    ks_train: Float[Array, "n n"],
    ks_cross: Float[Array, "n q"],
    kt_train: Float[Array, "n n"],
    kt_cross: Float[Array, "n q"],
    *,
    ridge: float = 0.0,
    jitter: float | None = None,
) -> Float[Array, " q"]:
    """E_Z (Z(x) − Ẑ(x))² per test point x from the Gram blocks 𝕂_S, k_S(x), 𝕂_T, k_T(x) of the student
    and the teacher (both with k(0) = 1); see [`expected_mse`][jamscope.teacher_student.expected_mse]."""
    _check_arrays(ks_train=ks_train, ks_cross=ks_cross, kt_train=kt_train, kt_cross=kt_cross)
    a = kernel_coefficients(ks_train, ks_cross, ridge=ridge, solver="cholesky", jitter=jitter)
    return _expected_errors(a, kt_train, kt_cross, jnp.ones((), ks_train.dtype))


@typechecked
def expected_mse(
    teacher: AbstractKernel,
    student: AbstractKernel,
    x_train: Float[Array, "n D"],
    x_test: Float[Array, "q D"],
    *,
    ridge: float = 0.0,
    jitter: float | None = None,
) -> Float[Array, ""]:
    """The test MSE of the student averaged exactly over teachers Z ~ N(0, K_T) (thesis ch. 6 eq. 6 at
    fixed points): (1/q) Σ_x [K_T(x, x) − 2 aᵀ k_T(x) + aᵀ 𝕂_T a], a = (𝕂_S + λ n I + ε I)⁻¹ k_S(x).

    No teacher is sampled, so there is neither sampling noise nor the teacher's jitter floor; the
    remaining average is over the random points. `ridge`, `jitter`: as in
    [`kernel_regression`][jamscope.regression.kernel_regression] with ``solver="cholesky"``.
    """
    _check_arrays(x_train=x_train, x_test=x_test)
    errors = expected_errors(
        gram(student, x_train),
        gram(student, x_train, x_test),
        gram(teacher, x_train),
        gram(teacher, x_train, x_test),
        ridge=ridge,
        jitter=jitter,
    )
    return jnp.mean(errors)


@typechecked
def regression_mse(
    k_train: Float[Array, "n n"],
    z_train: Float[Array, " n"],
    k_test: Float[Array, "q n"],
    z_test: Float[Array, " q"],
    *,
    ridge: float = 0.0,
    jitter: float | None = None,
) -> Float[Array, ""]:
    """MSE = (1/q) Σ (Ẑ_S(x) − Z(x))² (thesis ch. 6 eq. 4) of Ẑ_S = k_S(x)ᵀ (𝕂_S + λ n I + ε I)⁻¹ Z (eq. 3),
    solved by Cholesky with the tiny jitter ε
    (see [`kernel_coefficients`][jamscope.regression.kernel_coefficients])."""
    _check_arrays(k_train=k_train, z_train=z_train, k_test=k_test, z_test=z_test)
    a = kernel_coefficients(k_train, z_train, ridge=ridge, solver="cholesky", jitter=jitter)
    return jnp.mean((k_test.astype(a.dtype) @ a - z_test) ** 2)


@typechecked
def svm_error(
    k_train: Float[Array, "n n"] | Float[np.ndarray, "n n"],
    y_train: Float[Array, " n"] | Float[np.ndarray, " n"],
    k_test: Float[Array, "q n"] | Float[np.ndarray, "q n"],
    y_test: Float[Array, " q"] | Float[np.ndarray, " q"],
    *,
    c: float = 1e4,
) -> float:
    """Test error (eq. 24) of the soft-margin SVM of thesis ch. 6 App. A (dual eq. 20, C = 10⁴).

    Solved by scikit-learn's ``SVC(kernel="precomputed")`` (libsvm's SMO); labels ±1. A training set
    with a single class predicts that class.
    """
    check_positive("c", c)
    _check_arrays(k_train=k_train, k_test=k_test)
    check_binary_labels("y_train", y_train)
    check_binary_labels("y_test", y_test)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if np.unique(y_train).size == 1:
        predicted = np.full_like(y_test, y_train[0])
    else:
        machine = SVC(C=c, kernel="precomputed").fit(np.asarray(k_train, float), y_train)
        predicted = machine.predict(np.asarray(k_test, float))
    return float(np.mean(predicted != y_test))


@typechecked
def predicted_beta(alpha_teacher: float | int, alpha_student: float | int, d: int) -> float:
    """β = (1/d) min(α_T − d, 2 α_S) (thesis ch. 6 Theorem 1, eq. 7); ``inf`` for Gaussian/Gaussian.

    Laplace/Laplace (α = d + 1): 1/d; Gaussian teacher, Laplace student: 2 (1 + 1/d); a smooth enough
    student: (α_T − d)/d. Needs α_T > d (K_T(0) finite) and α_S > d.
    """
    check_int_at_least("d", d, 1)
    for name, alpha in (("alpha_teacher", alpha_teacher), ("alpha_student", alpha_student)):
        if not alpha > d:
            raise ValueError(f"`{name}` must exceed d = {d} (a kernel with finite K(0)), got {alpha!r}")
    return min(alpha_teacher - d, 2 * alpha_student) / d


@typechecked
def lattice_mse(
    teacher: AbstractKernel,
    student: AbstractKernel,
    n_side: int,
    d: int,
    *,
    period: float = 1.0,
    aliases: int | None = None,
) -> float:
    """E MSE of eq. 39 (thesis ch. 6 App. F): the L-periodic teacher and student, training points on the
    regular lattice of n = `n_side`^d points (spacing δ = L/n_side), a uniform test point.

    With k̂ the Fourier transform on ℝ^d (`spectral_density`) and $F^*(w) = \\sum_{m ∈ ℤ^d} F(w + 2πm/δ)$,
    $E\\,\\mathrm{MSE} = L^{-d} \\sum_{w ∈ (2π/L)ℤ^d ∩ ℬ} [\\hat k_T^* - 2 (\\hat k_T \\hat k_S)^*/\\hat k_S^*
    \\;+\\; \\hat k_T^* (\\hat k_S^2)^*/(\\hat k_S^*)^2]$,
    the kernels being the periodizations $\\sum_{m ∈ ℤ^d} k(x + mL)$. The alias sums are truncated at
    |w_i| < π `aliases`/δ (default: about 2²⁰ frequencies in all); the truncation lowers the result by a
    relative ≈ c/aliases for a Laplace kernel (c ≈ 0.1 at σ = 0.2 L, d = 2). To compare lattice sizes,
    pass the same `aliases` to each call.
    """
    check_int_at_least("n_side", n_side, 1)
    check_int_at_least("d", d, 1)
    check_positive("period", period)
    if aliases is None:
        aliases = max(1, int(2 ** (20 / d)) // (2 * n_side))
    check_int_at_least("aliases", aliases, 1)
    half = n_side * aliases
    frequencies = np.arange(-half, half) if n_side % 2 == 0 else np.arange(-half, half + 1)
    residues = np.mod(frequencies, n_side)
    totals = {name: np.zeros((n_side,) * d) for name in ("t", "ts", "s", "ss")}
    w_axis = 2 * math.pi * frequencies / period
    grids = np.meshgrid(*([w_axis] * d), indexing="ij", sparse=True)
    norm = np.sqrt(sum(g**2 for g in grids))
    kt, ks = teacher.spectral_density(norm, d), student.spectral_density(norm, d)
    index = tuple(np.meshgrid(*([residues] * d), indexing="ij", sparse=True))
    for name, values in (("t", kt), ("ts", kt * ks), ("s", ks), ("ss", ks**2)):
        np.add.at(totals[name], tuple(np.broadcast_to(i, values.shape) for i in index), values)
    t, ts, s, ss = (totals[k] for k in ("t", "ts", "s", "ss"))
    return float(np.sum(t - 2 * ts / s + t * ss / s**2) / period**d)
