"""Seed ensembles over devices: one vmapped program, the ensemble axis sharded with `jax.sharding`.

An ensemble is one module whose arrays carry a leading axis K (built by
[`nets.ensemble`][jamscope.nets.ensemble]). On a `jax.sharding.Mesh` with one axis named
``"ensemble"`` the K members are split over the devices with `jax.shard_map`: every device runs the
same vmapped program on its K/D members, the data are replicated, and nothing is communicated
between devices during training. The per-member arithmetic does not depend on how many members a
device holds: on 4 CPU devices the tests find sharded SGD and gradient flow equal to the vmapped
run bit for bit, and Adam to 10⁻¹² relative in float64 (XLA orders a few reductions differently on
a device of a multi-device client).

When K is not a multiple of the number of devices D, the ensemble is padded with copies of its
first member up to the next multiple and the copies are dropped from the results (a copy stops
when member 0 stops, so stopping rules are unchanged). With ``mesh=None`` (or one device) the same
functions are plain `vmap`.

Several hosts: call ``jax.distributed.initialize()`` first on every process; `jax.devices()` then
lists the devices of every host, [`ensemble_mesh`][jamscope.ensemble.ensemble_mesh] spans them all,
every process builds the same ensemble from the same keys, and each keeps only the members of its
own devices. Results are global arrays; [`gather`][jamscope.ensemble.gather] copies them to every
process as NumPy arrays.
"""

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._checks import check_inputs
from .nets import AbstractNet, ensemble_size
from .typing import Array, Float, PyTree, typechecked

__all__ = [
    "AXIS",
    "ensemble_mesh",
    "default_mesh",
    "ensemble_map",
    "ensemble_mean_and_variance",
    "gather",
]

AXIS = "ensemble"
"""The name of the mesh axis along which ensemble members are split."""


@typechecked
def ensemble_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh named ``"ensemble"`` over `devices` (default: every device of every process,
    i.e. `jax.devices()`, which after ``jax.distributed.initialize()`` spans all hosts)."""
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("`devices` must hold at least one device")
    return Mesh(np.asarray(devices), (AXIS,))


@typechecked
def default_mesh() -> Mesh | None:
    """[`ensemble_mesh`][jamscope.ensemble.ensemble_mesh] over all devices when there are several,
    None (plain vmap) on a single device."""
    return ensemble_mesh() if jax.device_count() > 1 else None


def _padded_size(k: int, mesh: Mesh | None) -> int:
    """The smallest multiple of the mesh size that is ≥ `k` (`k` without a mesh)."""
    return k if mesh is None else math.ceil(k / mesh.size) * mesh.size


def _pad_members(tree: PyTree, size: int) -> PyTree:
    """Repeat member 0 of every array of `tree` so that its leading axis has length `size`."""

    def pad(a):
        extra = size - a.shape[0]
        return a if extra == 0 else jnp.concatenate([a, jnp.repeat(a[:1], extra, axis=0)])

    return jax.tree.map(lambda a: pad(a) if eqx.is_array(a) else a, tree)


def _take_members(tree: PyTree, k: int) -> PyTree:
    """The first `k` members of every array of `tree` (undoes `_pad_members`)."""
    return jax.tree.map(lambda a: a[:k] if eqx.is_array(a) else a, tree)


def _place(a, sharding: NamedSharding):
    """`a` as a global array with `sharding`; every process passes the same full value and keeps its part."""
    if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
        impl = jax.random.key_impl(a)
        return jax.random.wrap_key_data(_place(jax.random.key_data(a), sharding), impl=impl)
    host = np.asarray(a)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def _place_members(tree: PyTree, mesh: Mesh) -> PyTree:
    """Split the leading axis of every array of `tree` over the mesh (its size must divide it)."""
    sharding = NamedSharding(mesh, PartitionSpec(AXIS))
    return jax.tree.map(lambda a: _place(a, sharding) if eqx.is_array(a) else a, tree)


def _replicate(tree: PyTree, mesh: Mesh) -> PyTree:
    """A copy of every array of `tree` on every device of the mesh."""
    sharding = NamedSharding(mesh, PartitionSpec())
    return jax.tree.map(lambda a: _place(a, sharding) if eqx.is_array(a) else a, tree)


def _over_members(fn: Callable, mesh: Mesh | None, batched: Sequence[bool]) -> Callable:
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


@typechecked
def ensemble_map(fn: Callable, models: AbstractNet, *args, mesh: Mesh | None = None) -> PyTree:
    """``fn(member, *args)`` for every member of the ensemble `models`, stacked along a leading K axis.

    `fn` sees one network; `args` (inputs, data …) are shared by all members. The members are vmapped,
    and split over the devices of `mesh` when one is given (padded to a multiple of its size, the
    padding dropped from the result): e.g. ``ensemble_map(lambda m: js.curvature.hessian(loss, m,
    data), models, mesh=ensemble_mesh())`` gives the K Hessians, each computed on its member's device.
    """
    k = ensemble_size(models)
    vmapped = eqx.filter_vmap(fn, in_axes=(0,) + (None,) * len(args))
    members = _pad_members(models, _padded_size(k, mesh))
    if mesh is not None:
        members, args = _place_members(members, mesh), _replicate(args, mesh)
    return _take_members(_over_members(vmapped, mesh, (True,) + (False,) * len(args))(members, *args), k)


@typechecked
def ensemble_mean_and_variance(
    models: AbstractNet, x: Float[Array, " P *input"], *, mesh: Mesh | None = None
) -> tuple[Float[Array, " P *out"], Float[Array, " P *out"]]:
    """The ensemble predictor f̄(x) = (1/K) Σ_i f_i(x) and the variance (1/(K−1)) Σ_i (f_i(x) − f̄(x))²
    of the members' outputs at every input (004 eq. 9: ‖f − f̄‖² is its mean over x; thesis ch. 3 eq. 15).
    Needs K ≥ 2."""
    k = ensemble_size(models)
    if k < 2:
        raise ValueError(f"`models` must hold at least 2 members for a variance, got K = {k}")
    check_inputs("x", x, models.input_shape)
    f = ensemble_map(lambda m, x: jax.vmap(m)(x), models, x, mesh=mesh)
    mean = jnp.mean(f, axis=0)
    return mean, jnp.sum((f - mean[None]) ** 2, axis=0) / (k - 1)


@typechecked
def gather(tree: PyTree) -> PyTree:
    """Every array of `tree` as a NumPy array on this process, collected from all hosts when it is a
    global array spread over several processes (`multihost_utils.process_allgather`)."""

    def to_host(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(a, tiled=True))
        return np.asarray(a)

    return jax.tree.map(lambda a: to_host(a) if eqx.is_array(a) else a, tree)
