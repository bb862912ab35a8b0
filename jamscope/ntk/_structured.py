"""The empirical NTK of FCNet and SmallCNN from per-layer factors, without parameter Jacobians.

Every trainable layer l of these networks enters through a preactivation z_l = s_l W_l ⋆ u_l (+ β b_l),
with s_l = 1/√fan_in, u_l the layer input and ⋆ a matrix product (dense layers) or a convolution.
With δ_l = ∂F/∂z_l the gradient is ∂F/∂W_l = s_l Σ_p δ_l,p ⊗ ũ_l,p over the output positions p
(one position for a dense layer; ũ_l,p the input patch, with the bias feature β/s_l appended for
a dense layer with biases). Hence (004 App. B writes the same sum layer by layer)

    Θ(x, x′) = Σ_l s_l² Σ_{p,q} [δ_l,p(x) · δ_l,q(x′)] [ũ_l,p(x) · ũ_l,q(x′)].

For a dense layer this is the elementwise product of two Gram matrices, (D Dᵀ) ⊙ (U Uᵀ): P1 P2 (out +
in) flops instead of P1 P2 · out · in for the Jacobian contraction. For a convolution the
per-example weight gradient s_l Σ_p δ_l,p ⊗ ũ_l,p is formed from the input patches (one batched
product, no per-example convolution transposes) and contracted. δ_l comes from one backward pass
per pattern through additive offsets on the preactivations. For a [`Centered`][jamscope.nets.Centered]
model δ is multiplied by α (f₀ is frozen). (A [`Linearized`][jamscope.nets.Linearized] model has the
NTK of its initial model at every w: `jamscope.ntk` passes that model here.)
"""

import math

import jax
import jax.numpy as jnp

from ..nets import AbstractNet, FCNet, SmallCNN, activation_function, unwrap

__all__ = ["supports", "layer_factors", "kernel_from_factors", "structured_ntk"]

_HIGHEST = jax.lax.Precision.HIGHEST


def supports(model: AbstractNet) -> bool:
    """Whether the structured route applies: an FCNet or SmallCNN, bare or centered."""
    return isinstance(unwrap(model)[0], FCNet | SmallCNN)


def _backward(forward, offsets, n_outputs: int):
    """δ = ∂F/∂(offsets) with a leading output axis K, and the auxiliary layer inputs, from one
    forward pass and K backward passes (`forward` returns (F, aux))."""
    out, pullback, aux = jax.vjp(forward, offsets, has_aux=True)
    basis = jnp.eye(n_outputs, dtype=out.dtype).reshape((n_outputs,) + out.shape)
    (deltas,) = jax.vmap(pullback)(basis)
    return deltas, aux


def _fc_factors(net: FCNet, xi):
    """Per layer (δ_l (K, out), ũ_l (in [+1])) for one input of an FCNet."""
    sigma = activation_function(net.activation, net.softplus_beta, net.normalize_activation)
    outs = [w.shape[0] for w in net.weights]

    def forward(offsets):
        u, inputs = xi, []
        for layer, (w, eps) in enumerate(zip(net.weights, offsets, strict=True)):
            inputs.append(u)
            z = w @ u / math.sqrt(w.shape[1]) + eps
            if net.biases is not None:
                z = z + net.bias_scale * net.biases[layer]
            u = sigma(z)
        return z, inputs

    offsets = [jnp.zeros(n, xi.dtype) for n in outs]
    deltas, inputs = _backward(forward, offsets, net.n_outputs)  # δ_l: (K, out_l)
    if net.biases is not None:
        inputs = [
            jnp.append(u, net.bias_scale * math.sqrt(w.shape[1]))
            for u, w in zip(inputs, net.weights, strict=True)
        ]
    return [(d.reshape(-1, d.shape[-1]), u) for d, u in zip(deltas, inputs, strict=True)]


def _conv_patches(x, stride):
    """Input patches (C·9, H'·W') of a 3×3 'SAME' convolution of one image (C, H, W)."""
    patches = jax.lax.conv_general_dilated_patches(x[None], (3, 3), (stride, stride), "SAME")[0]
    return patches.reshape(patches.shape[0], -1)


def _cnn_factors(net: SmallCNN, xi):
    """Per layer (per-example weight gradient (K, out·in), None) for the convolutions and
    (δ (K, out), u (features)) for the dense head, for one image."""
    sigma = activation_function(net.activation, net.softplus_beta)
    s1 = 1.0 / math.sqrt(net.conv1.shape[1] * 9)
    s2 = 1.0 / math.sqrt(net.conv2.shape[1] * 9)
    s3 = 1.0 / math.sqrt(net.head.shape[-1])

    def conv(w, x, stride):
        return jax.lax.conv_general_dilated(x[None], w, (stride, stride), "SAME")[0]

    def forward(offsets):
        e1, e2, e3 = offsets
        a1 = sigma(s1 * conv(net.conv1, xi, 1) + e1)
        a2 = sigma(s2 * conv(net.conv2, a1, 2) + e2).reshape(-1)
        return net.head @ a2 * s3 + e3, (a1, a2)

    shapes = [jax.eval_shape(lambda: conv(net.conv1, xi, 1)).shape, None, (net.head.shape[0],)]
    a1_shape = shapes[0]
    shapes[1] = jax.eval_shape(lambda: conv(net.conv2, jnp.zeros(a1_shape, xi.dtype), 2)).shape
    offsets = [jnp.zeros(s, xi.dtype) for s in shapes]
    (d1, d2, d3), (a1, a2) = _backward(
        forward, offsets, net.n_outputs
    )  # (K, c, H, W), (K, c, H', W'), (K, K)
    k = d3.shape[0]
    g1 = s1 * jnp.einsum(
        "kcp,ip->kci", d1.reshape(k, d1.shape[1], -1), _conv_patches(xi, 1), precision=_HIGHEST
    )
    g2 = s2 * jnp.einsum(
        "kcp,ip->kci", d2.reshape(k, d2.shape[1], -1), _conv_patches(a1, 2), precision=_HIGHEST
    )
    return [(g1.reshape(k, -1), None), (g2.reshape(k, -1), None), (d3, a2)]


def _factors(net, x):
    one = _fc_factors if isinstance(net, FCNet) else _cnn_factors
    return jax.vmap(lambda xi: one(net, xi))(x)


def _scales(net) -> list[float]:
    """s_l of the layers whose factors are (δ, ũ); 1 for per-example gradients (already scaled)."""
    if isinstance(net, FCNet):
        return [1.0 / math.sqrt(w.shape[1]) for w in net.weights]
    return [1.0, 1.0, 1.0 / math.sqrt(net.head.shape[-1])]


def _layer_kernel(first, second, s: float):
    """s² (D1 D2ᵀ) ⊙ (U1 U2ᵀ) for one layer, (P1, P2, K, K); U = None: D are per-example gradients."""
    (d1, u1), (d2, u2) = first, second
    dd = jnp.einsum("aki,bli->abkl", d1, d2, precision=_HIGHEST)
    if u1 is None:
        return dd
    uu = jnp.matmul(u1, u2.T, precision=_HIGHEST)
    return (s * s) * dd * uu[:, :, None, None]


def layer_factors(model: AbstractNet, x):
    """The per-layer factors of the patterns `x` (computed once, reused for every block of Θ)."""
    return _factors(unwrap(model)[0], x)


def kernel_from_factors(model: AbstractNet, first, second):
    """Θ ``(P1, P2, K, K)`` from the `layer_factors` of x1, x2."""
    net, factor = unwrap(model)
    theta = sum(_layer_kernel(a, b, s) for a, b, s in zip(first, second, _scales(net), strict=True))
    return theta * (factor * factor)


def structured_ntk(model: AbstractNet, x1, x2):
    """Θ(x1, x2) ``(P1, P2, K, K)`` of a model `supports` accepts."""
    return kernel_from_factors(model, layer_factors(model, x1), layer_factors(model, x2))
