"""The jamming sweep: its plan, resuming after an interruption, and the analysis of its results."""

import dataclasses

import jax
import numpy as np
import pytest
import xarray as xr

from jamscope import io, nets, sweep

TINY = sweep.SweepConfig(
    n_train=(30,), depths=(1,), p_over_n=(0.8, 3.0), seeds=2, steps=200, decay_every=100,
    spectra_window=(0.5, 4.0),
)  # fmt: skip


@pytest.mark.parametrize("bias_scale, dim_equals_width", [(0.0, False), (0.1, False), (1.0, True)])
def test_parameter_count_matches_the_network(bias_scale, dim_equals_width):
    config = dataclasses.replace(TINY, bias_scale=bias_scale, dim_equals_width=dim_equals_width)
    for width, depth in [(1, 1), (3, 2), (7, 5)]:
        dim = width if dim_equals_width else config.dim
        model = nets.FCNet(jax.random.PRNGKey(0), dim, width, depth, bias_scale=bias_scale)
        assert sweep.fc_param_count(config, width, depth) == nets.n_params(model)


def test_plan_hits_the_target_ratios():
    config = dataclasses.replace(TINY, n_train=(400,), depths=(2, 5), p_over_n=(1.0, 2.0, 3.0, 5.0))
    points = sweep.plan(config)
    assert [d for d, _, _ in points] == [2] * 4 + [5] * 4
    for depth, p, width in points:
        ratio = p / sweep.fc_param_count(config, width, depth)
        assert min(abs(np.log(ratio / r)) for r in config.p_over_n) < 0.35
    widths = [w for d, _, w in points if d == 2]
    assert widths == sorted(widths, reverse=True)  # large networks first


def test_config_is_checked():
    with pytest.raises(ValueError, match="depths"):
        sweep.SweepConfig(depths=())
    with pytest.raises(ValueError, match="n_train"):
        sweep.SweepConfig(data="digits", n_train=(5000,))
    with pytest.raises(ValueError, match="data_root"):
        sweep.SweepConfig(data="mnist")


def test_sweep_records_every_run_and_resumes_without_recomputing(tmp_path, monkeypatch):
    path = tmp_path / "jamming.nc"
    full = sweep.run_sweep(TINY, path, progress=False)
    assert full.sizes["point"] == len(sweep.plan(TINY)) == 2 and full.sizes["seed"] == 2
    assert full.sizes["pattern"] == 30
    for name in ("loss", "n_delta", "misclassified", "steps", "n_eff", "hp_c0", "h0_n_zero"):
        assert full[name].dims == ("point", "seed")
    # gaps are Δ = ε − y f: N_Δ counts the positive ones
    np.testing.assert_array_equal((full["gaps"] > 0).sum("pattern"), full["n_delta"])
    # spectra where P/N lies in the window: H0 has at most N_Δ non-zero modes
    assert full.sizes["mode"] == int(full["n_params"].max())
    nonzero_h0 = full["h0_n_positive"].values
    assert np.all(nonzero_h0 <= full["n_delta"].values)

    # interrupt: keep only the first point on disk, then run again
    io.save_netcdf(full.isel(point=[0]), path)
    calls = []
    original = sweep._run_point
    monkeypatch.setattr(sweep, "_run_point", lambda *a: calls.append(a[1:3]) or original(*a))
    resumed = sweep.run_sweep(TINY, path, progress=False)
    assert len(calls) == 1  # only the missing point was trained
    for name in ("loss", "n_delta", "gaps", "n_eff"):
        np.testing.assert_array_equal(resumed[name].values, full[name].values)
    calls.clear()
    sweep.run_sweep(TINY, path, progress=False)
    assert calls == []  # nothing left to do
    with pytest.raises(ValueError, match="another configuration"):
        sweep.run_sweep(dataclasses.replace(TINY, seeds=3), path, progress=False)


def _synthetic_results() -> xr.Dataset:
    """Two depths at P = 100: depth 2 jams below N = 40, depth 3 never fits."""
    n = np.array([20, 40, 60, 20, 40, 60])
    n_delta = np.array([[30, 25], [0, 3], [0, 0], [40, 40], [30, 20], [10, 9]], dtype=float)
    return xr.Dataset(
        {"n_delta": (("point", "seed"), n_delta), "loss": (("point", "seed"), n_delta / 100.0)},
        coords={
            "depth": ("point", [2, 2, 2, 3, 3, 3]), "n_train": ("point", [100] * 6),
            "n_params": ("point", n), "width": ("point", [2, 4, 6, 2, 4, 6]), "seed": [0, 1],
        },
    )  # fmt: skip


def test_jamming_points_and_near_jamming_runs():
    results = _synthetic_results()
    points = sweep.jamming_points(results)
    assert float(points["n_jammed"].sel(depth=2, n_train=100)) == 20
    assert float(points["n_fitting"].sel(depth=2, n_train=100)) == 40  # half of the seeds fit
    assert float(points["n_star"].sel(depth=2, n_train=100)) == pytest.approx(np.sqrt(800))
    assert np.isnan(float(points["n_star"].sel(depth=3, n_train=100)))
    strict = sweep.jamming_points(results, fraction=1.0)
    assert float(strict["n_fitting"].sel(depth=2, n_train=100)) == 60
    near = sweep.near_jamming(results)
    assert near.sizes["run"] == 2
    np.testing.assert_array_equal(near["n_delta"].values, [30, 25])
