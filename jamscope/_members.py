"""Placing the members of a seed ensemble on devices: padding to a multiple of the mesh size, splitting
the member axis over the mesh, replicating shared arrays, and compiling a function of a batch of
members for every device (used by [`jamscope.ensemble`][jamscope.ensemble] and
[`jamscope.train`][jamscope.train])."""

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .typing import PyTree

AXIS = "ensemble"
"""The name of the mesh axis along which ensemble members are split."""


def padded_size(k: int, mesh: Mesh | None) -> int:
    """The smallest multiple of the mesh size that is ≥ `k` (`k` without a mesh)."""
    return k if mesh is None else math.ceil(k / mesh.size) * mesh.size


def pad_members(tree: PyTree, size: int) -> PyTree:
    """Repeat member 0 of every array of `tree` so that its leading axis has length `size`."""

    def pad(a):
        extra = size - a.shape[0]
        return a if extra == 0 else jnp.concatenate([a, jnp.repeat(a[:1], extra, axis=0)])

    return jax.tree.map(lambda a: pad(a) if eqx.is_array(a) else a, tree)


def take_members(tree: PyTree, k: int) -> PyTree:
    """The first `k` members of every array of `tree` (undoes `pad_members`)."""
    return jax.tree.map(lambda a: a[:k] if eqx.is_array(a) else a, tree)


def place(a, sharding: NamedSharding):
    """`a` as a global array with `sharding`; every process passes the same full value and keeps its part."""
    if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
        impl = jax.random.key_impl(a)
        return jax.random.wrap_key_data(place(jax.random.key_data(a), sharding), impl=impl)
    host = np.asarray(a)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def place_members(tree: PyTree, mesh: Mesh) -> PyTree:
    """Split the leading axis of every array of `tree` over the mesh (its size must divide it)."""
    sharding = NamedSharding(mesh, PartitionSpec(AXIS))
    return jax.tree.map(lambda a: place(a, sharding) if eqx.is_array(a) else a, tree)


def replicate(tree: PyTree, mesh: Mesh) -> PyTree:
    """A copy of every array of `tree` on every device of the mesh."""
    sharding = NamedSharding(mesh, PartitionSpec())
    return jax.tree.map(lambda a: place(a, sharding) if eqx.is_array(a) else a, tree)


def over_members(fn: Callable, mesh: Mesh | None, batched: Sequence[bool]) -> Callable:
    """Compile `fn`, a function of a batch of members (the arguments flagged in `batched` carry the
    leading member axis, the others are shared), to run on every device of `mesh` on its own members.

    Without a mesh this is `eqx.filter_jit(fn)`. With one, the arrays go through `jax.shard_map`
    (members split along ``"ensemble"``, the rest replicated) and the non-array leaves (activation
    functions, static fields) stay outside; the outputs are split along the member axis too.
    """
    if mesh is None:
        return eqx.filter_jit(fn)

    @eqx.filter_jit
    def run(*args):
        arrays, static = eqx.partition(args, eqx.is_array)
        specs = tuple(
            jax.tree.map(lambda _, b=b: PartitionSpec(AXIS) if b else PartitionSpec(), part)
            for part, b in zip(arrays, batched, strict=True)
        )
        out_static = eqx.partition(eqx.filter_eval_shape(fn, *args), eqx.is_array)[1]

        def local(arrays):
            return eqx.partition(fn(*eqx.combine(arrays, static)), eqx.is_array)[0]

        out = jax.shard_map(
            local, mesh=mesh, in_specs=(specs,), out_specs=PartitionSpec(AXIS), check_vma=False
        )(arrays)
        return eqx.combine(out, out_static)

    return run

