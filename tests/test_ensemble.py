"""Sharded ensembles: on the 4 CPU devices of conftest (``--xla_force_host_platform_device_count=4``)
the results of a sharded ensemble equal the unsharded (vmapped) ones.

Tolerance: SGD and gradient flow come out bit for bit; full-batch Adam differs by ≲ 10⁻¹⁴ relative
in float64 (XLA's CPU backend splits some reductions differently on a device of a multi-device
client), so continuous results are compared at 10⁻¹² relative and discrete ones (steps, N_Δ,
fitted) exactly.
"""

import functools

import equinox as eqx
import jax
import numpy as np
import pytest

import jamscope as js
from jamscope import ensemble, nets

RTOL = 1e-12


def arrays(tree):
    return [np.asarray(a) for a in jax.tree.leaves(eqx.filter(tree, eqx.is_array))]


def assert_close(a, b, exact=False):
    left, right = arrays(a), arrays(b)
    assert len(left) == len(right)
    for u, v in zip(left, right, strict=True):
        assert u.shape == v.shape
        if exact or not np.issubdtype(u.dtype, np.inexact):
            np.testing.assert_array_equal(u, v)
        else:
            np.testing.assert_allclose(u, v, rtol=RTOL, atol=RTOL * np.max(np.abs(u)))


@pytest.fixture(scope="module")
def problem():
    key = jax.random.PRNGKey(0)
    data = js.data.random_sphere(key, n_train=48, dim=5)
    return key, data, js.QuadraticHinge(margin=0.5)


@functools.cache
def make_ensemble(key_seed, k):
    """K small ReLU nets (built once per K: eager construction is seconds on a loaded CPU)."""
    keys = jax.random.split(jax.random.PRNGKey(key_seed), k)
    return nets.ensemble(lambda kk: js.FCNet(kk, 5, 8, 2, "relu"), keys)


def test_the_tests_see_four_devices():
    assert jax.device_count() == 4
    mesh = ensemble.ensemble_mesh()
    assert mesh.axis_names == (ensemble.AXIS,) and mesh.size == 4
    assert ensemble.default_mesh() is not None
    assert ensemble.ensemble_mesh(jax.devices()[:1]).size == 1


@pytest.mark.parametrize(
    ("method", "k", "exact"),
    [
        (js.SGD(lr=0.05, batch_size=16), 5, True),  # 5 members on 4 devices: padded to 8
        (js.GradientFlow(), 6, True),  # 6 on 4: padded; each member stops on its own
        (js.Adam(lr=1e-2), 3, False),  # fewer members than devices
    ],
    ids=["sgd-5", "gradient-flow-6", "adam-3"],
)
def test_sharded_training_equals_vmapped_training(problem, method, k, exact):
    key, data, loss = problem
    models = make_ensemble(0, k)
    kwargs = dict(steps=80, key=key, ensemble=True, progress=False, n_records=4, n_snapshots=3)
    plain_model, plain = js.train.train(models, loss, data, method, **kwargs)
    sharded_model, sharded = js.train.train(
        models, loss, data, method, mesh=ensemble.ensemble_mesh(), **kwargs
    )
    assert nets.ensemble_size(sharded_model) == k
    assert sharded.loss.shape == plain.loss.shape and sharded.snapshots.shape[0] == k
    assert_close(plain_model, sharded_model, exact)
    assert_close(eqx.tree_at(lambda h: h.wall_time, plain, sharded.wall_time), sharded, exact)
    np.testing.assert_array_equal(plain.step, sharded.step)
    np.testing.assert_array_equal(plain.n_unsatisfied, sharded.n_unsatisfied)


def test_per_member_keys_give_the_split_keys_result(problem):
    key, data, loss = problem
    models = make_ensemble(0, 3)
    kwargs = dict(steps=20, ensemble=True, progress=False, batch_size=16, n_records=3)
    _, one_key = js.train.sgd(models, loss, data, key=key, **kwargs)
    _, batch = js.train.sgd(models, loss, data, key=jax.random.split(key, 3), **kwargs)
    np.testing.assert_array_equal(one_key.loss, batch.loss)
    with pytest.raises(ValueError, match="`key`"):
        js.train.sgd(models, loss, data, key=jax.random.split(key, 4), **kwargs)


def test_ensemble_map_and_moments_match_the_vmapped_reference(problem):
    key, data, loss = problem
    models = make_ensemble(0, 5)
    mesh = ensemble.ensemble_mesh()
    f = ensemble.ensemble_map(lambda m, x: jax.vmap(m)(x), models, data.x, mesh=mesh)
    np.testing.assert_array_equal(np.asarray(f), np.asarray(nets.ensemble_outputs(models, data.x)))
    hessians = ensemble.ensemble_map(lambda m: js.curvature.hessian(loss, m, data), models, mesh=mesh)
    reference = eqx.filter_vmap(lambda m: js.curvature.hessian(loss, m, data))(models)
    np.testing.assert_allclose(hessians, reference, rtol=RTOL, atol=RTOL * float(np.max(np.abs(reference))))
    mean, variance = ensemble.ensemble_mean_and_variance(models, data.x, mesh=mesh)
    np.testing.assert_allclose(mean, np.mean(f, axis=0), rtol=RTOL)
    np.testing.assert_allclose(variance, np.var(f, axis=0, ddof=1), rtol=1e-10)
    gathered = ensemble.gather({"f": f, "n": 3})
    assert isinstance(gathered["f"], np.ndarray) and gathered["n"] == 3


def test_bad_ensembles_and_meshes_are_named(problem):
    key, data, loss = problem
    pair = make_ensemble(0, 2)
    single = jax.tree.map(lambda a: a[0] if eqx.is_array(a) else a, pair)
    one_member = jax.tree.map(lambda a: a[:1] if eqx.is_array(a) else a, pair)
    with pytest.raises(ValueError, match="`models`"):
        ensemble.ensemble_mean_and_variance(one_member, data.x)
    with pytest.raises(ValueError, match="`mesh`"):
        js.train.adam(single, loss, data, steps=5, mesh=ensemble.ensemble_mesh(), progress=False)
    with pytest.raises(ValueError, match="`devices`"):
        ensemble.ensemble_mesh([])
    with pytest.raises((ValueError, TypeError), match="x"):
        ensemble.ensemble_mean_and_variance(pair, data.x[:, :3])


MULTI_HOST_WORKER = """
import os, sys
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"   # 2 processes × 2 devices
import jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=sys.argv[1], num_processes=2, process_id=int(sys.argv[2]))
import numpy as np
import jamscope as js
from jamscope import ensemble

assert jax.device_count() == 4 and jax.local_device_count() == 2
key = jax.random.PRNGKey(0)
data = js.data.random_sphere(key, n_train=48, dim=5)
models = js.nets.ensemble(lambda k: js.FCNet(k, 5, 8, 2, "relu"), jax.random.split(key, 5))
mesh = ensemble.ensemble_mesh()
loss = js.QuadraticHinge(margin=0.5)
trained, history = js.train.sgd(models, loss, data, key=key, steps=30, batch_size=16, n_records=3,
                                ensemble=True, mesh=mesh, progress=False)
f = ensemble.ensemble_map(lambda m, x: jax.vmap(m)(x), models, data.x, mesh=mesh)
np.savez(sys.argv[3], loss=np.asarray(history.loss), f=ensemble.gather(f),
         weights=ensemble.gather(ensemble.ensemble_map(js.nets.flat_params, trained, mesh=mesh)))
"""


def test_two_processes_after_jax_distributed_initialize_match_one_process(problem, tmp_path):
    """The multi-host recipe on one machine: two processes with two CPU devices each, joined by
    ``jax.distributed.initialize``, train one 5-member ensemble over the 4 global devices; every
    process gathers the same results, equal bit for bit to the single-process vmapped run."""
    import os
    import socket
    import subprocess
    import sys

    key, data, loss = problem
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    script = tmp_path / "worker.py"
    script.write_text(MULTI_HOST_WORKER)
    outs = [tmp_path / f"process{i}.npz" for i in range(2)]
    runs = [
        subprocess.Popen([sys.executable, str(script), address, str(i), str(out)], env=os.environ.copy())
        for i, out in enumerate(outs)
    ]
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    models = make_ensemble(0, 5)
    trained, history = js.train.sgd(models, loss, data, key=key, steps=30, batch_size=16, n_records=3,
                                    ensemble=True, progress=False)  # fmt: skip
    for out in outs:
        got = np.load(out)
        np.testing.assert_array_equal(got["loss"], history.loss)
        np.testing.assert_array_equal(got["f"], nets.ensemble_outputs(models, data.x))
        np.testing.assert_array_equal(got["weights"], eqx.filter_vmap(nets.flat_params)(trained))
