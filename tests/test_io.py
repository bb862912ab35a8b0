"""Results store: netCDF round trip, atomic write (no temporary file left, target replaced whole)."""

import numpy as np
import pytest
import xarray as xr

from jamscope import io


def sample():
    return xr.Dataset(
        {"loss": (("width", "seed"), np.arange(6.0).reshape(3, 2))},
        coords={"width": [4, 8, 16], "seed": [0, 1]},
        attrs={"experiment": "test"},
    )


def test_round_trip_and_atomic_replace(tmp_path):
    path = tmp_path / "sub" / "results.nc"
    io.save_netcdf(sample(), path)
    back = io.load_netcdf(path)
    xr.testing.assert_identical(back, sample())
    bigger = sample().assign(extra=("width", [1.0, 2.0, 3.0]))
    io.save_netcdf(bigger, path)
    xr.testing.assert_identical(io.load_netcdf(path), bigger)
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.nc"]


def point_result(config, seed):
    return xr.Dataset({"value": ("i", np.arange(3.0) * config["width"] + seed)})


def test_store_keys_points_by_configuration_and_seed(tmp_path):
    store = io.ResultStore(tmp_path / "store")
    assert io.stored_keys(store) == []
    assert io.point_key({"a": 1, "b": 2}, 0) == io.point_key({"b": 2, "a": 1}, 0)
    assert io.point_key({"a": 1}, 0) != io.point_key({"a": 1}, 1) != io.point_key({"a": 2}, 1)
    calls = []

    def compute(config, seed):
        calls.append((config["width"], seed))
        return point_result(config, seed)

    points = [({"width": w, "tag": [w, "x"]}, s) for w in (2, 4) for s in (0, 1)]
    keys = io.run_points(store, points + points[:1], compute, progress=False)
    assert len(calls) == 4 and keys[-1] == keys[0]
    assert io.run_points(store, points, compute, progress=False) == keys[:4]
    assert len(calls) == 4  # nothing recomputed
    assert io.has_point(store, *points[1]) and io.load_point(store, {"width": 8}, 0) is None
    np.testing.assert_array_equal(io.load_point(store, *points[3])["value"], [1.0, 5.0, 9.0])
    (store.root / ".stale.nc.abc.tmp").write_bytes(b"half a file")  # a killed writer's leftover
    merged = io.export_store(store, tmp_path / "all.nc")
    assert merged.sizes["point"] == 4 and sorted(merged["key"].values) == sorted(set(keys))
    assert set(merged["width"].values) == {2, 4} and merged["tag"].values[0].startswith("[")
    xr.testing.assert_identical(io.load_netcdf(tmp_path / "all.nc"), merged)
    with pytest.raises(ValueError, match="`keys`"):
        io.export_store(store, keys=["0" * 20])
    with pytest.raises(ValueError, match="`store`"):
        io.export_store(io.ResultStore(tmp_path / "empty"))


WORKER = """
import sys, time
import jax, numpy as np, xarray as xr
jax.config.update("jax_enable_x64", True)
import jamscope as js
from jamscope import io

store, log = io.ResultStore(sys.argv[1]), open(sys.argv[2], "a")

def compute(config, seed):
    key = jax.random.PRNGKey(seed)
    data = js.data.random_sphere(key, n_train=12, dim=3)
    model = js.FCNet(jax.random.fold_in(key, 1), 3, config["width"], 1, "relu")
    spectrum = np.linalg.eigvalsh(np.asarray(js.curvature.hessian(js.QuadraticHinge(), model, data)))
    time.sleep(0.05)
    print("computed", io.point_key(config, seed), file=log, flush=True)
    return xr.Dataset({"spectrum": ("k", spectrum)})

points = [({"width": w}, s) for w in (2, 3) for s in range(8)]
io.run_points(store, points, compute, progress=False)
print("finished", file=log, flush=True)
"""


def test_a_sweep_killed_at_random_moments_resumes_to_the_uninterrupted_result(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "worker.py"
    script.write_text(WORKER)

    def start(root, log):
        return subprocess.Popen([sys.executable, str(script), str(root), str(log)], env=os.environ.copy())

    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    assert start(reference, tmp_path / "reference.log").wait(timeout=300) == 0
    rng = np.random.default_rng(int(os.environ.get("JAMSCOPE_KILL_SEED", "0")))
    log = tmp_path / "resumed.log"
    kills = []
    # kill after a random number of finished points plus a random delay (JAMSCOPE_KILLS: more kills)
    for _ in range(int(os.environ.get("JAMSCOPE_KILLS", "4"))):
        before = len(io.stored_keys(io.ResultStore(resumed)))
        if before == 16:
            break
        process, wait_for = start(resumed, log), min(before + int(rng.integers(0, 3)), 15)
        deadline = time.monotonic() + 120
        while len(io.stored_keys(io.ResultStore(resumed))) < wait_for and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(float(rng.uniform(0.0, 0.08)))
        if process.poll() is not None:  # it finished before the chosen moment
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills.append(len(io.stored_keys(io.ResultStore(resumed))))
    assert start(resumed, log).wait(timeout=300) == 0
    leftovers = len(list(resumed.glob(".*.tmp")))  # kills that fell inside a write
    print(f"killed {len(kills)} times, with {kills} of 16 points stored; {leftovers} half-written files left")
    assert kills[0] < 16  # the kills really interrupted the sweep
    lines = log.read_text().split("\n")
    computed = [line.split()[1] for line in lines if line.startswith("computed")]
    stored = io.stored_keys(io.ResultStore(resumed))
    assert len(stored) == 16 and lines[-2] == "finished"
    # a point is recomputed only when a kill fell between its computation and its rename
    assert len(computed) - len(set(computed)) <= len(kills)
    expected = io.export_store(io.ResultStore(reference))
    got = io.export_store(io.ResultStore(resumed))
    xr.testing.assert_identical(got, expected)
