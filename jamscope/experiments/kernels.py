"""Kernel learning curves: teacher–student against d, real data, kernel PCA, d_eff (thesis ch. 6 Figs. 1–4).

One resumable results file (``kernels.nc``) holds four parts:

- **teacher–student** (Fig. 2): E MSE(n) of a Laplace student (σ = d) for Laplace and Gaussian teachers
  (σ = d) on S^d for each d of `dims`, averaged exactly over teachers (or sampled, `sample_teacher`);
  the fitted β against Theorem 1.
- **data** (Fig. 1): ridgeless regression MSE and SVM error (C = 10⁴) of Laplace and Gaussian kernels on
  parity labels of `data` (digits embedded; MNIST or CIFAR-10 two groups of five classes from local files).
- **kernel PCA** (Fig. 3): the tail $\\sum_{ρ ≥ n} (Z·φ_ρ)^2$ (eq. 14) of the labels on `kpca_points` points.
- **nearest neighbours** (Fig. 4): ⟨δ_min⟩(n) on S^d for `sphere_dims` and on the data, and d_eff.

Each part (one teacher and d, one kernel and task, …) is one point of the experiment's store.
"""

import dataclasses
import math
from pathlib import Path
from typing import Literal, final

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import Mesh
from matplotlib.figure import Figure

from .._checks import check_int_at_least, check_positive, check_positive_values
from ..data import Dataset, cifar10, digits, mnist
from ..fits import ExponentFit
from ..kernels import gram, kernel_named
from ..learning_curves import (
    TASKS,
    data_curve,
    effective_dimension,
    fit_decay,
    kernel_pca_tail,
    nearest_neighbour_curve,
    teacher_student_curve,
)
from ..teacher_student import hypersphere, predicted_beta
from ..typing import PRNGKeyArray, typechecked
from ._base import Experiment, Target, compare, report_text
from ._figures import legend, panels, plt, power_law

__all__ = [
    "KernelsConfig",
    "QUICK",
    "PAPER",
    "load_points",
    "teacher_student_fits",
    "beta_table",
    "data_betas",
    "kpca_beta",
    "effective_dimensions",
    "summarize_kernels",
    "teacher_student_figure",
    "data_curves_figure",
    "effective_dimension_figure",
    "kernels_targets",
    "SMOKE",
    "KernelsExperiment",
    "EXPERIMENT",
]

Kernel = Literal["laplace", "gaussian"]


@dataclasses.dataclass(frozen=True)
class KernelsConfig:
    """Every choice of the kernel learning-curve experiment; each field's docstring is the help of its
    option of ``jamscope kernels``; every field is part of each point's store key. The teacher–student
    curves use a Laplace student with σ_T = σ_S = d (thesis ch. 6 §4); the real-data curves use
    parity labels ([`load_points`][jamscope.experiments.kernels.load_points])."""

    dims: tuple[int, ...] = (1, 2, 3, 5, 8)
    """Dimensions d of the spheres S^d of the teacher–student curves."""
    teachers: tuple[Kernel, ...] = ("laplace", "gaussian")
    """Teacher kernels: laplace and/or gaussian (the student is Laplace, σ = d)."""
    ns: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)
    """Training-set sizes n of the teacher–student curves."""
    n_test: int = 500
    """Test points of the teacher–student curves."""
    repeats: int = 4
    """Random point sets per teacher–student curve."""
    sample_teacher: bool = False
    """Yes: sample one teacher per repeat (the paper); no: exact teacher average."""
    fit_low: int = 256
    """Smallest n of the teacher–student β fits (the paper fits from n = 700)."""
    data: Literal["digits", "mnist", "cifar10"] = "digits"
    """Digits (embedded), or mnist, cifar10 (local files)."""
    data_root: str | None = None
    """Folder with the local data files (default $JAMSCOPE_DATA)."""
    data_kernels: tuple[Kernel, ...] = ("laplace", "gaussian")
    """Kernels of the real-data curves: laplace and/or gaussian."""
    data_sigma: float | None = None
    """Kernel length σ on the data ('none': the median distance)."""
    data_ns: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 1400)
    """Training-set sizes n of the real-data curves."""
    data_n_test: int = 397
    """Test points of the real-data curves."""
    data_repeats: int = 10
    """Random subsets per real-data curve."""
    tasks: tuple[str, ...] = TASKS
    """Regression and/or classification (SVM, C = 10⁴)."""
    data_fit_low: int = 128
    """Smallest n of the real-data β fits."""
    kpca_points: int = 1797
    """Points ñ ≥ 200 of the kernel PCA (eq. 14), with the kernels of the data curves."""
    sphere_dims: tuple[int, ...] = (2, 4, 8, 15)
    """Dimensions of the spheres of the nearest-neighbour curves."""
    sphere_ns: tuple[int, ...] = (16, 64, 256, 1024, 4096, 8192)
    """Subset sizes of the nearest-neighbour curves on spheres."""
    nn_repeats: int = 3
    """Random subsets per nearest-neighbour curve."""
    data_nn_ns: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 1797)
    """Subset sizes of the nearest-neighbour curve of the data."""
    seed: int = 0
    """PRNG seed of points, teachers and subsets."""

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


def _fit_row(curve: xr.DataArray, low: float | int) -> ExponentFit | None:
    try:
        return fit_decay(curve, low=low, n_boot=300)
    except ValueError:  # fewer than two positive values in the window
        return None


@typechecked
def teacher_student_fits(results: xr.Dataset, config: KernelsConfig) -> dict[tuple, ExponentFit | None]:
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
def data_betas(results: xr.Dataset, config: KernelsConfig) -> dict[tuple[str, str], ExponentFit | None]:
    """β of each (kernel, task) real-data curve, fitted for n ≥ `data_fit_low`."""
    curves = results["data_error"].rename(data_n="n", data_repeat="repeat")
    return {
        (k, t): _fit_row(curves.sel(kernel=k, task=t), config.data_fit_low)
        for k in config.data_kernels
        for t in config.tasks
    }


@typechecked
def kpca_beta(results: xr.Dataset, kernel: str, low: int = 10, high_fraction: float = 0.1) -> ExponentFit:
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


def _interval(fit) -> str:
    if fit is None:
        return "no fit (fewer than two positive values in the window)"
    return f"{fit.exponent:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}]"


def _analyse_kernels(results: xr.Dataset, config: KernelsConfig) -> dict:
    """Every fit of the kernel experiment, computed once for the summary and the figures."""
    return {
        "fits": teacher_student_fits(results, config),
        "betas": beta_table(results, config),
        "data": data_betas(results, config),
        "kpca": {k: kpca_beta(results, k) for k in config.data_kernels},
        "d_eff": effective_dimensions(results),
    }


def _kernels_text(results: xr.Dataset, config: KernelsConfig, analysis: dict) -> str:
    betas = analysis["betas"]
    lines = [f"teacher–student, Laplace student, σ = d, β fitted for n ≥ {config.fit_low} "
             "(95 % bootstrap interval) vs Theorem 1 (eq. 7):"]  # fmt: skip
    for teacher in config.teachers:
        for d in config.dims:
            row = betas.sel(teacher=teacher, d=d)
            lines.append(f"  {teacher:8s} teacher, d = {d:2d}: β = {float(row['beta']):.3f} "
                         f"[{float(row['ci_low']):.3f}, {float(row['ci_high']):.3f}], "
                         f"predicted {float(row['predicted']):.3f}")  # fmt: skip
    sigma = results.attrs["data_sigma"]
    lines.append(f"{config.data} parity (paper: MNIST β ≈ 0.4, CIFAR-10 ≈ 0.1), σ = {sigma:.3g}, "
                 f"β fitted for n ≥ {config.data_fit_low}:")  # fmt: skip
    for (kernel, task), fit in analysis["data"].items():
        lines.append(f"  {kernel:8s} {task:14s}: β = {_interval(fit)}")
    for kernel, fit in analysis["kpca"].items():
        lines.append(f"  kernel PCA tail (eq. 14), {kernel}: β̂ = a − 1 = {fit.exponent:.3f} "
                     f"± {fit.stderr:.3f} (paper: MNIST 0.36, CIFAR-10 0.07)")  # fmt: skip
    d_eff = analysis["d_eff"]
    spheres = ", ".join(f"{k}: {v:.2f}" for k, v in d_eff.items() if k != "data")
    lines.append(f"effective dimension ⟨δ_min⟩ ∼ n^(−1/d_eff) (eq. 15): {spheres}; {config.data}: "
                 f"{d_eff['data']:.1f} (paper: MNIST ≈ 15, CIFAR-10 ≈ 35)")  # fmt: skip
    return report_text(lines)


@typechecked
def summarize_kernels(results: xr.Dataset, config: KernelsConfig) -> str:
    """The numbers of thesis ch. 6 measured on the sweep: fitted β against Theorem 1 per (teacher, d), β
    of the real-data curves and of the kernel-PCA tail, and d_eff of spheres and data."""
    return _kernels_text(results, config, _analyse_kernels(results, config))


def _figures(results: xr.Dataset, config: KernelsConfig, analysis: dict, out: Path) -> list[Path]:
    """Draw ``teacher_student.png`` (Fig. 2), ``learning_curves.png`` (Figs. 1, 3) and
    ``effective_dimension.png`` (Fig. 4) into `out`."""
    written = []
    for name, fig in (
        ("teacher_student.png", teacher_student_figure(results, analysis["betas"], analysis["fits"])),
        ("learning_curves.png", data_curves_figure(results, analysis["data"], analysis["kpca"], config.data)),
        ("effective_dimension.png", effective_dimension_figure(results, analysis["d_eff"], config.data)),
    ):
        fig.savefig(out / name, dpi=120)
        written.append(out / name)
    return written


def teacher_student_figure(results: xr.Dataset, betas: xr.Dataset, fits: dict) -> Figure:
    """Thesis ch. 6 Fig. 2: E MSE against n for each d (one panel per teacher, Laplace student) with the
    fitted power laws, and the fitted β against d with Theorem 1's prediction (eq. 7)."""
    teachers = results["teacher"].values.tolist()
    fig, axes = panels(len(teachers) + 1)
    n = results["n"].values.astype(float)
    colors = plt.cm.viridis(np.linspace(0, 0.9, results.sizes["d"]))
    for ax, teacher in zip(axes, teachers, strict=False):
        for color, d in zip(colors, results["d"].values, strict=False):
            mean = results["teacher_student"].sel(teacher=teacher, d=d).mean("repeat").values
            ax.loglog(n, mean, "o-", color=color, ms=3, label=f"d = {d}")
            if fits.get((teacher, int(d))) is not None:
                power_law(ax, n, fits[(teacher, int(d))], color=color)
        ax.set(xlabel="n", ylabel="E MSE", title=f"{teacher} teacher, Laplace student")
        legend(ax, fontsize=7)
    ax = axes[-1]
    d = betas["d"].values
    for teacher, marker in zip(teachers, "os", strict=False):
        row = betas.sel(teacher=teacher)
        err = np.abs(np.stack([(row["beta"] - row["ci_low"]).values, (row["ci_high"] - row["beta"]).values]))
        ax.errorbar(d, row["beta"].values, yerr=err, fmt=marker, mfc="none", label=f"{teacher}: fitted")
        ax.plot(d, row["predicted"].values, "-", lw=1.5, label=f"{teacher}: Theorem 1")
    ax.set(xlabel="d", ylabel=r"$\beta$", yscale="log", title=r"$\beta = \min(\alpha_T - d, 2\alpha_S)/d$")
    legend(ax, fontsize=7)
    return fig


def data_curves_figure(results: xr.Dataset, fits: dict, kpca: dict, name: str) -> Figure:
    """Thesis ch. 6 Figs. 1 and 3: regression MSE and SVM error against n for each kernel with the fitted
    β, and the kernel-PCA tail $\\sum_{ρ ≥ n} (Z·φ_ρ)^2$ (eq. 14) with its fit."""
    tasks = results["task"].values.tolist()
    fig, axes = panels(len(tasks) + 1)
    n = results["data_n"].values.astype(float)
    for ax, task in zip(axes, tasks, strict=False):
        for kernel, color in zip(results["kernel"].values, ("C0", "C1"), strict=False):
            mean = results["data_error"].sel(kernel=kernel, task=task).mean("data_repeat").values
            fit = fits.get((str(kernel), task))
            label = str(kernel) + ("" if fit is None else f": β = {fit.exponent:.2f}")
            ax.loglog(n, mean, "o-", color=color, ms=3, label=label)
            if fit is not None:
                power_law(ax, n, fit, color=color)
        ylabel = "test MSE (eq. 4)" if task == "regression" else "test error (eq. 24, SVM)"
        ax.set(xlabel="n", ylabel=ylabel, title=f"{name} parity, {task}")
        legend(ax, fontsize=7)
    ax = axes[-1]
    rank = results["rank"].values.astype(float)
    for kernel, color in zip(results["kernel"].values, ("C0", "C1"), strict=False):
        fit = kpca[str(kernel)]
        ax.loglog(rank, results["kpca_tail"].sel(kernel=kernel).values, color=color,
                  label=f"{kernel}: β̂ = a − 1 = {fit.exponent:.2f}")  # fmt: skip
        power_law(ax, rank, fit, color=color)
    ax.set(
        xlabel=r"rank $n$", ylabel=r"$\sum_{\rho \geq n} (Z\cdot\phi_\rho)^2$", title="kernel PCA (eq. 14)"
    )
    legend(ax, fontsize=7)
    return fig


def effective_dimension_figure(results: xr.Dataset, d_eff: dict[str, float], name: str) -> Figure:
    """Thesis ch. 6 Fig. 4: ⟨δ_min⟩ against n on spheres S^d and on the data, each rescaled to 1 at its
    smallest n, with the fitted d_eff (eq. 15)."""
    fig, ax = plt.subplots(figsize=(5.4, 4), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0, 0.9, results.sizes["sphere_d"]))
    for color, d in zip(colors, results["sphere_d"].values, strict=False):
        mean = results["sphere_delta_min"].sel(sphere_d=d).mean("nn_repeat").values
        n = results["sphere_n"].values.astype(float)
        ax.loglog(n, mean / mean[0], "o-", ms=3, color=color, label=f"$S^{{{d}}}$: fit {d_eff[f'S^{d}']:.1f}")
        ax.loglog(n, (n / n[0]) ** (-1 / d), ":", lw=1, color=color)
    mean = results["data_delta_min"].mean("nn_repeat").values
    n = results["data_nn_n"].values.astype(float)
    ax.loglog(n, mean / mean[0], "s-", color="C3", label=f"{name}: $d_{{eff}}$ = {d_eff['data']:.1f}")
    ax.set(
        xlabel="n",
        ylabel=r"$\langle\delta_{\min}\rangle$ (rescaled)",
        title=r"$\langle\delta_{\min}\rangle \sim n^{-1/d_{eff}}$ (eq. 15); dotted: $n^{-1/d}$",
    )
    legend(ax, fontsize=7)
    return fig


_PAPER_DATA = {  # thesis ch. 6 Figs. 1, 3, 4: (β of the learning curves, β̂ of the kernel-PCA tail, d_eff)
    "mnist": (0.4, 0.36, 15.0),
    "cifar10": (0.1, 0.07, 35.0),
}


@typechecked
def kernels_targets(results: xr.Dataset, config: KernelsConfig) -> list[Target]:
    """The numbers of thesis ch. 6 checked on the experiment: β of every teacher–student curve against
    Theorem 1 (eq. 7; tolerance 0.1, interval: the 95 % bootstrap), d_eff of every sphere S^d against d
    (tolerance 15 %), and the real-data β, β̂ and d_eff against the paper's MNIST and CIFAR-10 values
    (not measured on the digits stand-in: the paper has no value for it)."""
    analysis = _analyse_kernels(results, config)
    targets = []
    for teacher in config.teachers:
        for d in config.dims:
            row, fit = analysis["betas"].sel(teacher=teacher, d=d), analysis["fits"][(teacher, d)]
            interval = None if fit is None else (fit.ci_low, fit.ci_high)
            size = f"S^{d}, n ∈ [{config.fit_low}, {max(config.ns)}], {config.repeats} point sets"
            targets.append(compare("kernels", f"β, {teacher} teacher, Laplace student, d = {d}",
                                   "thesis ch. 6 Theorem 1, eq. 7", float(row["predicted"]),
                                   None if fit is None else fit.exponent, tolerance=0.1, interval=interval,
                                   size=size))  # fmt: skip
    for name, value in analysis["d_eff"].items():
        if name == "data":
            continue
        d = float(name.removeprefix("S^"))
        targets.append(compare("kernels", f"d_eff of {name}", "thesis ch. 6 §7, eq. 15", d, value,
                               tolerance=0.15 * d, size=f"n ≤ {max(config.sphere_ns)}"))  # fmt: skip
    paper = _PAPER_DATA.get(config.data)
    regression = analysis["data"].get(("laplace", "regression"))
    measured = [regression, analysis["kpca"].get("laplace"), analysis["d_eff"]["data"]]
    rows = [("β, Laplace kernel regression on the data", "thesis ch. 6 Fig. 1"),
            ("β̂ = a − 1 of the kernel-PCA tail (Laplace)", "thesis ch. 6 Fig. 3, eq. 14"),
            ("d_eff of the data", "thesis ch. 6 Fig. 4, eq. 15")]  # fmt: skip
    for i, ((quantity, source), value) in enumerate(zip(rows, measured, strict=True)):
        number = value if value is None or isinstance(value, float) else value.exponent
        if paper is None:
            shown = "—" if number is None else f"{number:.3g}"
            note = f"measured {shown} on {config.data}; --data mnist: the paper's"
            targets.append(Target("kernels", quantity, source, "MNIST / CIFAR-10 only", None, None,
                                  f"{config.data} (no paper value)", "not measured", note))  # fmt: skip
            continue
        tolerance = 0.1 if i < 2 else 0.15 * paper[i]
        targets.append(compare("kernels", quantity, source, paper[i], number, tolerance=tolerance,
                               size=f"{config.data}, n ≤ {max(config.data_ns)}"))  # fmt: skip
    return targets


SMOKE = KernelsConfig(
    dims=(1,), teachers=("laplace",), ns=(32, 64), n_test=40, repeats=2, fit_low=32,
    data_kernels=("laplace",), data_ns=(32, 64), data_n_test=60, data_repeats=2, data_fit_low=32,
    kpca_points=300, sphere_dims=(2,),
    sphere_ns=(32, 64), nn_repeats=2, data_nn_ns=(32, 64),
)  # fmt: skip
"""Seconds long, for the tests: one teacher and d, one kernel, n ≤ 64."""


@final
class KernelsExperiment(Experiment):
    """``jamscope kernels``: kernel learning curves, teacher–student β(d), real data, kernel PCA, d_eff."""

    name = "kernels"
    title = "kernel learning curves: teacher–student β(d), real data, kernel PCA, d_eff (thesis ch. 6)"
    description = (
        "Measure learning curves of kernel regression for Laplace and Gaussian teachers on spheres S^d, "
        "of regression and SVM on real data, the kernel-PCA tail and the effective dimension; write "
        "kernels.nc and the figures of thesis ch. 6 Figs. 1–4 to --out."
    )
    config_type = KernelsConfig
    presets = {"quick": QUICK, "paper": PAPER, "smoke": SMOKE}
    preset_help = {
        "quick": "d ≤ 8, n ≤ 2048, digits parity (minutes on 2 cores)",
        "paper": "the paper's sizes (n up to 8192, MNIST from local files; GPU)",
        "smoke": "seconds, for the tests",
    }
    trains_networks = False

    def points(self, config: KernelsConfig) -> list[dict]:
        return [{"variable": variable, "where": where} for variable, where in _parts(config)]

    def prepare(self, config: KernelsConfig, point: dict) -> tuple[Dataset, float]:
        pool = load_points(config, jax.random.fold_in(jax.random.PRNGKey(config.seed), 1))
        return pool, config.data_sigma or _median_distance(pool.x)

    def compute(self, config: KernelsConfig, point: dict, prepared: tuple, mesh: Mesh | None) -> xr.Dataset:
        pool, sigma = prepared
        variable, where = point["variable"], point["where"]
        values = np.asarray(_compute(config, variable, where, pool, sigma, jax.random.PRNGKey(config.seed)))
        part = _empty(config, pool.x.shape[0])[variable].loc[where]
        return xr.Dataset({"values": part.copy(data=values.reshape(part.shape)), "data_sigma": sigma,
                           "data_size": pool.x.shape[0]})  # fmt: skip

    def assemble(self, config: KernelsConfig, pieces: list[xr.Dataset], points: list[dict]) -> dict:
        results = _empty(config, int(pieces[0]["data_size"]))
        for piece, point in zip(pieces, points, strict=True):
            results[point["variable"]].loc[point["where"]] = piece["values"].values
        return {"kernels": results.assign_attrs(data_sigma=float(pieces[0]["data_sigma"]))}

    def report(self, config: KernelsConfig, results: dict, out: Path) -> tuple[str, list[Path]]:
        analysis = _analyse_kernels(results["kernels"], config)
        figures = _figures(results["kernels"], config, analysis, out)
        return _kernels_text(results["kernels"], config, analysis), figures

    def targets(self, config: KernelsConfig, results: dict) -> list[Target]:
        return kernels_targets(results["kernels"], config)


EXPERIMENT = KernelsExperiment()
"""The kernel learning-curve experiment (``jamscope kernels``)."""
