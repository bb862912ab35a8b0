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


def test_load_sweep_returns_matching_results_only(tmp_path):
    path = tmp_path / "sweep.nc"
    assert io.load_sweep(path, "{}") is None
    io.save_netcdf(sample().assign_attrs(config='{"seeds": 2}'), path)
    assert io.load_sweep(path, '{"seeds": 2}').attrs["config"] == '{"seeds": 2}'
    with pytest.raises(ValueError, match="another configuration"):
        io.load_sweep(path, '{"seeds": 3}')
