"""Kernel ridge and ridgeless regression from Gram matrices (any kernel: the NTK, Laplace, …).

With the training Gram matrix K_μν = k(x_μ, x_ν), labels y and the test-train kernel k(x) = (k(x, x_μ))_μ,
the predictor minimizing (1/P) Σ_μ (f(x_μ) − y_μ)² + λ ‖f‖²_k is (thesis ch. 6 eq. 3 for λ = 0)

    f̂(x) = k(x)ᵀ (K + λ P I)⁻¹ y,

and the ridgeless limit λ → 0⁺ is the minimum-norm interpolant f̂(x) = k(x)ᵀ K⁺ y (Moore–Penrose
inverse: directions of K with eigenvalue below `rtol` · λ_max are dropped, so a singular K, e.g. the NTK
of a network with N < P, still gives the least-squares fit). Both are computed from one ``eigh`` of K.
For a positive-definite kernel (Laplace, Matérn, Gaussian: the learning curves of thesis ch. 6)
``solver="cholesky"`` solves (K + λPI + ε I) a = y with a Cholesky factor instead, about ten times
faster; the ridgeless "tiny jitter" ε = `jitter` · tr(K)/P only makes the factorization succeed.
Trained with the square loss from f₀ = 0, the linearized network converges to the ridgeless NTK
predictor (004 App. C eq. 15): [`jamscope.ntk.ntk_regression`][jamscope.ntk.ntk_regression].
"""

import jax
import jax.numpy as jnp

from ._checks import check_finite, check_positive
from .typing import Array, Float, typechecked

__all__ = ["kernel_coefficients", "kernel_regression"]


@jax.jit
def _eigh_coefficients(k_train, y, ridge, rtol):
    p = k_train.shape[0]
    lam, u = jnp.linalg.eigh(0.5 * (k_train + k_train.T))
    shifted = lam + ridge * p
    keep = jnp.abs(shifted) > rtol * jnp.max(jnp.abs(lam))
    inverse = jnp.where(keep, 1.0 / jnp.where(keep, shifted, 1.0), 0.0)
    return (u @ (inverse[:, None] * (u.T @ y.reshape(p, -1)))).reshape(y.shape)


@jax.jit
def _cholesky_coefficients(k_train, y, ridge, jitter):
    p = k_train.shape[0]
    shift = ridge * p + jitter * jnp.trace(k_train) / p
    factor = jax.scipy.linalg.cho_factor(k_train + shift * jnp.eye(p, dtype=k_train.dtype), lower=True)
    return jax.scipy.linalg.cho_solve(factor, y.reshape(p, -1)).reshape(y.shape)


@typechecked
def kernel_coefficients(
    k_train: Float[Array, " P P"],
    y: Float[Array, " P *K"],
    *,
    ridge: float = 0.0,
    rtol: float | None = None,
    solver: str = "eigh",
    jitter: float | None = None,
) -> Float[Array, " P *K"]:
    """The coefficients a = (K + λ P I)⁺ y of the predictor f̂(x) = k(x)ᵀ a; arguments as in
    [`kernel_regression`][jamscope.regression.kernel_regression]."""
    for name, value in (("k_train", k_train), ("y", y)):
        check_finite(name, value)
    check_positive("ridge", ridge, allow_zero=True)
    if solver not in ("eigh", "cholesky"):
        raise ValueError(f"`solver` must be 'eigh' or 'cholesky', got {solver!r}")
    cholesky = solver == "cholesky"
    name, tolerance, solve = (
        ("jitter", jitter, _cholesky_coefficients) if cholesky else ("rtol", rtol, _eigh_coefficients)
    )
    tolerance = k_train.shape[0] * float(jnp.finfo(k_train.dtype).eps) if tolerance is None else tolerance
    check_positive(name, tolerance, allow_zero=cholesky)
    for other, value in (("rtol", rtol), ("jitter", jitter)):
        if value is not None and other != name:  # the tolerance of the other solver: checked all the same
            check_positive(other, value, allow_zero=other == "jitter")
    dtype = k_train.dtype
    return solve(k_train, y.astype(dtype), jnp.asarray(ridge, dtype), jnp.asarray(tolerance, dtype))


@typechecked
def kernel_regression(
    k_train: Float[Array, " P P"],
    y: Float[Array, " P *K"],
    k_test: Float[Array, " Q P"],
    *,
    ridge: float = 0.0,
    rtol: float | None = None,
    solver: str = "eigh",
    jitter: float | None = None,
) -> Float[Array, " Q *K"]:
    """Kernel ridge (`ridge` = λ > 0) or ridgeless (λ = 0) regression: f̂ = k_test (K + λ P I)⁺ y.

    **Arguments:**

    - `k_train`: the symmetric PSD Gram matrix K of the P training points.
    - `y`: targets ``(P,)`` or ``(P, K)`` (e.g. ±1 labels).
    - `k_test`: the kernel between Q test points and the training points ``(Q, P)``; pass
      `k_train` itself to get the fitted values on the training set.
    - `ridge`: λ ≥ 0, the weight of ‖f‖²_k against the mean square error.
    - `rtol`: eigenvalues of K + λPI below `rtol` · λ_max(K) are treated as zero (default P · eps).
    - `solver`: ``"eigh"`` (minimum-norm, any PSD K) or ``"cholesky"`` (K positive definite; faster).
    - `jitter`: with ``"cholesky"``, ε/(tr K/P), the relative tiny jitter added to the diagonal
      (default P · eps; NaN results mean K is numerically singular: raise it or use ``"eigh"``).
    """
    check_finite("k_test", k_test)
    coefficients = kernel_coefficients(k_train, y, ridge=ridge, rtol=rtol, solver=solver, jitter=jitter)
    return jnp.tensordot(k_test.astype(k_train.dtype), coefficients, axes=1)
