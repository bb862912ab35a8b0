"""Two devices shared by the exact curvature, N_eff and NTK code: a model as a function of its flat
parameter vector θ, and a batch of inputs split into padded chunks (so that one compiled program
handles every chunk)."""

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .nets import AbstractNet, partition
from .typing import Array


def flat_model(model: AbstractNet):
    """θ (flat trainable parameters) and F(θ, x_one) for one input."""
    params, static = partition(model)
    theta, unravel = ravel_pytree(params)

    def apply(th, xi):
        return eqx.combine(unravel(th), static)(xi)

    return theta, apply


def batched(apply, theta, x):
    """F(θ, x_μ) for every row x_μ of `x`."""
    return jax.vmap(lambda xi: apply(theta, xi))(x)


def pad_rows(a: Array, total: int) -> Array:
    """Pad the leading axis to `total` rows by repeating row 0 (the padded rows get zero weight)."""
    extra = total - a.shape[0]
    if extra == 0:
        return a
    return jnp.concatenate([a, jnp.broadcast_to(a[:1], (extra,) + a.shape[1:])], axis=0)


def chunked(arrays, chunk: int):
    """Split the leading axis of every array into (n_chunks, chunk, …), padding the last chunk
    with copies of row 0, and a mask ``(n_chunks, chunk)`` that is 1 on real rows, 0 on padding."""
    p = arrays[0].shape[0]
    n_chunks = -(-p // chunk)
    out = []
    for a in arrays:
        a = pad_rows(a, n_chunks * chunk)
        out.append(a.reshape((n_chunks, chunk) + a.shape[1:]))
    mask = (jnp.arange(n_chunks * chunk) < p).reshape(n_chunks, chunk)
    return out, mask
