"""Results store: netCDF round trip, atomic write (no temporary file left, target replaced whole)."""

import numpy as np
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
