"""Results on disk: labelled xarray Datasets written atomically as netCDF (HDF5 engine).

A file is written to a temporary name in the same directory, flushed and fsync'ed, then renamed
over the target (and the directory fsync'ed): a reader never sees a half-written file, and a
process killed at any moment leaves either the old file or the new one.

A [`ResultStore`][jamscope.io.ResultStore] holds one such file per sweep point, named by a hash
of the point's configuration and seed: [`run_points`][jamscope.io.run_points] computes only the
points that have no file yet, so a sweep killed at any moment resumes where it stopped and never
recomputes a finished point; [`export_store`][jamscope.io.export_store] gathers every point into one
labelled Dataset (and netCDF file).
"""

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
import xarray as xr
from jax.experimental import multihost_utils
from tqdm.auto import tqdm

from .typing import typechecked

__all__ = [
    "save_netcdf",
    "load_netcdf",
    "ResultStore",
    "point_key",
    "has_point",
    "store_point",
    "load_point",
    "stored_keys",
    "run_points",
    "export_store",
    "combine_points",
]

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
        _fsync_directory(path.parent)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@typechecked
def load_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Read a results file written by [`save_netcdf`][jamscope.io.save_netcdf] into memory."""
    with xr.open_dataset(path, engine=ENGINE) as ds:
        return ds.load()


@dataclasses.dataclass(frozen=True)
class ResultStore:
    """A folder of sweep points, one netCDF file per (configuration, seed): ``<root>/<key>.nc``.

    Files are written atomically ([`save_netcdf`][jamscope.io.save_netcdf]); temporary files of a
    killed writer start with a dot and are never read. Each file carries its configuration and seed
    in its attributes (``point_config``, ``point_seed``, ``point_key``).
    """

    root: Path

    def __post_init__(self):
        if not isinstance(self.root, str | os.PathLike):
            raise TypeError(f"`root` must be a folder path, got {type(self.root).__name__}")
        object.__setattr__(self, "root", Path(self.root))


Config = Any  # a mapping of JSON-able values, or a dataclass instance (checked by `_config_json`)


def _config_json(config: Config) -> str:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    if not isinstance(config, Mapping):
        raise TypeError(f"`config` must be a mapping or a dataclass instance, got {type(config).__name__}")
    return json.dumps(config, sort_keys=True, default=str)


@typechecked
def point_key(config: Config, seed: int) -> str:
    """The store key of a point: the first 20 hex digits of the SHA-256 of its canonical JSON
    (sorted keys) configuration and seed (an integer ≥ 0). Same configuration and seed → same key,
    in any process."""
    if isinstance(seed, bool) or seed < 0:
        raise ValueError(f"`seed` must be an integer ≥ 0, got {seed!r}")
    text = json.dumps({"config": _config_json(config), "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _path(store: ResultStore, config: Config, seed: int) -> Path:
    return store.root / f"{point_key(config, seed)}.nc"


@typechecked
def has_point(store: ResultStore, config: Config, seed: int) -> bool:
    """Whether the point (`config`, `seed`) is finished (its file exists)."""
    return _path(store, config, seed).exists()


@typechecked
def store_point(store: ResultStore, config: Config, seed: int, results: xr.Dataset) -> Path:
    """Write the results of one point atomically, labelled with its configuration, seed and key."""
    labelled = results.assign_attrs(
        point_config=_config_json(config), point_seed=seed, point_key=point_key(config, seed)
    )
    return save_netcdf(labelled, _path(store, config, seed))


@typechecked
def load_point(store: ResultStore, config: Config, seed: int) -> xr.Dataset | None:
    """The results of the point (`config`, `seed`), or None when it is not finished."""
    path = _path(store, config, seed)
    return load_netcdf(path) if path.exists() else None


@typechecked
def stored_keys(store: ResultStore) -> list[str]:
    """The keys of every finished point, sorted (temporary files of interrupted writes excluded)."""
    if not store.root.exists():
        return []
    return sorted(p.stem for p in store.root.glob("*.nc") if not p.name.startswith("."))


@typechecked
def run_points(
    store: ResultStore,
    points: Iterable[tuple[Config, int]],
    compute: Callable[[Any, int], xr.Dataset],
    *,
    progress: bool = True,
) -> list[str]:
    """Compute ``compute(config, seed)`` for every point that the store does not hold yet and store it.

    Returns the keys of all `points`, in order. Points already stored are skipped (never
    recomputed); duplicates in `points` run once. Killed at any moment, the sweep loses at most the
    point in progress: run it again with the same points to resume. With several processes
    (``jax.distributed``) every process computes each point and process 0 writes it; the list of
    points to compute is process 0's, so that all processes run the same collective programs.
    """
    points = list(points)
    if not all(isinstance(point, tuple) and len(point) == 2 for point in points):
        raise ValueError("`points` must be (config, seed) pairs")
    keys = [point_key(config, seed) for config, seed in points]
    done = np.array([has_point(store, *point) for point in points], dtype=bool)
    if jax.process_count() > 1:
        done = np.asarray(multihost_utils.broadcast_one_to_all(done))
    todo = {key: point for key, point, finished in zip(keys, points, done, strict=True) if not finished}
    for config, seed in tqdm(list(todo.values()), disable=not progress, desc="points", leave=False):
        results = compute(config, seed)
        if jax.process_index() == 0:
            store_point(store, config, seed, results)
    return keys


@typechecked
def combine_points(points: list[xr.Dataset]) -> xr.Dataset:
    """Points written by [`store_point`][jamscope.io.store_point] as one Dataset along a ``point``
    dimension, labelled by ``key`` and ``seed`` and by each configuration field (scalars as they
    are, other values as JSON text). Points whose arrays differ in size (e.g. spectra of networks of
    different widths) are padded with NaN."""
    if not points:
        raise ValueError("`points` must hold at least one stored point")
    if not all("point_config" in point.attrs for point in points):
        raise ValueError("`points` must be Datasets written by store_point (with their `point_config`)")
    parts, labels = [], []
    for point in points:
        config = json.loads(point.attrs["point_config"])
        labels.append({"key": point.attrs["point_key"], "seed": int(point.attrs["point_seed"])} | {
            name: value if isinstance(value, int | float | str | bool) else json.dumps(value)
            for name, value in config.items()
        })  # fmt: skip
        # unlabelled dimensions get positions, so that points of different sizes align (NaN-padded)
        positions = {dim: np.arange(n) for dim, n in point.sizes.items() if dim not in point.coords}
        parts.append(point.drop_attrs().assign_coords(positions))
    merged = xr.concat(parts, dim="point", join="outer", combine_attrs="drop")
    coords = {name: ("point", np.asarray([label.get(name) for label in labels])) for name in labels[0]}
    return merged.assign_coords(coords)


@typechecked
def export_store(
    store: ResultStore, path: str | os.PathLike | None = None, *, keys: list[str] | None = None
) -> xr.Dataset:
    """Every point of the store (or those in `keys`, in that order) as one Dataset along a ``point``
    dimension, labelled by ``key`` and ``seed`` and by each configuration field (scalars as they
    are, other values as JSON text); written atomically to `path` when given. Points whose arrays
    differ in size (e.g. spectra of networks of different widths) are padded with NaN."""
    if keys is not None and not keys:
        raise ValueError("`keys` must name at least one point (None: every finished point)")
    keys = stored_keys(store) if keys is None else keys
    if not keys:
        raise ValueError(f"`store` holds no finished points under {store.root}")
    missing = [k for k in keys if not (store.root / f"{k}.nc").exists()]
    if missing:
        raise ValueError(f"`keys` names {len(missing)} points the store does not hold, e.g. {missing[0]}")
    merged = combine_points([load_netcdf(store.root / f"{key}.nc") for key in keys])
    if path is not None:
        save_netcdf(merged, path)
    return merged
