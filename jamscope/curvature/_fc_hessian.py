"""Hp = ∇∇ Σ_μ c_μ F(x_μ) of a fully connected network, assembled from layer blocks.

The generic route of [`decompose`][jamscope.curvature.decompose] pushes N basis tangents through
the network (forward over reverse): ≈ 12 P N² flops, the cost of ``jax.hessian``. For an
[`FCNet`][jamscope.nets.FCNet] or an [`MLP`][jamscope.nets.MLP] (also inside
[`Centered`][jamscope.nets.Centered]) the parameters of layer l enter only through its
preactivation z_l = s_l W_l u_l + β b_l (u_l the layer input; s_l = 1/√fan_in and β = `bias_scale`
in the NTK parametrization of FCNet, s_l = β = 1 in the standard one of MLP), which gives the
Hessian in closed form from small per-pattern objects. With
W̃_l = [W_l | b_l] and ũ_l = [u_l ; β/s_l] (so z_l = s_l W̃_l ũ_l), δ_l = ∂F_μ/∂z_l,
E_lk = ∂²F_μ/∂z_l∂z_k (the Hessian in preactivation space, (Σ_l width_l)² entries) and
A_lk = ∂ũ_l/∂z_k (how a change of z_k, k < l, moves the input of layer l):

    ∂²F/∂W̃_l,ij ∂W̃_k,mn = s_l s_k Σ_μ [ E_lk,im ũ_l,j ũ_k,n  +  δ_l,i A_lk,jm ũ_k,n ]    (k < l),

and the first term alone for k = l. Each block is one matrix product over patterns (BLAS-3,
contraction length P), ≈ 3 P N² flops in all; δ, E and A come from autodiff on the preactivations
(≈ P · N · Σ width flops). The blocks are accumulated over chunks of patterns and permuted into
the order of [`flat_params`][jamscope.nets.flat_params] at the end.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ..nets import MLP, AbstractNet, FCNet, activation_function, unwrap

__all__ = ["supports", "fc_hp"]

_HIGHEST = jax.lax.Precision.HIGHEST


def supports(model: AbstractNet) -> bool:
    """Whether `model` is an FCNet or an MLP, bare or centered (the layer-block route applies)."""
    return isinstance(unwrap(model)[0], FCNet | MLP)


def _layout(net: FCNet | MLP):
    """(s_l per layer, β or None without biases, σ): z_l = s_l W_l u_l + β b_l, u_{l+1} = σ(z_l)."""
    if isinstance(net, MLP):
        return [1.0] * len(net.weights), 1.0, activation_function(net.activation, 1.0, normalize=False)
    sigma = activation_function(net.activation, net.softplus_beta, net.normalize_activation)
    bias = net.bias_scale if net.biases is not None else None
    return [1.0 / math.sqrt(w.shape[1]) for w in net.weights], bias, sigma


def _ravel_permutation(net: FCNet | MLP) -> np.ndarray:
    """perm[r] = position in the augmented layout [W̃_0, W̃_1, …] of entry r of `flat_params`
    (ravel order: W_0, …, W_L row-major, then b_0, …, b_L)."""
    has_bias = net.biases is not None
    aug_offsets, offset = [], 0
    for w in net.weights:
        aug_offsets.append(offset)
        offset += w.shape[0] * (w.shape[1] + has_bias)
    weight_part, bias_part = [], []
    for w, start in zip(net.weights, aug_offsets, strict=True):
        out, fan_in = w.shape
        rows = start + np.arange(out)[:, None] * (fan_in + has_bias)
        weight_part.append((rows + np.arange(fan_in)[None, :]).ravel())
        if has_bias:
            bias_part.append(rows[:, 0] + fan_in)
    return np.concatenate(weight_part + bias_part)


def _pattern_terms(net: FCNet | MLP, xi, ci):
    """For one pattern: the inputs ũ_l, δ_l = ∂F/∂z_l, E = ∂²F/∂z∂z and ∂h/∂z (hidden outputs)."""
    scales, bias, sigma = _layout(net)
    outs = [w.shape[0] for w in net.weights]
    splits = np.cumsum(outs)[:-1].tolist()

    def forward(eps):
        parts = jnp.split(eps, splits)
        u, inputs, hidden = xi, [], []
        for layer, w in enumerate(net.weights):
            inputs.append(u)
            z = scales[layer] * (w @ u) + parts[layer]
            if bias is not None:
                z = z + bias * net.biases[layer]
            if layer < len(net.weights) - 1:
                u = sigma(z)
                hidden.append(u)
        return jnp.sum(ci * z), inputs, jnp.concatenate(hidden)

    eps = jnp.zeros(sum(outs), xi.dtype)
    value = lambda e: forward(e)[0]  # noqa: E731
    delta = jax.grad(value)(eps)
    second = jax.jacfwd(jax.grad(value))(eps)
    hidden_jac = jax.jacfwd(lambda e: forward(e)[2])(eps)
    inputs = forward(eps)[1]
    if bias is not None:
        inputs = [jnp.append(u, bias / s) for u, s in zip(inputs, scales, strict=True)]
    return inputs, delta, second, hidden_jac


def _pair_product(a, b):
    """Σ_μ a_μ ⊗ b_μ for a (P, …) and b (P, …): one matmul contracting the pattern axis."""
    p = a.shape[0]
    out = jnp.matmul(a.reshape(p, -1).T, b.reshape(p, -1), precision=_HIGHEST)
    return out.reshape(a.shape[1:] + b.shape[1:])


def _chunk_blocks(net: FCNet | MLP, x, c):
    """Layer blocks (a, b), a ≥ b, of Σ_μ c_μ ∇∇f_μ over one chunk, each (out_a, in_a, out_b, in_b)."""
    inputs, delta, second, hidden_jac = jax.vmap(lambda xi, ci: _pattern_terms(net, xi, ci))(x, c)
    outs = [w.shape[0] for w in net.weights]
    z_start = np.concatenate([[0], np.cumsum(outs)])
    h_start = np.concatenate([[0], np.cumsum(outs[:-1])])  # hidden outputs h_1..h_L
    scales, bias, _ = _layout(net)
    has_bias = bias is not None
    blocks = {}
    for a in range(len(outs)):
        for b in range(a + 1):
            e_ab = second[:, z_start[a] : z_start[a + 1], z_start[b] : z_start[b + 1]]  # (P, i, m)
            uu = inputs[a][:, :, None] * inputs[b][:, None, :]  # (P, j, n)
            block = jnp.transpose(_pair_product(e_ab, uu), (0, 2, 1, 3))  # (i, j, m, n)
            if b < a:
                # ∂ũ_a/∂z_b: rows of the hidden output feeding layer a, zero for the bias feature
                jac_ab = hidden_jac[:, h_start[a - 1] : h_start[a], z_start[b] : z_start[b + 1]]
                if has_bias:
                    jac_ab = jnp.pad(jac_ab, ((0, 0), (0, 1), (0, 0)))
                du = delta[:, z_start[a] : z_start[a + 1], None] * inputs[b][:, None, :]  # (P, i, n)
                block = block + jnp.transpose(_pair_product(jac_ab, du), (2, 0, 1, 3))  # (j,m,i,n)→(i,j,m,n)
            blocks[a, b] = block * (scales[a] * scales[b])
    return blocks


def fc_hp(model: AbstractNet, x, c, mask):
    """Hp = Σ_μ c_μ ∇∇F(x_μ) in the order of `flat_params`, for an FCNet or MLP (bare or centered).

    `x`, `c`, `mask` are already split into chunks ``(n_chunks, chunk, …)``; padded rows have
    mask 0 and contribute nothing.
    """
    net, alpha = unwrap(model)
    xs, cs = x, c * alpha
    cs = jnp.where(mask.reshape(mask.shape + (1,) * (cs.ndim - 2)), cs, 0.0)

    def body(total, inputs):
        blocks = _chunk_blocks(net, *inputs)
        return jax.tree.map(jnp.add, total, blocks), None

    first = _chunk_blocks(net, xs[0], cs[0])
    if xs.shape[0] > 1:
        first, _ = jax.lax.scan(body, first, (xs[1:], cs[1:]))
    n_layers = len(net.weights)
    sizes = [first[a, a].shape[0] * first[a, a].shape[1] for a in range(n_layers)]
    rows = []
    for a in range(n_layers):
        row = []
        for b in range(n_layers):
            block = first[a, b] if b <= a else jnp.transpose(first[b, a], (2, 3, 0, 1))
            row.append(block.reshape(sizes[a], sizes[b]))
        rows.append(row)
    augmented = jnp.block(rows)
    perm = _ravel_permutation(net)
    return augmented[perm][:, perm]
