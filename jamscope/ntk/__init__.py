"""The empirical neural tangent kernel, its change during training, and the linearized model.

For a network F(w, x) with trainable parameters w the empirical NTK is (thesis ch. 3 §2; 004 eq. 7)

    Θ(x, x′) = ∇_w F(x) · ∇_w F(x′) = Σ_leaves Σ_i ∂F(x)/∂w_i ∂F(x′)/∂w_i,

a ``(P1, P2)`` matrix for a scalar output and ``(P1, P2, K, K)`` for K outputs (or its trace over
the outputs, ``(P1, P2)``). Three implementations, equal to float precision:

- ``"structured"`` (FCNet and SmallCNN, bare, centered or linearized): Θ = Σ_l s_l² (D_l D_lᵀ) ⊙
  (U_l U_lᵀ) from the per-layer backward signals δ_l and layer inputs ũ_l, and per-example
  gradients from input patches for the convolutions ([`jamscope.ntk`][jamscope.ntk]);
  no parameter Jacobian at all. P1 P2 Σ_l (in_l + out_l) flops for a dense net.
- ``"jacobian"``: Jacobian contraction leaf by leaf (the parameters are never raveled into one
  vector), ≈ P1·P2·K²·N flops in matrix products, for any Equinox model; in blocks of patterns
  when the Jacobians do not fit in `memory_bytes`.
- ``"ntvp"``: NTK-vector products Θ e_j = J (Jᵀ e_j), a reverse pass (vjp) for the gradients of a
  block of `x2` and a forward pass (jvp) of `x1` along each of them; never holds a P × N Jacobian.

``method="auto"`` takes the structured route where it applies, else the Jacobian contraction unless
a block of Jacobian rows does not fit in `memory_bytes` ([`ntk_method`][jamscope.ntk.ntk_method]).
Memory is bounded by blocks in every route, so P = 10⁴ runs on a CPU.
[`ntk_operator`][jamscope.ntk.ntk_operator] is the matrix-free v ↦ Θ v on a training set.

[`kernel_change`][jamscope.ntk.kernel_change] is ‖Θ_t − Θ_0‖_F / ‖Θ_0‖_F (thesis ch. 3 Fig. 5a,
001 Fig. 4), ∝ 1/(α√h) in the lazy regime. [`Linearized`][jamscope.nets.Linearized] is the model
linearized at w₀, F_lin(w, x) = F(w₀, x) + ∇_w F(w₀, x) · (w − w₀) (thesis ch. 3 §2, 004 App. C): its
NTK is Θ_0 at every w, and trained it gives the lazy (frozen-kernel) limit to compare against.
"""

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    check_finite,
    check_inputs,
    check_int_at_least,
    check_positive,
    check_same_dtype,
)
from .._flat import chunked
from ..data import Dataset
from ..nets import AbstractNet, Linearized, n_params, partition
from ..regression import kernel_regression
from ..typing import Array, Float, MatVec, typechecked
from . import _structured as structured

__all__ = [
    "ntk",
    "ntk_method",
    "ntk_vector_product",
    "ntk_operator",
    "kernel_change",
    "ntk_regression",
]

_HIGHEST = jax.lax.Precision.HIGHEST
Method = Literal["auto", "structured", "jacobian", "ntvp"]


def _itemsize(model: AbstractNet) -> int:
    return int(np.dtype(jax.tree.leaves(partition(model)[0])[0].dtype).itemsize)


def _row_bytes(model: AbstractNet) -> int:
    """Bytes of one pattern's Jacobian rows, K · N numbers."""
    return model.n_outputs * n_params(model) * _itemsize(model)


@typechecked
def ntk_method(model: AbstractNet, *, memory_bytes: int = 2**30) -> Literal["structured", "jacobian", "ntvp"]:
    """The implementation ``method="auto"`` uses: ``"structured"`` for an FCNet or SmallCNN (bare,
    centered or linearized), else ``"jacobian"`` when 8 Jacobian rows fit in `memory_bytes` with
    headroom ×4, else ``"ntvp"``."""
    check_int_at_least("memory_bytes", memory_bytes, 1)
    if structured.supports(_tangent_model(model)):
        return "structured"
    return "jacobian" if 4 * 8 * _row_bytes(model) <= memory_bytes else "ntvp"


def _even_chunk(p: int, chunk: int) -> int:
    """The block size ≤ `chunk` that splits `p` patterns into the fewest, most even blocks."""
    n_blocks = -(-p // max(1, min(chunk, p)))
    return -(-p // n_blocks)


# ----------------------------------------------------------------------------------------------
# Jacobian contraction


def _apply(static):
    return lambda params, xi: eqx.combine(params, static)(xi)


def _jacobian_rows(params, static, x):
    """Per-leaf Jacobians, each reshaped to (B, K, n_leaf) (K = 1 for a scalar output)."""
    rows = jax.vmap(jax.jacrev(_apply(static)), in_axes=(None, 0))(params, x)
    b = x.shape[0]
    return [
        leaf.reshape(b, -1, math.prod(p.shape))
        for leaf, p in zip(jax.tree.leaves(rows), jax.tree.leaves(params), strict=True)
    ]


def _contract(rows1, rows2):
    """Σ_leaves J1 J2ᵀ: (B1, B2, K, K)."""
    return sum(
        jnp.einsum("akn,bln->abkl", a, b, precision=_HIGHEST) for a, b in zip(rows1, rows2, strict=True)
    )


def _blocks(x, chunk):
    (xs,), _ = chunked([x], _even_chunk(x.shape[0], chunk))
    return xs


def _unblock(theta, p1, p2):
    """(n1, n2, B1, B2, K, K) → (P1, P2, K, K) without the padded rows."""
    n1, n2, b1, b2 = theta.shape[:4]
    theta = jnp.moveaxis(theta, 2, 1).reshape((n1 * b1, n2 * b2) + theta.shape[4:])
    return theta[:p1, :p2]


@eqx.filter_jit
def _ntk_jacobian_whole(model, x1, x2):
    params, static = partition(model)
    return _contract(_jacobian_rows(params, static, x1), _jacobian_rows(params, static, x2))


@eqx.filter_jit
def _ntk_jacobian(model, x1, x2, chunk, keep_x2):
    params, static = partition(model)
    x1s, x2s = _blocks(x1, chunk), _blocks(x2, chunk)
    if keep_x2:
        rows2 = jax.lax.map(lambda xb: _jacobian_rows(params, static, xb), x2s)

        def row_block(xb):
            r1 = _jacobian_rows(params, static, xb)
            return jax.lax.map(lambda r2: _contract(r1, r2), rows2)

    else:

        def row_block(xb):
            r1 = _jacobian_rows(params, static, xb)
            return jax.lax.map(lambda xc: _contract(r1, _jacobian_rows(params, static, xc)), x2s)

    return _unblock(jax.lax.map(row_block, x1s), x1.shape[0], x2.shape[0])


# ----------------------------------------------------------------------------------------------
# Per-layer factors (FCNet, SmallCNN)


def _tangent_model(model: AbstractNet) -> AbstractNet:
    """The model with the same Jacobian as `model`: a [`Linearized`][jamscope.nets.Linearized]
    model's is that of its initial model at every w."""
    return model.initial.value if isinstance(model, Linearized) else model


@eqx.filter_jit
def _ntk_structured(model, x1, x2, chunk):
    if chunk >= x1.shape[0]:
        return structured.structured_ntk(model, x1, x2)
    second = structured.layer_factors(model, x2)
    rows = jax.lax.map(
        lambda xb: structured.kernel_from_factors(model, structured.layer_factors(model, xb), second),
        _blocks(x1, chunk),
    )
    return rows.reshape((-1,) + rows.shape[2:])[: x1.shape[0]]


# ----------------------------------------------------------------------------------------------
# NTK-vector products


def _batch_apply(static):
    return lambda params, xb: jax.vmap(lambda xi: eqx.combine(params, static)(xi))(xb)


@eqx.filter_jit
def _ntk_ntvp(model, x1, x2, chunk):
    params, static = partition(model)
    apply = _batch_apply(static)
    x1s, x2s = _blocks(x1, chunk), _blocks(x2, chunk)
    k = model.n_outputs

    def column_block(xc):
        out, pullback = jax.vjp(lambda p: apply(p, xc), params)
        b = xc.shape[0]
        cotangents = jnp.eye(b * k, dtype=out.dtype).reshape((b * k,) + out.shape)
        grads = jax.vmap(pullback)(cotangents)[0]  # ∇F_l(x2_j) for every (j, l), leading axis b·k

        def row_block(xb):
            def push(g):
                return jax.jvp(lambda p: apply(p, xb), (params,), (g,))[1]

            cols = jax.vmap(push)(grads)  # (b·k, B1, *out)
            return jnp.moveaxis(cols.reshape((b, k, xb.shape[0], k)), (2, 0), (0, 1))  # (B1, b, k2, k1)

        return jax.lax.map(row_block, x1s)  # (n1, B1, b, k2, k1)

    theta = jax.lax.map(column_block, x2s)  # (n2, n1, B1, b, k2, k1)
    theta = jnp.swapaxes(jnp.moveaxis(theta, 0, 1), -1, -2)  # (n1, n2, B1, b, k1, k2)
    return _unblock(theta, x1.shape[0], x2.shape[0])


# ----------------------------------------------------------------------------------------------
# Public kernel


def _dispatch(model, x1, x2, method, chunk_size, memory_bytes):
    """Θ ``(P1, P2, K, K)`` by the chosen route, in blocks only when the budget asks for them."""
    chosen = ntk_method(model, memory_bytes=memory_bytes) if method == "auto" else method
    p1, p2, k = x1.shape[0], x2.shape[0], model.n_outputs
    if chosen == "structured":
        tangent = _tangent_model(model)
        if not structured.supports(tangent):
            raise ValueError(f'method="structured" needs an FCNet or SmallCNN, got {type(model).__name__}')
        fitting_rows = max(1, memory_bytes // (4 * p2 * k * k * _itemsize(model)))
        return _ntk_structured(tangent, x1, x2, min(chunk_size or fitting_rows, p1))
    if chosen == "jacobian":
        whole = (p1 + p2) * _row_bytes(model) <= memory_bytes // 2
        if chunk_size is None and whole:
            return _ntk_jacobian_whole(model, x1, x2)
        chunk = chunk_size or int(max(1, min(16, memory_bytes // (4 * _row_bytes(model)))))
        return _ntk_jacobian(model, x1, x2, chunk, p2 * _row_bytes(model) <= memory_bytes // 2)
    return _ntk_ntvp(model, x1, x2, chunk_size or 16)


@typechecked
def ntk(
    model: AbstractNet,
    x1: Float[Array, " P1 *input"],
    x2: Float[Array, " P2 *input"] | None = None,
    *,
    method: Method = "auto",
    trace: bool = False,
    chunk_size: int | None = None,
    memory_bytes: int = 2**30,
) -> Float[Array, " P1 P2"] | Float[Array, " P1 P2 K K"]:
    """The empirical NTK Θ(x1_a, x2_b) = ∇_w F(x1_a) · ∇_w F(x2_b) (thesis ch. 3 §2; 004 eq. 7).

    **Arguments:**

    - `model`: any network; the gradient runs over its trainable leaves (w₀ of a
      [`Centered`][jamscope.nets.Centered] model is frozen, so Θ is the NTK of F = α(f − f₀)).
    - `x1`, `x2`: inputs ``(P1, *input_shape)`` and ``(P2, *input_shape)``; `x2` defaults to `x1`.
    - `method`: ``"structured"`` (per-layer factors, FCNet and SmallCNN), ``"jacobian"`` (Jacobian
      contraction), ``"ntvp"`` (NTK-vector products) or ``"auto"``
      ([`ntk_method`][jamscope.ntk.ntk_method]).
    - `trace`: for K outputs, return Σ_k Θ_kk ``(P1, P2)`` instead of ``(P1, P2, K, K)``.
    - `chunk_size`: patterns per block (default: no blocks when everything fits `memory_bytes`,
      else blocks that fit).
    - `memory_bytes`: budget for Jacobians and blocks of Θ (default 1 GiB).

    Returns ``(P1, P2)`` for a scalar-output model (or with `trace`), else ``(P1, P2, K, K)``.
    """
    check_inputs("x1", x1, model.input_shape)
    if x2 is None:
        x2 = x1
    else:
        check_inputs("x2", x2, model.input_shape)
        check_same_dtype("x2", x2, "x1", x1)
    check_int_at_least("memory_bytes", memory_bytes, 1)
    if chunk_size is not None:
        check_int_at_least("chunk_size", chunk_size, 1)
    theta = _dispatch(model, x1, x2, method, chunk_size, memory_bytes)
    if model.n_outputs == 1:
        return theta[:, :, 0, 0]
    return jnp.trace(theta, axis1=2, axis2=3) if trace else theta


# ----------------------------------------------------------------------------------------------
# Matrix-free operator


def _ntvp(model, x, v):
    params, static = partition(model)
    apply = _batch_apply(static)
    _, pullback = jax.vjp(lambda p: apply(p, x), params)
    (g,) = pullback(v)
    return jax.jvp(lambda p: apply(p, x), (params,), (g,))[1]


@typechecked
def ntk_vector_product(
    model: AbstractNet, x: Float[Array, " P *input"], v: Float[Array, " P *out"]
) -> Float[Array, " P *out"]:
    """Θ v = J (Jᵀ v) on the patterns `x`, by one vjp and one jvp (no Jacobian, no P × P matrix).

    `v` has the shape of the outputs: ``(P,)`` for a scalar model, ``(P, K)`` for K outputs.
    """
    check_inputs("x", x, model.input_shape)
    expected = (x.shape[0],) if model.n_outputs == 1 else (x.shape[0], model.n_outputs)
    if tuple(v.shape) != expected:
        raise ValueError(f"`v` must have the shape of the outputs {expected}, got {tuple(v.shape)}")
    check_finite("v", v)
    return eqx.filter_jit(_ntvp)(model, x, v)


@typechecked
def ntk_operator(model: AbstractNet, x: Float[Array, " P *input"]) -> tuple[MatVec, int]:
    """The training NTK as a jitted matrix-free operator (v ↦ Θ v, P) for a scalar-output model:
    the input of [`jamscope.curvature`][jamscope.curvature]'s Lanczos and SLQ routines."""
    check_inputs("x", x, model.input_shape)
    if model.n_outputs != 1:
        raise ValueError(f"`ntk_operator` needs a scalar-output model, got n_outputs = {model.n_outputs}")
    params, static = partition(model)
    matvec = jax.jit(lambda p, xx, v: _ntvp(eqx.combine(p, static), xx, v))
    return (lambda v: matvec(params, x, v)), int(x.shape[0])


@typechecked
def kernel_change(
    model_t: AbstractNet,
    model_0: AbstractNet,
    x: Float[Array, " P *input"],
    *,
    method: Method = "auto",
    chunk_size: int | None = None,
) -> Float[Array, ""]:
    """‖Θ_t − Θ_0‖_F / ‖Θ_0‖_F on the patterns `x` (thesis ch. 3 Fig. 5a; 001 Fig. 4): how far the
    tangent kernel moved between the weights of `model_0` and `model_t` (same architecture).
    ∝ 1/(α√h) in the lazy regime; O(1) in the feature regime."""
    if jax.tree.structure(partition(model_t)[0]) != jax.tree.structure(partition(model_0)[0]):
        raise ValueError("`model_t` and `model_0` must be the same architecture (same parameter pytree)")
    check_inputs("x", x, model_t.input_shape)
    theta_t = ntk(model_t, x, method=method, trace=True, chunk_size=chunk_size)
    theta_0 = ntk(model_0, x, method=method, trace=True, chunk_size=chunk_size)
    return jnp.linalg.norm(theta_t - theta_0) / jnp.linalg.norm(theta_0)


# ----------------------------------------------------------------------------------------------
# Linearized model


@typechecked
def ntk_regression(
    model: AbstractNet,
    data: Dataset,
    x_test: Float[Array, " Q *input"],
    *,
    ridge: float = 0.0,
) -> Float[Array, " Q"]:
    """The lazy-limit predictor of a scalar-output model trained with the square loss (004 App. C eq. 15):

        f(x) = F(w₀, x) + Θ_0(x, X) (Θ_0 + λ P I)⁺ (y − F(w₀, X)),

    kernel regression with the frozen NTK Θ_0 of `model` on the training set `data` (ridgeless for
    `ridge` λ = 0: the fixed point of gradient flow of the linearized model). For a
    [`Centered`][jamscope.nets.Centered] model F(w₀, ·) = 0.
    """
    if model.n_outputs != 1:
        raise ValueError(f"`ntk_regression` needs a scalar-output model, got n_outputs = {model.n_outputs}")
    if not data.binary:
        raise ValueError("`ntk_regression` needs real-valued (e.g. ±1) labels, `data.y` holds class indices")
    check_inputs("data.x", data.x, model.input_shape)
    check_inputs("x_test", x_test, model.input_shape)
    check_positive("ridge", ridge, allow_zero=True)
    k_train = ntk(model, data.x)
    k_test = ntk(model, x_test, data.x)
    f_train, f_test = jax.vmap(model)(data.x), jax.vmap(model)(x_test)
    return f_test + kernel_regression(k_train, data.y - f_train, k_test, ridge=ridge)
