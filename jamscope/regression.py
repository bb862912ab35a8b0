"""Kernel ridge and ridgeless regression from Gram matrices (any kernel: the NTK, Laplace, …).

With the training Gram matrix K_μν = k(x_μ, x_ν), labels y and the test-train kernel k(x) = (k(x, x_μ))_μ,
the predictor minimizing (1/P) Σ_μ (f(x_μ) − y_μ)² + λ ‖f‖²_k is (thesis ch. 6 eq. 3 for λ = 0)

    f̂(x) = k(x)ᵀ (K + λ P I)⁻¹ y,

and the ridgeless limit λ → 0⁺ is the minimum-norm interpolant f̂(x) = k(x)ᵀ K⁺ y (Moore–Penrose
inverse: directions of K with eigenvalue below `rtol` · λ_max are dropped, so a singular K, e.g. the NTK
of a network with N < P, still gives the least-squares fit). Both are computed from one ``eigh`` of K.
Trained with the square loss from f₀ = 0, the linearized network converges to the ridgeless NTK
predictor (004 App. C eq. 15): [`jamscope.ntk.ntk_regression`][jamscope.ntk.ntk_regression].
"""

import jax
import jax.numpy as jnp

from ._checks import check_finite, check_positive
from .typing import Array, Float, typechecked

__all__ = ["kernel_regression"]


@jax.jit
def _solve(k_train, y, k_test, ridge, rtol):
    p = k_train.shape[0]
    lam, u = jnp.linalg.eigh(0.5 * (k_train + k_train.T))
    shifted = lam + ridge * p
    keep = jnp.abs(shifted) > rtol * jnp.max(jnp.abs(lam))
    inverse = jnp.where(keep, 1.0 / jnp.where(keep, shifted, 1.0), 0.0)
    coefficients = u @ (inverse[:, None] * (u.T @ y.reshape(p, -1)))
    return (k_test @ coefficients).reshape((k_test.shape[0],) + y.shape[1:])


@typechecked
def kernel_regression(
    k_train: Float[Array, " P P"],
    y: Float[Array, " P *K"],
    k_test: Float[Array, " Q P"],
    *,
    ridge: float = 0.0,
    rtol: float | None = None,
) -> Float[Array, " Q *K"]:
    """Kernel ridge (`ridge` = λ > 0) or ridgeless (λ = 0) regression: f̂ = k_test (K + λ P I)⁺ y.

    **Arguments:**

    - `k_train`: the symmetric PSD Gram matrix K of the P training points.
    - `y`: targets ``(P,)`` or ``(P, K)`` (e.g. ±1 labels).
    - `k_test`: the kernel between Q test points and the training points ``(Q, P)``; pass
      `k_train` itself to get the fitted values on the training set.
    - `ridge`: λ ≥ 0, the weight of ‖f‖²_k against the mean square error.
    - `rtol`: eigenvalues of K + λPI below `rtol` · λ_max(K) are treated as zero (default P · eps).
    """
    for name, value in (("k_train", k_train), ("y", y), ("k_test", k_test)):
        check_finite(name, value)
    check_positive("ridge", ridge, allow_zero=True)
    eps = float(jnp.finfo(k_train.dtype).eps)
    rtol = k_train.shape[0] * eps if rtol is None else rtol
    check_positive("rtol", rtol)
    dtype = k_train.dtype
    return _solve(
        k_train, y.astype(dtype), k_test.astype(dtype), jnp.asarray(ridge, dtype), jnp.asarray(rtol, dtype)
    )
