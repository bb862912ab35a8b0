"""Kernel learning curves: teacher–student against d, real data, kernel PCA, d_eff (thesis ch. 6 Figs. 1–4).

One resumable results file (``kernels.nc``) holds four parts:

- **teacher–student** (Fig. 2): E MSE(n) of a Laplace student (σ = d) for Laplace and Gaussian teachers
  (σ = d) on S^d for each d of `dims`, averaged exactly over teachers (or sampled, `sample_teacher`);
  the fitted β against Theorem 1.
- **data** (Fig. 1): ridgeless regression MSE and SVM error (C = 10⁴) of Laplace and Gaussian kernels on
  parity labels of `data` (digits embedded; MNIST or CIFAR-10 two groups of five classes from local files).
- **kernel PCA** (Fig. 3): the tail Σ_{ρ ≥ n} (Z·φ_ρ)² (eq. 14) of the labels on `kpca_points` points.
- **nearest neighbours** (Fig. 4): ⟨δ_min⟩(n) on S^d for `sphere_dims` and on the data, and d_eff.

A part is stored as soon as it is finished; on resume, parts already in the file (no NaN) are skipped.
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from ._checks import check_int_at_least, check_positive, check_positive_values
from .data import Dataset, cifar10, digits, mnist
from .io import load_sweep, save_netcdf
from .kernels import gram, kernel_named
from .learning_curves import (
    TASKS,
    DecayFit,
    data_curve,
    effective_dimension,
    fit_decay,
    kernel_pca_tail,
    nearest_neighbour_curve,
    teacher_student_curve,
)
from .teacher_student import hypersphere, predicted_beta
from .typing import PRNGKeyArray, typechecked

__all__ = ["KernelsConfig", "QUICK", "PAPER", "load_points", "run_kernels", "teacher_student_fits",
           "beta_table", "data_betas", "kpca_beta", "effective_dimensions"]  # fmt: skip

Kernel = Literal["laplace", "gaussian"]


@dataclasses.dataclass(frozen=True)
class KernelsConfig:
    """Every choice of the kernel learning-curve experiment; stored in the results file, checked on resume.

    - `dims`, `teachers`, `ns`, `n_test`, `repeats`, `sample_teacher`, `fit_low`: the teacher–student
      curves (Laplace student, σ_T = σ_S = d as in §4; β fitted for n ≥ `fit_low`, the paper fits
      from n = 700).
    - `data`, `data_root`, `data_kernels`, `data_sigma` (None: the median distance between points),
      `data_ns`, `data_n_test`, `data_repeats`, `tasks`, `data_fit_low`: the real-data curves (parity
      labels, [`load_points`][jamscope.kernel_sweep.load_points]).
    - `kpca_points`: ñ ≥ 200 of the kernel PCA (eq. 14) with the kernels of the data curves.
    - `sphere_dims`, `sphere_ns`, `nn_repeats`, `data_nn_ns`: ⟨δ_min⟩(n) on S^d and on the data (§7).
    - `seed`: PRNG seed of points, teachers and subsets.
    """

    dims: tuple[int, ...] = (1, 2, 3, 5, 8)
    teachers: tuple[Kernel, ...] = ("laplace", "gaussian")
    ns: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)
    n_test: int = 500
    repeats: int = 4
    sample_teacher: bool = False
    fit_low: int = 256
    data: Literal["digits", "mnist", "cifar10"] = "digits"
    data_root: str | None = None
    data_kernels: tuple[Kernel, ...] = ("laplace", "gaussian")
    data_sigma: float | None = None
    data_ns: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 1400)
    data_n_test: int = 397
    data_repeats: int = 10
    tasks: tuple[str, ...] = TASKS
    data_fit_low: int = 128
    kpca_points: int = 1797
    sphere_dims: tuple[int, ...] = (2, 4, 8, 15)
    sphere_ns: tuple[int, ...] = (16, 64, 256, 1024, 4096, 8192)
    nn_repeats: int = 3
    data_nn_ns: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 1797)
    seed: int = 0

    def __post_init__(self):
        for name in ("dims", "ns", "data_ns", "sphere_dims", "sphere_ns", "data_nn_ns"):
            check_positive_values(name, getattr(self, name), integer=True)
        sizes = ("n_test", "repeats", "data_n_test", "data_repeats", "nn_repeats", "fit_low", "data_fit_low")
        for name in sizes:
            check_int_at_least(name, getattr(self, name), 1)
        check_int_at_least("kpca_points", self.kpca_points, 200)  # β̂ is fitted on 10 ≤ ρ ≤ ñ/10
        for name, values, allowed in (("teachers", self.teachers, ("laplace", "gaussian")),
                                      ("data_kernels", self.data_kernels, ("laplace", "gaussian")),
                                      ("tasks", self.tasks, TASKS)):  # fmt: skip
            if not values or not set(values) <= set(allowed):
                raise ValueError(f"`{name}` must be a non-empty subset of {allowed}, got {values}")
        if self.data not in ("digits", "mnist", "cifar10"):
            raise ValueError(f"`data` must be digits, mnist or cifar10, got {self.data!r}")
        if self.data_sigma is not None:
            check_positive("data_sigma", self.data_sigma)

    def to_attrs(self) -> dict[str, str]:
        return {"config": json.dumps(dataclasses.asdict(self), sort_keys=True)}


QUICK = KernelsConfig()
"""The defaults: d ∈ {1, 2, 3, 5, 8}, n ≤ 2048, 4 point sets; digits parity up to n = 1400, 10 subsets;
spheres up to n = 8192 (about 4 minutes on 2 cores)."""

PAPER = KernelsConfig(
    dims=(1, 2, 3, 4, 5, 6, 8, 10, 15),
    ns=(128, 256, 512, 1024, 2048, 4096, 8192),
    n_test=1000,
    repeats=16,
    fit_low=700,
    data="mnist",
    data_ns=(100, 200, 500, 1000, 2000, 5000, 10000),
    data_n_test=5000,
    data_repeats=20,
    kpca_points=8000,
    sphere_ns=(16, 64, 256, 1024, 4096, 16384, 65536),
    data_nn_ns=(16, 64, 256, 1024, 4096, 16384, 65536),
)
"""Thesis ch. 6's sizes for a GPU: d up to 15, n up to 8192, 16 point sets, fit from n = 700 (§4);
MNIST parity up to n = 10⁴, 20 subsets; ñ = 8000; ⟨δ_min⟩ up to n = 65 536 (§7)."""


@typechecked
def load_points(config: KernelsConfig, key: PRNGKeyArray) -> Dataset:
    """All points of `config.data` (training and test sets pooled, flattened) with ±1 parity labels in
    ``x``, ``y``, on the sphere ‖x‖² = d as the loaders return them (the kernel length σ is relative to
    the median distance anyway): digits, MNIST (parity of the digit), CIFAR-10 (even against odd
    classes, see [`cifar10`][jamscope.data.cifar10])."""
    if config.data == "digits":
        return digits(key)
    loader = mnist if config.data == "mnist" else cifar10
    raw = loader(config.data_root, key=key)
    x = jnp.concatenate([raw.x, raw.x_test]).reshape(-1, math.prod(raw.input_shape))
    return Dataset(x, jnp.concatenate([raw.y, raw.y_test]))


def _median_distance(x) -> float:
    """The median distance between the first 1000 points (the default kernel length on data)."""
    sample = x[:1000]
    norms = jnp.sum(sample**2, axis=1)
    squared = norms[:, None] + norms[None, :] - 2 * sample @ sample.T
    return float(jnp.median(jnp.sqrt(jnp.maximum(squared[jnp.triu_indices(sample.shape[0], 1)], 0.0))))


def _empty(config: KernelsConfig, data_size: int) -> xr.Dataset:
    """The results with every part NaN (not done yet)."""
    coords = {
        "teacher": list(config.teachers), "d": list(config.dims), "repeat": np.arange(config.repeats),
        "n": list(config.ns), "kernel": list(config.data_kernels), "task": list(config.tasks),
        "data_repeat": np.arange(config.data_repeats), "data_n": list(config.data_ns),
        "rank": np.arange(1, min(config.kpca_points, data_size) + 1), "sphere_d": list(config.sphere_dims),
        "nn_repeat": np.arange(config.nn_repeats), "sphere_n": list(config.sphere_ns),
        "data_nn_n": [n for n in config.data_nn_ns if n <= data_size],
    }  # fmt: skip
    dims = {
        "teacher_student": ("teacher", "d", "repeat", "n"),
        "data_error": ("kernel", "task", "data_repeat", "data_n"),
        "kpca_tail": ("kernel", "rank"),
        "sphere_delta_min": ("sphere_d", "nn_repeat", "sphere_n"),
        "data_delta_min": ("nn_repeat", "data_nn_n"),
    }
    return xr.Dataset(
        {name: (axes, np.full([len(coords[a]) for a in axes], np.nan)) for name, axes in dims.items()},
        coords=coords,
    )


def _parts(config: KernelsConfig) -> list[tuple]:
    """(variable, selection) of every part, in the order they are run."""
    parts = [("teacher_student", {"teacher": t, "d": d}) for t in config.teachers for d in config.dims]
    parts += [("data_error", {"kernel": k, "task": t}) for k in config.data_kernels for t in config.tasks]
    parts += [("kpca_tail", {"kernel": k}) for k in config.data_kernels]
    parts += [("sphere_delta_min", {"sphere_d": d}) for d in config.sphere_dims]
    return parts + [("data_delta_min", {})]


def _compute(config: KernelsConfig, variable: str, where: dict, pool: Dataset, sigma: float, key):
    """The values of one part."""
    key = jax.random.fold_in(key, _parts(config).index((variable, where)))
    if variable == "teacher_student":
        d = where["d"]
        teacher, student = kernel_named(where["teacher"], float(d)), kernel_named("laplace", float(d))
        curve = teacher_student_curve(
            key, teacher, student, d, config.ns, n_test=config.n_test, repeats=config.repeats,
            sample_teacher=config.sample_teacher,
        )  # fmt: skip
        return curve.values
    if variable == "data_error":
        kernel = kernel_named(where["kernel"], sigma)
        curve = data_curve(
            key, kernel, pool.x, pool.y, config.data_ns, n_test=config.data_n_test,
            repeats=config.data_repeats, task=where["task"],
        )  # fmt: skip
        return curve.values
    if variable == "kpca_tail":
        subset = jax.random.permutation(key, pool.x.shape[0])[: config.kpca_points]
        return kernel_pca_tail(gram(kernel_named(where["kernel"], sigma), pool.x[subset]), pool.y[subset])
    if variable == "sphere_delta_min":
        points = hypersphere(key, config.sphere_ns[-1], where["sphere_d"], pool.x.dtype)
        return nearest_neighbour_curve(key, points, config.sphere_ns, repeats=config.nn_repeats).values
    ns = tuple(n for n in config.data_nn_ns if n <= pool.x.shape[0])
    return nearest_neighbour_curve(key, pool.x, ns, repeats=config.nn_repeats).values


@typechecked
def run_kernels(config: KernelsConfig, path: Path, *, progress: bool = True) -> xr.Dataset:
    """Run (or resume) every part, saving the results to the netCDF file `path` after each one."""
    results = load_sweep(path, config.to_attrs()["config"])
    key = jax.random.PRNGKey(config.seed)
    pool = load_points(config, jax.random.fold_in(key, 1))
    sigma = config.data_sigma or _median_distance(pool.x)
    if results is None:
        results = _empty(config, pool.x.shape[0]).assign_attrs(
            config.to_attrs() | {"experiment": "kernel learning curves (thesis ch. 6)", "data_sigma": sigma}
        )
    todo = [(v, w) for v, w in _parts(config) if bool(np.isnan(results[v].loc[w].values).any())]
    for variable, where in tqdm(todo, desc="kernel learning curves", disable=not progress):
        values = np.asarray(_compute(config, variable, where, pool, sigma, key))
        results[variable].loc[where] = values.reshape(results[variable].loc[where].shape)
        save_netcdf(results, path)
    return results


# ----------------------------------------------------------------------------------------------
# Analysis


def _fit_row(curve: xr.DataArray, low: float | int) -> DecayFit | None:
    try:
        return fit_decay(curve, low=low, n_boot=300)
    except ValueError:  # fewer than two positive values in the window
        return None


@typechecked
def teacher_student_fits(results: xr.Dataset, config: KernelsConfig) -> dict[tuple, DecayFit | None]:
    """β of each (teacher, d) curve, fitted for n ≥ `fit_low` (None when nothing positive is left)."""
    curves = results["teacher_student"]
    pairs = [(t, d) for t in config.teachers for d in config.dims]
    return {(t, d): _fit_row(curves.sel(teacher=t, d=d), config.fit_low) for t, d in pairs}


@typechecked
def beta_table(results: xr.Dataset, config: KernelsConfig) -> xr.Dataset:
    """Fitted β (with its bootstrap interval) and Theorem 1's prediction for every (teacher, d)."""
    fits = teacher_student_fits(results, config)
    rows = {name: np.full((len(config.teachers), len(config.dims)), np.nan)
            for name in ("beta", "ci_low", "ci_high", "predicted")}  # fmt: skip
    for i, teacher in enumerate(config.teachers):
        for j, d in enumerate(config.dims):
            fit = fits[(teacher, d)]
            if fit is not None:
                for name, value in (("beta", fit.exponent), ("ci_low", fit.ci_low), ("ci_high", fit.ci_high)):
                    rows[name][i, j] = value
            rows["predicted"][i, j] = predicted_beta(kernel_named(teacher).decay_exponent(d), d + 1.0, d)
    return xr.Dataset({k: (("teacher", "d"), v) for k, v in rows.items()},
                      coords={"teacher": list(config.teachers), "d": list(config.dims)})  # fmt: skip


@typechecked
def data_betas(results: xr.Dataset, config: KernelsConfig) -> dict[tuple[str, str], DecayFit | None]:
    """β of each (kernel, task) real-data curve, fitted for n ≥ `data_fit_low`."""
    curves = results["data_error"].rename(data_n="n", data_repeat="repeat")
    return {
        (k, t): _fit_row(curves.sel(kernel=k, task=t), config.data_fit_low)
        for k in config.data_kernels
        for t in config.tasks
    }


@typechecked
def kpca_beta(results: xr.Dataset, kernel: str, low: int = 10, high_fraction: float = 0.1) -> DecayFit:
    """β̂ = a − 1 from the kernel-PCA tail (eq. 14) fitted on `low` ≤ ρ ≤ `high_fraction` ñ (the top of
    the spectrum is converged, its end is not: thesis ch. 6 App. J)."""
    tail = results["kpca_tail"].sel(kernel=kernel).rename(rank="n")
    return fit_decay(tail, low=low, high=high_fraction * tail.sizes["n"])


@typechecked
def effective_dimensions(results: xr.Dataset, low_fraction: float = 0.1) -> dict[str, float]:
    """d_eff of each sphere and of the data, ⟨δ_min⟩ fitted for n ≥ `low_fraction` · max n."""
    out = {}
    for d in results["sphere_d"].values:
        curve = results["sphere_delta_min"].sel(sphere_d=d).rename(sphere_n="n", nn_repeat="repeat")
        out[f"S^{d}"] = effective_dimension(
            curve, low=low_fraction * float(curve["n"].max()), n_boot=200
        ).d_eff
    curve = results["data_delta_min"].rename(data_nn_n="n", nn_repeat="repeat")
    out["data"] = effective_dimension(curve, low=low_fraction * float(curve["n"].max()), n_boot=200).d_eff
    return out
