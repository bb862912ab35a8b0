"""The effective number of parameters N_eff: the rank of the local tangent map (000 App. A).

N_eff(θ) is the dimension of the tangent space at θ of the manifold of functions f(·; θ) restricted
to neighbourhoods of the training points (000 App. A). Expanding f and ∇_θ f to first order around
each x_μ (000 App. A eqs. A1–A3), it is the rank of the (d+1)P × N matrix (000 App. A eqs. A4–A5)

    G_{(μ,0), i} = ∂_{θ_i} f(x_μ),     G_{(μ,n), i} = ∂_{x_n} ∂_{θ_i} f(x_μ),   n = 1..d,

i.e. the span of the parameter gradients and of their first variations along the d input axes.
It is smaller than N when parameters are redundant: for ReLU networks each hidden neuron has the
scaling symmetry Λρ(z/Λ) = ρ(z), so N_eff = N − #(hidden neurons) (000 App. A, Fig. 11); a dead
layer leaves N_eff = 1 and a linear network N_eff ≤ d + 1.

The rank is computed in float64, which must be on (``jax.config.update("jax_enable_x64", True)``).
"""

import math
from functools import partial
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float64,
    check_inputs,
    check_int_at_least,
    check_positive,
)
from .._flat import chunked, flat_model
from ..data import Dataset
from ..nets import AbstractNet, n_params
from ..typing import Array, Float, Int, typechecked

__all__ = ["NEffResult", "n_eff", "tangent_matrix"]

_HIGHEST = jax.lax.Precision.HIGHEST


class NEffResult(eqx.Module):
    """Rank of the tangent matrix G of 000 App. A eq. (A5), with the evidence for it.

    - `rank`: N_eff = #{σ > tolerance}.
    - `singular_values`: the min((d+1)P, N) singular values of G, in descending order.
    - `tolerance`: the absolute threshold on σ that was used.
    - `method`: ``"svd"`` (G materialized) or ``"gram"`` (square roots of the eigenvalues of the
      smaller Gram matrix, G never materialized).
    """

    rank: Int[Array, ""]
    singular_values: Float[Array, " R"]
    tolerance: Float[Array, ""]
    method: str = eqx.field(static=True)


def _row_block(apply, theta, xi):
    """The d + 1 rows of G for one pattern: ∇_θ f(x) and ∂_{x_n} ∇_θ f(x), n = 1..d."""
    g0, along = jax.linearize(lambda z: jax.grad(apply)(theta, z), xi)
    gx = jax.vmap(along)(jnp.eye(xi.shape[0], dtype=xi.dtype))
    return jnp.concatenate([g0[None], gx], axis=0)


def _value_and_input_gradient(apply, theta, x):
    """θ ↦ [f(x_μ), ∇_x f(x_μ)]_μ flattened to (d+1)P entries: G is its Jacobian in θ."""

    def one(xi):
        value, grad = jax.value_and_grad(lambda z: apply(theta, z))(xi)
        return jnp.concatenate([value[None], grad])

    return jax.vmap(one)(x).reshape(-1)


@eqx.filter_jit
def _tangent_matrix(model, x, chunk_size):
    theta, apply = flat_model(model)
    blocks = jax.lax.map(lambda xi: _row_block(apply, theta, xi), x, batch_size=min(chunk_size, x.shape[0]))
    return blocks.reshape(-1, theta.shape[0])


@eqx.filter_jit
def _singular_values_svd(model, x, chunk_size):
    return jnp.linalg.svd(_tangent_matrix(model, x, chunk_size), compute_uv=False)


@eqx.filter_jit
def _gram(model, x, chunk_size):
    """GᵀG (N × N) when (d+1)P ≥ N, else G Gᵀ ((d+1)P × (d+1)P), accumulated over pattern chunks."""
    theta, apply = flat_model(model)
    n = theta.shape[0]
    p, d = x.shape
    m = (d + 1) * p
    (xs,), masks = chunked([x], min(chunk_size, p))

    def chunk_rows(xc, mc):
        rows = jax.vmap(lambda xi: _row_block(apply, theta, xi))(xc)
        rows = jnp.where(mc[:, None, None], rows, 0.0)
        return rows.reshape(-1, n)

    if m >= n:

        def accumulate(acc, inputs):
            rows = chunk_rows(*inputs)
            return acc + jnp.matmul(rows.T, rows, precision=_HIGHEST), None

        gram, _ = jax.lax.scan(accumulate, jnp.zeros((n, n), theta.dtype), (xs, masks))
    else:
        # columns of G Gᵀ for a chunk of rows r of G: G r, one forward-mode pass of the linearized
        # θ ↦ [f(x_μ), ∇_x f(x_μ)]_μ per row, never holding more than a chunk of rows of G
        _, apply_g = jax.linearize(lambda th: _value_and_input_gradient(apply, th, x), theta)

        def columns(_, inputs):
            rows = chunk_rows(*inputs)
            return None, jax.lax.map(apply_g, rows, batch_size=min(chunk_size, rows.shape[0]))

        _, cols = jax.lax.scan(columns, None, (xs, masks))
        gram = cols.reshape(-1, m)[:m]
    return 0.5 * (gram + gram.T)


@eqx.filter_jit
def _singular_values_gram(model, x, chunk_size):
    eigenvalues = jnp.linalg.eigvalsh(_gram(model, x, chunk_size))
    return jnp.sqrt(jnp.clip(eigenvalues, 0.0))[::-1]


def _check(model: AbstractNet, x: Array, name: str = "x") -> None:
    if model.n_outputs != 1:
        raise ValueError(
            f"N_eff (000 App. A) is defined for scalar-output models, got n_outputs = {model.n_outputs}"
        )
    if len(model.input_shape) != 1:
        raise ValueError(f"N_eff needs vector inputs (P, d), the model takes {model.input_shape}")
    check_inputs(name, x, model.input_shape)


@typechecked
def tangent_matrix(
    model: AbstractNet, x: Float[Array, " P d"], *, chunk_size: int = 64
) -> Float[Array, " M N"]:
    """The (d+1)P × N matrix G of 000 App. A eqs. (A4–A5), rows ordered (μ, n) with n = 0 the
    gradient ∇_θ f(x_μ) and n = 1..d its derivatives ∂_{x_n} ∇_θ f(x_μ) (forward mode over x of the
    reverse-mode parameter gradient). Materializes G: for small problems and tests.

    **Arguments:**

    - `model`: a scalar-output network on vectors. `x`: inputs ``(P, d)``.
    - `chunk_size`: patterns per vmapped batch.
    """
    _check(model, x)
    check_int_at_least("chunk_size", chunk_size, 1)
    return _tangent_matrix(model, x, chunk_size)


@typechecked
def n_eff(
    model: AbstractNet,
    data: Dataset,
    *,
    rtol: float | None = None,
    chunk_size: int = 64,
    method: Literal["auto", "svd", "gram"] = "auto",
    dense_limit: int = 2**22,
) -> NEffResult:
    """N_eff = rank G, the effective number of parameters of 000 App. A (eqs. A4–A5).

    G stacks, for every training pattern, ∇_θ f(x_μ) and ∂_{x_n} ∇_θ f(x_μ) (n = 1..d): (d+1)P rows,
    N columns. Its singular values σ come either from an SVD of G (``method="svd"``) or, without
    ever holding G, from the eigenvalues of the smaller Gram matrix (``method="gram"``): GᵀG (N × N)
    accumulated over chunks of `chunk_size` patterns when (d+1)P ≥ N, else G Gᵀ built column block
    by column block with a linearized forward pass. ``"auto"`` takes the SVD when G has at most
    `dense_limit` entries, the Gram route otherwise (memory O(min((d+1)P, N)²); fine up to
    (d+1)P · N ≈ 10⁸ and beyond).

    Tolerance: rank = #{σ > rtol · σ_max}. The SVD default is rtol = max(M, N) · ε
    (numpy's ``matrix_rank``). The Gram route squares the condition number: its eigenvalues carry
    errors ~ max(M, N) · ε · σ_max², so singular values below ~ √ε · σ_max ≈ 1.5·10⁻⁸ σ_max are not
    resolved and the default is rtol = √(max(M, N) · ε). Both run in float64 whatever the dtype of
    `model` and `data` (float32 rounding changes the rank: 151 instead of 154 on a small ReLU net);
    `ValueError` when float64 is off.

    **Arguments:**

    - `model`: a scalar-output network on vectors (`ValueError` otherwise).
    - `data`: the training set; only its inputs `data.x` ``(P, d)`` enter G.
    - `rtol`: relative tolerance on σ / σ_max, or None for the defaults above.
    - `chunk_size`: patterns per chunk (also rows per forward-mode batch in the G Gᵀ route).
    - `method`: ``"auto"``, ``"svd"`` or ``"gram"``. `dense_limit`: largest G that "auto" forms.
    """
    _check(model, data.x, "data.x")
    model, x = as_float64("n_eff", (model, data.x))
    check_int_at_least("chunk_size", chunk_size, 1)
    check_int_at_least("dense_limit", dense_limit, 1)
    if rtol is not None:
        check_positive("rtol", rtol, allow_zero=True)
    n = n_params(model)
    m = (x.shape[1] + 1) * x.shape[0]
    if method == "auto":
        method = "svd" if m * n <= dense_limit else "gram"
    if method == "svd":
        sigma = _singular_values_svd(model, x, chunk_size)
        eps = float(np.finfo(sigma.dtype).eps)
        rtol = max(m, n) * eps if rtol is None else rtol
    else:
        sigma = _singular_values_gram(model, x, chunk_size)
        eps = float(np.finfo(sigma.dtype).eps)
        rtol = math.sqrt(max(m, n) * eps) if rtol is None else rtol
    rank, tolerance = _rank(sigma, float(rtol))
    return NEffResult(rank=rank, singular_values=sigma, tolerance=tolerance, method=method)


@partial(jax.jit, static_argnums=1)
def _rank(sigma, rtol):
    tolerance = rtol * sigma[0]
    return jnp.sum(sigma > tolerance), tolerance
