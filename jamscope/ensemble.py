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

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh

from ._checks import check_inputs
from ._members import AXIS, over_members, pad_members, padded_size, place_members, replicate, take_members
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
    members = pad_members(models, padded_size(k, mesh))
    if mesh is not None:
        members, args = place_members(members, mesh), replicate(args, mesh)
    return take_members(over_members(vmapped, mesh, (True,) + (False,) * len(args))(members, *args), k)


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
