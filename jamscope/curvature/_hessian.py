"""The Hessian of the training loss and its two parts, H = H0 + Hp, with their spectra.

For the objective L(θ) = (1/(α² P)) Σ_μ ℓ(F(x_μ; θ), y_μ) (000 eq. 9; thesis ch. 3 eq. 7, α =
`model.output_scale`, 1 for a plain network) the chain rule splits the Hessian in two (000 eq. 3,
written there for the quadratic hinge, where ℓ′ = −y Δ₊ and ℓ″ = θ(Δ)):

    H0 = (1/(α² P)) Σ_μ ℓ″_μ ∇F_μ ∇F_μᵀ     (Gauss–Newton part: PSD when ℓ″ ⪰ 0, rank ≤ #{ℓ″_μ ≠ 0})
    Hp = (1/(α² P)) Σ_μ ℓ′_μ ∇∇F_μ          (the part carrying the curvature of the network)

with ∇ the gradient in the trainable parameters θ, flattened in the order of
[`flat_params`][jamscope.nets.flat_params]. With K outputs ℓ′_μ ∈ ℝᴷ and ℓ″_μ ∈ ℝᴷˣᴷ and the products
above become contractions over the output index.

The dense route never differentiates the loss twice: H0 = Jᵀ diag(ℓ″/(α²P)) J is a matmul of the
Jacobian J = ∂F/∂θ, and Hp is the Hessian of the scalar θ ↦ Σ_μ c_μ F(x_μ; θ) with the weights
c_μ = ℓ′_μ/(α²P) frozen. For an [`FCNet`][jamscope.nets.FCNet] (bare or centered) Hp is assembled
from layer blocks in closed form (the layer blocks of `curvature._fc_hessian`, ≈ 3 P N² flops
in matrix products); for any other network it is taken forward-over-reverse on blocks of basis
tangents (≈ 12 P N² flops, the cost of ``jax.hessian``). Both are accumulated over chunks of
patterns, so memory stays at O(N²) + O(chunk · N).
The matrix-free products ([`hvp`][jamscope.curvature.hvp], [`h0vp`][jamscope.curvature.h0vp],
[`hpvp`][jamscope.curvature.hpvp], [`operators`][jamscope.curvature.operators]) never build an N × N
matrix.

Precision: spectra, zero modes and ranks need float64 (``jax.config.update("jax_enable_x64", True)``).
"""

from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    check_finite,
    check_float64,
    check_inputs,
    check_int_at_least,
    check_nonempty,
    check_positive,
    check_trailing_shape,
    is_concrete,
)
from .._flat import batched, chunked, flat_model
from ..data import Dataset
from ..losses import AbstractLoss
from ..nets import AbstractNet, n_params
from ..typing import Array, Float, Int, MatVec, typechecked
from . import _fc_hessian as fc_hessian

__all__ = [
    "HessianParts",
    "SpectrumSummary",
    "jacobian",
    "decompose",
    "hessian",
    "hvp",
    "h0vp",
    "hpvp",
    "operators",
    "spectrum",
    "summarize",
    "hessian_summaries",
]

_HIGHEST = jax.lax.Precision.HIGHEST


# ----------------------------------------------------------------------------------------------
# Checks and the flat-parameter view of a model


def _check_problem(loss: AbstractLoss, model: AbstractNet, data: Dataset) -> None:
    """`data` checked its own values on construction; here: does it fit the model and the loss?"""
    check_trailing_shape("data.x", data.x, model.input_shape)
    if jnp.issubdtype(data.y.dtype, jnp.integer) and data.n_classes != model.n_outputs:
        raise ValueError(
            f"`data` has n_classes = {data.n_classes} labels but the model has {model.n_outputs} output(s)"
        )
    if is_concrete(data.y):
        loss.check_labels(data.y, model.n_outputs)


def _check_vector(model: AbstractNet, v: Array) -> None:
    n = n_params(model)
    if tuple(v.shape) != (n,):
        raise ValueError(f"`v` must be a flat parameter vector of shape ({n},), got {tuple(v.shape)}")
    check_finite("v", v)


def _check_chunk(name: str, value: int) -> None:
    check_int_at_least(name, value, 1)


def _derivatives(loss: AbstractLoss, model: AbstractNet, apply, theta, x, y):
    """Outputs F_μ, the frozen ℓ′_μ and ℓ″_μ, and the scale 1/(α²P) of the objective."""
    f = batched(apply, theta, x)
    scale = 1.0 / (model.output_scale**2 * x.shape[0])
    first = jax.lax.stop_gradient(loss.first_derivative(f, y))
    second = jax.lax.stop_gradient(loss.second_derivative(f, y))
    return f, first, second, scale


def _weighted_outputs(apply, theta, x, c):
    """θ ↦ Σ_μ c_μ · F(x_μ; θ), the scalar whose Hessian is Hp (c frozen)."""
    out = batched(apply, theta, x)
    return jnp.sum(c * out)


def _output_space_product(second, u):
    """ℓ″ u per pattern: elementwise for binary losses, a K × K block product for K classes."""
    if second.ndim == 1:
        return second * u
    return jnp.einsum("pkl,pl->pk", second, u, precision=_HIGHEST)


# ----------------------------------------------------------------------------------------------
# Jacobian


@eqx.filter_jit
def _jacobian(model, x, chunk_size):
    theta, apply = flat_model(model)
    row = jax.jacrev(apply)  # (N,) for a scalar output, (K, N) for K outputs
    return jax.lax.map(lambda xi: row(theta, xi), x, batch_size=min(chunk_size, x.shape[0]))


@typechecked
def jacobian(
    model: AbstractNet, x: Float[Array, " P *input"], *, chunk_size: int = 256
) -> Float[Array, " P N"] | Float[Array, " P K N"]:
    """The Jacobian J_μ = ∂F(x_μ; θ)/∂θ of the outputs in the trainable parameters θ.

    One reverse-mode gradient per pattern, vmapped over `chunk_size` patterns at a time
    (``lax.map(..., batch_size=chunk_size)``), so memory is O(chunk_size · N) plus the result.
    Columns follow the order of [`flat_params`][jamscope.nets.flat_params]. The rows are the
    ∇F_μ of the Gauss–Newton part H0 (000 eq. 3) and of the empirical NTK Θ = J Jᵀ.

    **Arguments:**

    - `model`: a network, scalar output (``(P, N)`` result) or K outputs (``(P, K, N)``).
    - `x`: inputs ``(P, *input_shape)``.
    - `chunk_size`: patterns per vmapped batch.
    """
    check_inputs("x", x, model.input_shape)
    _check_chunk("chunk_size", chunk_size)
    return _jacobian(model, x, chunk_size)


# ----------------------------------------------------------------------------------------------
# Dense decomposition


class HessianParts(eqx.Module):
    """The Hessian H = H0 + Hp of the training objective and the loss derivatives behind it.

    - `h`, `h0`, `hp`: ``(N, N)`` symmetric matrices in the order of
      [`flat_params`][jamscope.nets.flat_params] (000 eq. 3); `h` is exactly ``h0 + hp``.
    - `first`: ℓ′(F_μ, y_μ) per pattern, ``(P,)`` or ``(P, K)`` (unscaled: without 1/(α²P)).
    - `second`: ℓ″(F_μ, y_μ) per pattern, ``(P,)`` or ``(P, K, K)`` (unscaled).
    """

    h: Float[Array, " N N"]
    h0: Float[Array, " N N"]
    hp: Float[Array, " N N"]
    first: Float[Array, " P *K"]
    second: Float[Array, " P *KK"]


def _basis_products(linear_map, n: int, block_size: int, dtype) -> Array:
    """Rows A e_i, i = 0..n−1, of a symmetric linear map A, `block_size` tangents at a time.

    The index range is padded to whole blocks (``one_hot`` of an index ≥ n is the zero vector, so
    the padded rows are zero and dropped): one vmapped block body, looped with ``lax.map``.
    """
    block = min(block_size, n)
    n_blocks = -(-n // block)
    indices = jnp.arange(n_blocks * block).reshape(n_blocks, block)
    apply_block = jax.vmap(lambda i: linear_map(jax.nn.one_hot(i, n, dtype=dtype)))
    if n_blocks == 1:
        return apply_block(indices[0])[:n]
    return jax.lax.map(apply_block, indices).reshape(-1, n)[:n]


def _symmetric(a):
    return 0.5 * (a + a.T)


def _masked(values, mask):
    """Zero the padded rows of a chunk (they carry no weight in H0 or Hp)."""
    return jnp.where(mask.reshape((-1,) + (1,) * (values.ndim - 1)), values, 0.0)


def _accumulate(term, n: int, dtype, chunks):
    """Σ over chunks of the (N, N) matrix `term(*chunk)`: a scan, or one call for a single chunk."""
    zeros = jnp.zeros((n, n), dtype)
    if chunks[0].shape[0] == 1:
        return term(*(c[0] for c in chunks))
    total, _ = jax.lax.scan(lambda acc, chunk: (acc + term(*chunk), None), zeros, chunks)
    return total


@eqx.filter_jit
def _decompose(loss, model, x, y, chunk_size, block_size):
    theta, apply = flat_model(model)
    n = theta.shape[0]
    p = x.shape[0]
    _, first, second, scale = _derivatives(loss, model, apply, theta, x, y)
    (xs, cs, ws), ms = chunked([x, first * scale, second * scale], min(chunk_size, p))

    def h0_term(xc, wc, mc):
        # Jᵀ diag(ℓ″/(α²P)) J on this chunk (K outputs: the K × K blocks of ℓ″)
        wc = _masked(wc, mc)
        jac = jax.vmap(lambda xi: jax.jacrev(apply)(theta, xi))(xc)
        if wc.ndim == 1:
            weighted = wc[:, None] * jac
        else:
            weighted = jnp.einsum("pkl,pln->pkn", wc, jac, precision=_HIGHEST)
        return jnp.matmul(jac.reshape(-1, n).T, weighted.reshape(-1, n), precision=_HIGHEST)

    def hp_term(xc, cc, mc):
        # ∇∇ Σ_μ c_μ F_μ: forward-over-reverse, the reverse pass linearized once and pushed along
        # blocks of `block_size` basis tangents e_i (row i of the result is Hp e_i).
        cc = _masked(cc, mc)
        grad = jax.grad(lambda th: _weighted_outputs(apply, th, xc, cc))
        _, tangent_map = jax.linearize(grad, theta)
        return _basis_products(tangent_map, n, block_size, theta.dtype)

    h0 = _accumulate(h0_term, n, theta.dtype, (xs, ws, ms))
    if fc_hessian.supports(model):  # fully connected: Hp from layer blocks
        hp = fc_hessian.fc_hp(model, xs, cs, ms)
    else:
        hp = _accumulate(hp_term, n, theta.dtype, (xs, cs, ms))
    h0, hp = _symmetric(h0), _symmetric(hp)
    return HessianParts(h=h0 + hp, h0=h0, hp=hp, first=first, second=second)


@typechecked
def decompose(
    loss: AbstractLoss,
    model: AbstractNet,
    data: Dataset,
    *,
    chunk_size: int = 256,
    block_size: int = 64,
) -> HessianParts:
    """Dense H, H0 and Hp of the objective (1/(α²P)) Σ_μ ℓ(F(x_μ), y_μ) (000 eq. 3).

        H0 = (1/(α²P)) Σ_μ ℓ″_μ ∇F_μ ∇F_μᵀ = Jᵀ diag(ℓ″/(α²P)) J,
        Hp = (1/(α²P)) Σ_μ ℓ′_μ ∇∇F_μ = ∇∇_θ Σ_μ sg(c_μ) F(x_μ; θ),  c_μ = ℓ′_μ/(α²P),
        H  = H0 + Hp.

    For the quadratic hinge ℓ′ = −y Δ₊ and ℓ″ = θ(Δ): $H_0 = \\frac{1}{P} \\sum_{μ∈m} ∇Δ_μ ∇Δ_μ^⊤$ is PSD
    with rank
    ≤ N_Δ and $H_p = \\frac{1}{P} \\sum_{μ∈m} Δ_μ ∇∇Δ_μ$ (000 eq. 3, 000 App. B). H0 uses the Jacobian of a
    chunk
    of patterns (a matmul). Hp of an FCNet comes from its layer blocks
    (the layer blocks of `curvature._fc_hessian`); for other networks it is forward-over-reverse
    on `block_size` basis tangents at a time (``lax.map`` over blocks of the identity). Both are
    accumulated over chunks of `chunk_size` patterns: memory O(N²) + O(chunk_size · N) +
    O(block_size · chunk_size · activations).
    Works unchanged under ``eqx.filter_vmap`` over an ensemble of models.

    **Arguments:**

    - `loss`: the loss; its ℓ′ and ℓ″ (``first_derivative``, ``second_derivative``) set the weights.
    - `model`: a network; [`Centered`][jamscope.nets.Centered] models bring their α.
    - `data`: the training set: inputs `data.x` ``(P, *input_shape)``, labels `data.y` (±1 for
      binary losses, class indices for multi-class ones).
    - `chunk_size`: patterns per chunk. `block_size`: tangent vectors per forward-mode block.

    Returns a [`HessianParts`][jamscope.curvature.HessianParts]. Use float64 for spectra.
    """
    _check_problem(loss, model, data)
    _check_chunk("chunk_size", chunk_size)
    _check_chunk("block_size", block_size)
    return _decompose(loss, model, data.x, data.y, chunk_size, block_size)


@typechecked
def hessian(
    loss: AbstractLoss,
    model: AbstractNet,
    data: Dataset,
    *,
    chunk_size: int = 256,
    block_size: int = 64,
) -> Float[Array, " N N"]:
    """The dense Hessian H = H0 + Hp of the objective (000 eq. 3), by the route of
    [`decompose`][jamscope.curvature.decompose] (whose `h` it returns). Same arguments."""
    return decompose(loss, model, data, chunk_size=chunk_size, block_size=block_size).h


# ----------------------------------------------------------------------------------------------
# Matrix-free products


def _objective_flat(loss, model, apply, x, y):
    alpha2 = model.output_scale**2

    def objective(th):
        return jnp.mean(loss.value(batched(apply, th, x), y)) / alpha2

    return objective


@eqx.filter_jit
def _hvp(loss, model, x, y, v):
    theta, apply = flat_model(model)
    grad = jax.grad(_objective_flat(loss, model, apply, x, y))
    return jax.jvp(grad, (theta,), (v,))[1]


@eqx.filter_jit
def _h0vp(loss, model, x, y, v):
    theta, apply = flat_model(model)
    _, _, second, scale = _derivatives(loss, model, apply, theta, x, y)
    _, push = jax.linearize(lambda th: batched(apply, th, x), theta)
    (out,) = jax.linear_transpose(push, theta)(_output_space_product(second * scale, push(v)))
    return out


@eqx.filter_jit
def _hpvp(loss, model, x, y, v):
    theta, apply = flat_model(model)
    _, first, _, scale = _derivatives(loss, model, apply, theta, x, y)
    c = jax.lax.stop_gradient(first * scale)
    grad = jax.grad(lambda th: _weighted_outputs(apply, th, x, c))
    return jax.jvp(grad, (theta,), (v,))[1]


@typechecked
def hvp(loss: AbstractLoss, model: AbstractNet, data: Dataset, v: Float[Array, " N"]) -> Float[Array, " N"]:
    """H v for the Hessian of the objective (000 eq. 3), by forward-over-reverse ``jvp(grad(L))``.

    Differentiates the objective itself (not H0 v + Hp v), so it is also an independent check of
    the decomposition; the two agree wherever ℓ is twice differentiable at every F_μ.

    **Arguments:**

    - `loss`, `model`, `data`: as for [`decompose`][jamscope.curvature.decompose].
    - `v`: a flat parameter vector ``(N,)``, in the order of [`flat_params`][jamscope.nets.flat_params].
    """
    _check_problem(loss, model, data)
    _check_vector(model, v)
    return _hvp(loss, model, data.x, data.y, v)


@typechecked
def h0vp(loss: AbstractLoss, model: AbstractNet, data: Dataset, v: Float[Array, " N"]) -> Float[Array, " N"]:
    """H0 v = Jᵀ (ℓ″/(α²P)) (J v), the Gauss–Newton product (000 eq. 3) without forming J.

    The outputs are linearized (``jax.linearize``: J v), multiplied by ℓ″ in output space (K × K
    blocks with K outputs) and pulled back by the transposed linear map (``jax.linear_transpose``).

    **Arguments:**

    - `loss`, `model`, `data`: as for [`decompose`][jamscope.curvature.decompose].
    - `v`: a flat parameter vector ``(N,)``, in the order of [`flat_params`][jamscope.nets.flat_params].
    """
    _check_problem(loss, model, data)
    _check_vector(model, v)
    return _h0vp(loss, model, data.x, data.y, v)


@typechecked
def hpvp(loss: AbstractLoss, model: AbstractNet, data: Dataset, v: Float[Array, " N"]) -> Float[Array, " N"]:
    """Hp v = ∇∇_θ[Σ_μ sg(c_μ) F(x_μ; θ)] v with c_μ = ℓ′_μ/(α²P) frozen (000 eq. 3), one
    forward-over-reverse product.

    **Arguments:**

    - `loss`, `model`, `data`: as for [`decompose`][jamscope.curvature.decompose].
    - `v`: a flat parameter vector ``(N,)``, in the order of [`flat_params`][jamscope.nets.flat_params].
    """
    _check_problem(loss, model, data)
    _check_vector(model, v)
    return _hpvp(loss, model, data.x, data.y, v)


@jax.jit
def _apply_linear(op, v):
    return op(v)


@jax.jit
def _apply_gauss_newton(push, pull, weights, v):
    (out,) = pull(_output_space_product(weights, push(v)))
    return out


@eqx.filter_jit
def _build_operators(loss, model, x, y):
    theta, apply = flat_model(model)
    _, first, second, scale = _derivatives(loss, model, apply, theta, x, y)
    _, h_lin = jax.linearize(jax.grad(_objective_flat(loss, model, apply, x, y)), theta)
    _, push = jax.linearize(lambda th: batched(apply, th, x), theta)
    pull = jax.linear_transpose(push, theta)
    c = jax.lax.stop_gradient(first * scale)
    _, hp_lin = jax.linearize(jax.grad(lambda th: _weighted_outputs(apply, th, x, c)), theta)
    return h_lin, push, pull, second * scale, hp_lin


@typechecked
def operators(loss: AbstractLoss, model: AbstractNet, data: Dataset) -> tuple[MatVec, MatVec, MatVec, int]:
    """Jitted matrix-free products ``(h_mv, h0_mv, hp_mv, n)`` for Lanczos / SLQ.

    The set-up runs once: ``jax.linearize`` of ∇L (for H), of the outputs (for H0, with its
    ``jax.linear_transpose``) and of ∇Σ_μ sg(c_μ) F_μ (for Hp) at the current θ; each product then
    costs one forward-mode pass (two for H0) and never builds an N × N matrix. The closures are
    ``jax.tree_util.Partial`` objects, so they can also be passed into jitted code. `n` is N.

    **Arguments:**

    - `loss`, `model`, `data`: as for [`decompose`][jamscope.curvature.decompose].
    """
    _check_problem(loss, model, data)
    h_lin, push, pull, weights, hp_lin = _build_operators(loss, model, data.x, data.y)
    n = n_params(model)
    h_mv = jax.tree_util.Partial(_apply_linear, h_lin)
    h0_mv = jax.tree_util.Partial(_apply_gauss_newton, push, pull, weights)
    hp_mv = jax.tree_util.Partial(_apply_linear, hp_lin)
    return h_mv, h0_mv, hp_mv, n


# ----------------------------------------------------------------------------------------------
# Spectra


@typechecked
def spectrum(matrix: Float[Array, " N N"]) -> Float[Array, " N"]:
    """Eigenvalues of a symmetric matrix in ascending order (``eigvalsh``; reads the lower triangle).

    Use float64: the zero modes of H0 and the sign of small Hp eigenvalues are decided relative to
    ε_machine · max|λ|.
    """
    check_finite("matrix", matrix)
    return jnp.linalg.eigvalsh(matrix)


class SpectrumSummary(eqx.Module):
    """Counts and moments of a spectrum {λ_i}, i = 1..N (000 §IV–V, App. B; Fig. 7).

    - `n`: N. `tolerance`: the zero-mode threshold tol = rtol · max|λ|.
    - `n_zero`, `n_negative`, `n_positive`: #{|λ| ≤ tol}, #{λ < −tol}, #{λ > tol}.
    - `c0`: C0 = N₋/N, the fraction of negative eigenvalues (000 eq. 12, App. B: 1/2 for ReLU Hp).
    - `moment1`, `moment3`, `moment5`: normalized odd moments tr(Mᵏ)/N = (1/N) Σ λᵏ, k = 1, 3, 5
      (zero for a symmetric spectrum, 000 App. B eq. B1).
    - `skewness`: |tr(M³)/N| / (tr(M²)/N)^(3/2) (0 for a zero spectrum).
    - `gap`: the smallest eigenvalue above tol, the gap of H0 above its delta peak at 0 (000 Fig. 7c);
      NaN when no eigenvalue exceeds tol.
    """

    n: int = eqx.field(static=True)
    tolerance: Float[Array, ""]
    n_zero: Int[Array, ""]
    n_negative: Int[Array, ""]
    n_positive: Int[Array, ""]
    c0: Float[Array, ""]
    moment1: Float[Array, ""]
    moment3: Float[Array, ""]
    moment5: Float[Array, ""]
    skewness: Float[Array, ""]
    gap: Float[Array, ""]


@typechecked
def summarize(eigenvalues: Float[Array, " N"], rtol: float | None = None) -> SpectrumSummary:
    """Zero modes, signs, odd moments, skewness and gap of a spectrum (000 §V, App. B, Fig. 7).

    Eigenvalues with |λ| ≤ tol = rtol · max|λ| count as zero modes; the default
    rtol = N · ε(dtype) is the usual rank tolerance of a symmetric eigensolver (numpy's
    ``matrix_rank(..., hermitian=True)``). Pass a larger rtol when the matrix itself carries
    rounding errors of its own (e.g. a Hessian assembled from many terms). Works under ``jit``
    and ``vmap``. The eigenvalues must be float64 (`ValueError` otherwise): a float32 matrix's
    rounding, ~10⁻⁷ max|λ|, invents or hides zero modes that no tolerance can sort out.

    **Arguments:**

    - `eigenvalues`: the N eigenvalues (any order), e.g. from [`spectrum`][jamscope.curvature.spectrum].
    - `rtol`: relative zero-mode tolerance (≥ 0), or None for N · ε.
    """
    check_finite("eigenvalues", eigenvalues)
    check_nonempty("eigenvalues", eigenvalues)
    check_float64("eigenvalues", eigenvalues)
    if rtol is None:
        rtol = eigenvalues.shape[0] * float(np.finfo(eigenvalues.dtype).eps)
    check_positive("rtol", rtol, allow_zero=True)
    return _summarize(eigenvalues, float(rtol))


@partial(jax.jit, static_argnums=1)
def _summarize(lam, rtol):
    n = lam.shape[0]
    tol = rtol * jnp.max(jnp.abs(lam))
    n_negative = jnp.sum(lam < -tol)
    n_positive = jnp.sum(lam > tol)
    m2 = jnp.mean(lam**2)
    m3 = jnp.mean(lam**3)
    safe_m2 = jnp.where(m2 > 0, m2, 1.0)
    gap = jnp.min(jnp.where(lam > tol, lam, jnp.inf))
    return SpectrumSummary(
        n=n,
        tolerance=tol,
        n_zero=n - n_negative - n_positive,
        n_negative=n_negative,
        n_positive=n_positive,
        c0=n_negative / n,
        moment1=jnp.mean(lam),
        moment3=m3,
        moment5=jnp.mean(lam**5),
        skewness=jnp.where(m2 > 0, jnp.abs(m3) / safe_m2**1.5, 0.0),
        gap=jnp.where(jnp.isfinite(gap), gap, jnp.nan),
    )


@typechecked
def hessian_summaries(parts: HessianParts, rtol: float | None = None) -> dict[str, SpectrumSummary]:
    """``{"h": …, "h0": …, "hp": …}``: [`summarize`][jamscope.curvature.summarize] of the spectrum of
    each part of a [`HessianParts`][jamscope.curvature.HessianParts] (000 Fig. 7: H0 delta peak and
    gap, Hp symmetry, negative modes of H)."""
    return {name: summarize(spectrum(getattr(parts, name)), rtol) for name in ("h", "h0", "hp")}
