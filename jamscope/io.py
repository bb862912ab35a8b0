"""Results on disk: labelled xarray Datasets written atomically as netCDF (HDF5 engine).

A file is written to a temporary name in the same directory, flushed and fsync'ed, then renamed
over the target: a reader never sees a half-written file.
"""

import os
import tempfile
from pathlib import Path

import xarray as xr

from .typing import typechecked

__all__ = ["save_netcdf", "load_netcdf", "load_sweep"]

ENGINE = "h5netcdf"


@typechecked
def save_netcdf(results: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write `results` to `path` atomically (temp file, fsync, rename); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        results.to_netcdf(tmp, engine=ENGINE)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


@typechecked
def load_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Read a results file written by [`save_netcdf`][jamscope.io.save_netcdf] into memory."""
    with xr.open_dataset(path, engine=ENGINE) as ds:
        return ds.load()


@typechecked
def load_sweep(path: str | os.PathLike, config: str) -> xr.Dataset | None:
    """The results of a resumable sweep at `path`, or None when there is no file yet.

    `config` is the sweep's configuration as stored in the file's ``config`` attribute; a file
    written with another configuration raises ``ValueError`` instead of being mixed with this one.
    """
    path = Path(path)
    if not path.exists():
        return None
    results = load_netcdf(path)
    if results.attrs.get("config") != config:
        raise ValueError(
            f"{path} holds a sweep with another configuration; choose another output folder or delete it"
        )
    return results
