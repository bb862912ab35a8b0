"""The aging experiment of 003: SGD on small tanh networks, MSD, t*(t_w) and μ (Figs. 1, 2, 4–7, A.1, A.3).

For each data set and each depth H, `runs` networks of about `n_params` parameters (the width from
[`width_for_params`][jamscope.nets.width_for_params], as 003 keeps P fixed across depths) are trained
together (vmapped) by plain SGD on the softmax cross-entropy + λ‖θ‖² (eq. 1), with Xavier-uniform
weights and zero biases. θ is kept at the steps t_w + t of an [`aging_grid`][jamscope.aging.aging_grid]
and the results file ``aging_<data>.nc`` holds, per (depth, run): Δ(t_w, t_w + t), the training loss
(cross-entropy, without the L2 term) and accuracy at the record steps, the final test loss and accuracy,
the full-batch gradient norm at every snapshot and the Hessian spectrum at a few snapshots.

Data sets: ``synthetic`` ([`ring_mixture`][jamscope.data.ring_mixture], the documented stand-in for
LJAT19: 2-D, 4 classes, Bayes accuracy ≈ 0.8; N = 1000, batch 100, 1.5·10⁵ steps and P ≈ 72 as in 003),
``digits`` (the 1797 embedded 8×8 digits on 16 principal components, 10 classes, the stand-in for
MNIST; N = 1500, batch 50) and ``mnist`` (local files, N = 60000, batch 50, 3·10⁵ steps, P ≈ 4000).
A depth is stored as soon as it is trained; on resume, stored depths are skipped.
"""

import dataclasses
import json
from pathlib import Path
from typing import Literal, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import Mesh
from matplotlib.figure import Figure

from .._checks import check_int_at_least, check_positive, check_positive_values
from ..aging import (
    aging_grid,
    collapse_exponent,
    fit_aging_exponent,
    gradient_norm_rms,
    gradient_norms,
    hessian_spectra,
    msd,
    relaxation_time,
    snapshot_schedule,
)
from ..data import Dataset, digits, mnist, ring_mixture
from ..fits import ExponentFit
from ..losses import SoftmaxCrossEntropy, error_rate, mean_loss
from ..nets import MLP, ensemble, mlp_n_params, width_for_params
from ..train import log_spaced_steps, sgd
from ..typing import PRNGKeyArray, typechecked
from ._base import Experiment, Target, compare, concat_points, report_text
from ._figures import depth_colors, legend, panels, plt

__all__ = [
    "Problem",
    "PROBLEMS",
    "AgingConfig",
    "QUICK",
    "PAPER",
    "load_problem",
    "relaxation_times",
    "aging_fits",
    "collapse_exponents",
    "gradient_rms",
    "PAPER_MU",
    "aging_figure",
    "aging_training_figure",
    "aging_targets",
    "SMOKE",
    "AgingExperiment",
    "EXPERIMENT",
]

DataName = Literal["synthetic", "digits", "mnist"]


@dataclasses.dataclass(frozen=True)
class Problem:
    """The set-up of one data set: training and test sizes, batch, SGD steps, target P, PCA dimension."""

    n_train: int
    n_test: int
    batch_size: int
    steps: int
    n_params: int
    pca_dim: int | None = None


PROBLEMS: dict[str, Problem] = {
    "synthetic": Problem(n_train=1000, n_test=1000, batch_size=100, steps=150_000, n_params=72),
    "digits": Problem(n_train=1500, n_test=297, batch_size=50, steps=100_000, n_params=175, pca_dim=16),
    "mnist": Problem(n_train=60_000, n_test=10_000, batch_size=50, steps=300_000, n_params=4000),
}
"""003's set-ups (LJAT19 → ``synthetic``, MNIST) and the digits stand-in for MNIST (P/N ≈ 0.1 as in
003's Fig. 6 range; 16 principal components so that P ≈ 175 leaves widths 4–6 for H = 1–3)."""


@dataclasses.dataclass(frozen=True)
class AgingConfig:
    """Every choice of the aging experiment; each field's docstring is the help of its option of
    ``jamscope aging``; every field is part of each point's store key. A field left None takes
    each data set's [`Problem`][jamscope.experiments.aging.Problem]."""

    data: tuple[DataName, ...] = ("synthetic", "digits")
    """Synthetic (2-D, 4 classes, LJAT19 stand-in), digits (MNIST stand-in), mnist (local)."""
    data_root: str | None = None
    """Folder with the local data files (default $JAMSCOPE_DATA)."""
    depths: tuple[int, ...] = (1, 2, 3)
    """Hidden layers H, comma-separated (one vmapped ensemble of `runs` networks per depth)."""
    runs: int = 10
    """Networks per depth, trained vmapped."""
    n_params: int | None = None
    """Target parameter count P ('none': 72 synthetic, 175 digits, 4000 mnist)."""
    steps: int | None = None
    """SGD steps ('none': 150000 synthetic, 100000 digits, 300000 mnist)."""
    batch_size: int | None = None
    """Mini-batch size ('none': 100 synthetic, 50 digits and mnist)."""
    n_train: int | None = None
    """Training-set size N ('none': 1000 synthetic, 1500 digits, 60000 mnist)."""
    lr: float = 0.05
    """SGD learning rate (003: 0.05)."""
    weight_decay: float = 1e-4
    """Λ of the L2 term λ‖θ‖² (eq. 1)."""
    init: Literal["xavier_uniform", "lecun_normal"] = "xavier_uniform"
    """Initialization: xavier_uniform (Keras, 003) or lecun_normal."""
    n_waiting: int = 16
    """Log-spaced waiting times t_w."""
    n_lags: int = 40
    """Log-spaced lags t."""
    first_waiting: int = 10
    """Smallest t_w."""
    delta_star: float = 1e-2
    """Δ* of the relaxation time t*."""
    fit_low: int = 4000
    """Smallest t_w of the μ fit (the asymptotic range)."""
    gradient_after: int = 10_000
    """The gradient-norm RMS is taken over steps above this (003 Fig. A.3: 10⁴)."""
    hessian_points: int = 5
    """Snapshots (log-spaced, first and last included) with a full Hessian spectrum (003 Fig. 7, A.1)."""
    hessian_runs: int = 1
    """Runs with Hessian spectra."""
    n_records: int = 60
    """Log-spaced steps of loss and accuracy (plus the snapshot steps)."""
    seed: int = 0
    """PRNG seed of data, initializations and batches."""

    def __post_init__(self):
        if not self.data or not set(self.data) <= set(PROBLEMS):
            raise ValueError(f"`data` must be a non-empty subset of {tuple(PROBLEMS)}, got {self.data}")
        check_positive_values("depths", self.depths, integer=True)
        for name in (
            "runs",
            "n_waiting",
            "n_lags",
            "first_waiting",
            "fit_low",
            "hessian_points",
            "n_records",
        ):
            check_int_at_least(name, getattr(self, name), 2 if name in ("n_waiting", "hessian_points") else 1)
        check_int_at_least("hessian_runs", self.hessian_runs, 0)
        if self.hessian_runs > self.runs:
            raise ValueError(f"`hessian_runs` must be at most `runs` ({self.runs}), got {self.hessian_runs}")
        for name in ("n_params", "steps", "batch_size", "n_train"):
            if getattr(self, name) is not None:
                check_int_at_least(name, getattr(self, name), 1)
        check_positive("lr", self.lr)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)
        check_positive("delta_star", self.delta_star)
        check_int_at_least("gradient_after", self.gradient_after, 0)
        if self.init not in ("xavier_uniform", "lecun_normal"):
            raise ValueError(f"`init` must be xavier_uniform or lecun_normal, got {self.init!r}")
        for name in self.data:
            problem = self.problem(name)
            if problem.batch_size > problem.n_train:
                raise ValueError(f"`batch_size` ({problem.batch_size}) exceeds `n_train` ({problem.n_train})")
            if not self.first_waiting < problem.steps // 2:
                raise ValueError(f"`first_waiting` must be below steps/2 ({problem.steps // 2})")
            if not self.gradient_after < problem.steps:
                raise ValueError(f"`gradient_after` must be below the steps ({problem.steps}) of {name}")

    def problem(self, name: str) -> Problem:
        """The set-up of data set `name` with this configuration's overrides applied."""
        overrides = {k: getattr(self, k) for k in ("n_params", "steps", "batch_size", "n_train")}
        return dataclasses.replace(PROBLEMS[name], **{k: v for k, v in overrides.items() if v is not None})


QUICK = AgingConfig()
"""The defaults: the synthetic stand-in at 003's sizes (1.5·10⁵ steps) and digits (10⁵ steps), H = 1, 2, 3,
10 runs each, μ fitted for t_w ≥ 4000 (003's crossover at t_w ≈ 10^3.6); about 8 minutes on 2 cores."""


PAPER = AgingConfig(data=("synthetic", "mnist"), runs=50)
"""003's sizes for a GPU: the synthetic stand-in and MNIST (local files, 3·10⁵ steps, P ≈ 4000), 50 runs
(Fig. 5d), μ fitted for t_w ≥ 4000 (003: the asymptotic regime starts at t_w ≈ 10^3.6)."""


@typechecked
def load_problem(config: AgingConfig, name: str, key: PRNGKeyArray) -> Dataset:
    """The training and test sets of data set `name` (class labels)."""
    if name not in PROBLEMS:
        raise ValueError(f"`name` must be one of {tuple(PROBLEMS)}, got {name!r}")
    problem = config.problem(name)
    if name == "synthetic":
        return ring_mixture(key, problem.n_train, problem.n_test)
    if name == "digits":
        return digits(key, problem.n_train, problem.n_test, pca_dim=problem.pca_dim, binary=False)
    # MNIST's test set is the whole official one (10⁴ images)
    return mnist(config.data_root, n_train=problem.n_train, n_test=None, binary=False, key=key)


def _grids(config: AgingConfig, problem: Problem):
    t_w, lags = aging_grid(problem.steps, config.n_waiting, config.n_lags, first_waiting=config.first_waiting)
    snapshots = snapshot_schedule(t_w, lags, problem.steps)
    records = np.union1d(np.asarray(log_spaced_steps(problem.steps, config.n_records)), snapshots)
    wanted = np.asarray(log_spaced_steps(problem.steps, config.hessian_points))
    hessian_index = np.unique(np.searchsorted(snapshots, wanted).clip(0, snapshots.size - 1))
    return t_w, lags, snapshots, records, hessian_index


def _widths(config: AgingConfig, problem: Problem, in_dim: int, n_classes: int) -> list[int]:
    return [width_for_params(in_dim, depth, n_classes, problem.n_params) for depth in config.depths]


def _empty(config: AgingConfig, name: str, pool: Dataset) -> xr.Dataset:
    problem = config.problem(name)
    t_w, lags, snapshots, records, hessian_index = _grids(config, problem)
    in_dim, k = pool.x.shape[1], pool.n_classes
    widths = _widths(config, problem, in_dim, k)
    counts = [mlp_n_params(in_dim, w, d, k) for w, d in zip(widths, config.depths, strict=True)]
    sizes = {"depth": len(config.depths), "run": config.runs, "waiting": t_w.size, "lag": lags.size,
             "record": records.size, "snapshot": snapshots.size, "hessian_run": config.hessian_runs,
             "hessian_step": hessian_index.size, "mode": max(counts)}  # fmt: skip
    dims = {
        "msd": ("depth", "run", "waiting", "lag"),
        "loss": ("depth", "run", "record"),
        "accuracy": ("depth", "run", "record"),
        "test_loss": ("depth", "run"),
        "test_accuracy": ("depth", "run"),
        "gradient_norm": ("depth", "run", "snapshot"),
        "hessian": ("depth", "hessian_run", "hessian_step", "mode"),
    }
    variables = {v: (axes, np.full([sizes[a] for a in axes], np.nan)) for v, axes in dims.items()}
    coords = {
        "depth": list(config.depths), "width": ("depth", widths), "n_params": ("depth", counts),
        "t_w": ("waiting", t_w), "t": ("lag", lags), "record_step": ("record", records),
        "snapshot_step": ("snapshot", snapshots),
        "hessian_snapshot_step": ("hessian_step", snapshots[hessian_index]),
    }  # fmt: skip
    attrs = {
        "data": name, "n_train": pool.x.shape[0], "n_classes": k,
        "batch_size": problem.batch_size, "steps": problem.steps, "delta_star": config.delta_star,
    }  # fmt: skip
    return xr.Dataset(variables, coords=coords, attrs=attrs)


@eqx.filter_jit
def _test_metrics(models, x, y):
    def one(m):
        f = jax.vmap(m)(x)
        return mean_loss(SoftmaxCrossEntropy(), f, y), 1.0 - error_rate(f, y)

    return eqx.filter_vmap(one)(models)


def _train_depth(
    config: AgingConfig, results: xr.Dataset, index: int, pool: Dataset, key, mesh: Mesh | None,
    progress: bool,
):  # fmt: skip
    """Train the runs of one depth and return every stored value of it."""
    problem = config.problem(results.attrs["data"])
    depth, width = int(results["depth"][index]), int(results["width"][index])
    in_dim, k = pool.x.shape[1], pool.n_classes
    t_w, lags, snapshots, _, hessian_index = _grids(config, problem)

    def make(key):
        return MLP(key, in_dim, width, depth, "tanh", n_outputs=k, init=config.init, dtype=pool.x.dtype)

    key = jax.random.fold_in(key, depth)
    models = ensemble(make, jax.random.split(jax.random.fold_in(key, 0), config.runs))
    loss = SoftmaxCrossEntropy()
    models, history = sgd(
        models, loss, pool, steps=problem.steps, key=jax.random.fold_in(key, 1), lr=config.lr,
        batch_size=problem.batch_size, weight_decay=config.weight_decay, n_records=config.n_records,
        snapshot_steps=jnp.asarray(snapshots), ensemble=True, mesh=mesh, progress=progress,
    )  # fmt: skip
    template = make(key)
    values = {
        "msd": msd(history.snapshots, snapshots, t_w, lags),
        "loss": history.loss,
        "accuracy": 1.0 - history.n_unsatisfied.astype(pool.x.dtype) / pool.x.shape[0],
        "gradient_norm": gradient_norms(loss, template, pool, history.snapshots, config.weight_decay),
    }
    if pool.x_test is not None:
        values["test_loss"], values["test_accuracy"] = _test_metrics(models, pool.x_test, pool.y_test)
    if config.hessian_runs:
        chosen = history.snapshots[: config.hessian_runs, jnp.asarray(hessian_index)]
        spectra = hessian_spectra(
            loss, template, pool, chosen.reshape(-1, chosen.shape[-1]), config.weight_decay
        )
        values["hessian"] = spectra.reshape(chosen.shape)
    return values


@typechecked
def relaxation_times(results: xr.Dataset, delta_star: float | None = None) -> xr.DataArray:
    """t*(t_w) of every (depth, run) with Δ* = `delta_star` (default: the configuration's)."""
    if delta_star is None:
        delta_star = json.loads(results.attrs["config"])["delta_star"]
    values = relaxation_time(results["t"].values, jnp.asarray(results["msd"].values), delta_star)
    return xr.DataArray(np.asarray(values), dims=("depth", "run", "waiting"),
                        coords={"depth": results["depth"], "t_w": results["t_w"]})  # fmt: skip


def _fit_or_none(t_w, t_star, low) -> ExponentFit | None:
    try:
        return fit_aging_exponent(t_w, t_star, low=low, n_boot=500)
    except ValueError:  # fewer than two finite t* in the window
        return None


@typechecked
def aging_fits(results: xr.Dataset) -> dict[int, ExponentFit | None]:
    """μ of each depth (t* ∼ t_w^μ for t_w ≥ `fit_low`, bootstrap over runs); None if t* is not finite at two
    waiting times of the window."""
    low = json.loads(results.attrs["config"])["fit_low"]
    t_star = relaxation_times(results)
    return {int(d): _fit_or_none(results["t_w"].values, t_star.sel(depth=d).values, low)
            for d in results["depth"].values}  # fmt: skip


@typechecked
def collapse_exponents(results: xr.Dataset) -> dict[int, float]:
    """μ of each depth from the best collapse of the run-averaged Δ against t/t_w^μ, for t_w ≥ `fit_low`."""
    low = json.loads(results.attrs["config"])["fit_low"]
    keep = results["t_w"].values >= low
    out = {}
    for d in results["depth"].values:
        mean = results["msd"].sel(depth=d).mean("run").values[keep]
        try:
            out[int(d)] = collapse_exponent(results["t_w"].values[keep], results["t"].values, mean)
        except ValueError:
            out[int(d)] = float("nan")
    return out


@typechecked
def gradient_rms(results: xr.Dataset) -> xr.DataArray:
    """The RMS of the full-batch gradient norm after `gradient_after` steps, per (depth, run) (003 A.3)."""
    after = json.loads(results.attrs["config"])["gradient_after"]
    values = gradient_norm_rms(
        results["snapshot_step"].values, jnp.asarray(results["gradient_norm"].values), after
    )
    return xr.DataArray(np.asarray(values), dims=("depth", "run"), coords={"depth": results["depth"]})


_AGING_PAPER = (
    "003: μ = 0.709 ± 0.017 (MNIST, H = 3, widths 7–17); LJAT19 gradient-norm RMS 0.02 / 0.07 / "
    "0.12 for H = 1 / 2 / 3"
)


def _spectrum_line(results: xr.Dataset, depth: int) -> str:
    count = int(results["n_params"].sel(depth=depth))
    spectra = results["hessian"].sel(depth=depth).values[..., :count]
    if spectra.size == 0 or np.all(np.isnan(spectra)):
        return ""
    first, last = spectra[:, 0], spectra[:, -1]
    return (f"; Hessian: negative fraction {np.mean(first < 0):.2f} → {np.mean(last < 0):.2f}, "
            f"largest {np.max(first):.3g} → {np.max(last):.3g}")  # fmt: skip


def _aging_text(results: xr.Dataset, fits: dict, collapse: dict) -> str:
    config = json.loads(results.attrs["config"])
    n_train = int(results.attrs["n_train"])
    rms = gradient_rms(results)
    lines = [
        f"{results.attrs['data']}: N = {n_train}, batch {results.attrs['batch_size']}, "
        f"{results.attrs['steps']} SGD steps, {results.sizes['run']} runs; μ of t* ∼ t_w^μ "
        f"(Δ* = {config['delta_star']:g}, t_w ≥ {config['fit_low']}, 95 % bootstrap over runs):"
    ]
    for depth in (int(d) for d in results["depth"].values):
        count = int(results["n_params"].sel(depth=depth))
        width = int(results["width"].sel(depth=depth))
        fit = fits[depth]
        mu = "no fit (t* not reached)" if fit is None else (
            f"μ = {fit.exponent:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}] on {fit.n_used} t_w")  # fmt: skip
        accuracy = results["accuracy"].sel(depth=depth).isel(record=-1).values
        under = " (underparametrized: < 0.99)" if accuracy.max() < 0.99 else ""
        test = np.nanmean(results["test_accuracy"].sel(depth=depth).values)
        gradients = rms.sel(depth=depth).values
        lines.append(
            f"  H = {depth}, w = {width}, P = {count} (P/N = {count / n_train:.3f}): {mu}, "
            f"collapse μ = {collapse[depth]:.2f}; train accuracy {accuracy.mean():.3f} ± {accuracy.std():.3f}"
            f"{under}, test {test:.3f}; ‖∇L‖ RMS (t > {config['gradient_after']}) "
            f"{gradients.mean():.3g} ± {gradients.std():.2g}" + _spectrum_line(results, depth)
        )
    return report_text(lines)


PAPER_MU = (0.709, 0.017)
"""003 Fig. 6: μ = 0.709 ± 0.017 (MNIST, H = 3, widths 7–17)."""


def _mu_text(fit) -> str:
    return "no fit" if fit is None else f"μ = {fit.exponent:.2f} [{fit.ci_low:.2f}, {fit.ci_high:.2f}]"


def aging_figure(results: xr.Dataset, t_star: xr.DataArray, fits: dict, collapse: dict) -> Figure:
    """003 Figs. 2 and 5: Δ(t_w, t_w + t) against t for several t_w (one panel per depth, run average,
    Δ* dashed) and t* against t_w with the fitted t_w^μ (top); Δ against t/t_w^μ with the fitted μ, and μ
    per depth against 003's 0.709 ± 0.017 (bottom)."""
    depths = [int(d) for d in results["depth"].values]
    colors = depth_colors(depths)
    fig, axes = plt.subplots(
        2, len(depths) + 1, figsize=(3.8 * (len(depths) + 1), 6.8), constrained_layout=True
    )
    t = results["t"].values.astype(float)
    t_w = results["t_w"].values.astype(float)
    shades = plt.cm.viridis(np.linspace(0, 0.9, t_w.size))
    delta_star = float(np.asarray(results.attrs.get("delta_star", 1e-2)))
    for column, depth in enumerate(depths):
        mean = results["msd"].sel(depth=depth).mean("run").values
        fit = fits.get(depth)
        mu = fit.exponent if fit is not None else collapse.get(depth, 1.0)
        for row, exponent in ((0, 0.0), (1, mu)):
            ax = axes[row, column]
            for shade, w, curve in zip(shades, t_w, mean, strict=True):
                keep = (t > 0) & np.isfinite(curve)
                ax.loglog(
                    t[keep] / w**exponent, curve[keep], "-", color=shade, lw=1, label=f"$t_w$ = {w:.0f}"
                )
            ax.axhline(delta_star, color="k", ls="--", lw=0.8)
        width, count = int(results["width"].sel(depth=depth)), int(results["n_params"].sel(depth=depth))
        axes[0, column].set(
            xlabel="t", ylabel=r"$\Delta(t_w, t_w + t)$", title=f"H = {depth}, w = {width}, P = {count}"
        )
        axes[1, column].set(xlabel=rf"$t / t_w^{{{mu:.2f}}}$", ylabel=r"$\Delta$", title="collapse")
    legend(axes[0, 0], fontsize=6)
    ax = axes[0, -1]
    for depth in depths:
        values = t_star.sel(depth=depth).values
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.log(np.where(values > 0, values, np.nan))
        finite = np.isfinite(logs).sum(axis=0) > 0
        mean = np.full(t_w.size, np.nan)
        mean[finite] = np.exp(np.nanmean(logs[:, finite], axis=0))
        ax.loglog(
            t_w, mean, "o", color=colors[depth], mfc="none", label=f"H = {depth}: {_mu_text(fits.get(depth))}"
        )
        fit = fits.get(depth)
        if fit is not None:
            shown = t_w[(t_w >= fit.low) & (t_w <= fit.high)]
            ax.loglog(shown, fit.prefactor * shown**fit.exponent, "-", color=colors[depth], lw=1)
    ax.set(xlabel=r"$t_w$", ylabel=rf"$t^*$ ($\Delta^*$ = {delta_star:g})", title=r"$t^* \sim t_w^\mu$")
    legend(ax, fontsize=6)
    ax = axes[1, -1]
    ax.axhspan(PAPER_MU[0] - PAPER_MU[1], PAPER_MU[0] + PAPER_MU[1], color="0.85", label="003: 0.709 ± 0.017")
    for depth in depths:
        fit = fits.get(depth)
        if fit is not None:
            errors = [[fit.exponent - fit.ci_low], [fit.ci_high - fit.exponent]]
            ax.errorbar([depth], [fit.exponent], yerr=errors, fmt="o", color=colors[depth])
        ax.plot([depth], [collapse.get(depth, np.nan)], "x", color=colors[depth])
    ax.axhline(1.0, color="k", lw=0.6, ls=":")
    ax.set(xlabel="H", ylabel=r"$\mu$", title="fit (o, 95 % CI) and collapse (x)", xticks=depths)
    legend(ax, fontsize=7)
    return fig


def aging_training_figure(results: xr.Dataset, hessian_depth: int | None = None) -> Figure:
    """003 Figs. 1, 4, A.3, 7 and A.1: training loss (cross-entropy) and accuracy against the step, the
    full-batch gradient norm, the Hessian spectrum at a few snapshots (boxplots, first run) and the
    sorted eigenvalues at the first and last of them, for depth `hessian_depth` (default: the middle one)."""
    depths = [int(d) for d in results["depth"].values]
    colors = depth_colors(depths)
    fig, axes = panels(5)
    steps = np.maximum(results["record_step"].values, 1)
    snapshot_steps = np.maximum(results["snapshot_step"].values, 1)
    for depth in depths:
        label = f"H = {depth}"
        for ax, name in zip(axes[:2], ("loss", "accuracy"), strict=True):
            ax.semilogx(
                steps, results[name].sel(depth=depth).mean("run").values, color=colors[depth], label=label
            )
        axes[2].loglog(snapshot_steps, results["gradient_norm"].sel(depth=depth).mean("run").values,
                       color=colors[depth], lw=1, label=label)  # fmt: skip
    axes[0].set(xlabel="step t", ylabel="training cross-entropy", title="loss (run average)")
    axes[1].set(xlabel="step t", ylabel="training accuracy", title="accuracy (run average)")
    axes[2].set(xlabel="step t", ylabel=r"$\|\nabla L_D\|$", title="full-batch gradient norm")
    for ax in axes[:3]:
        legend(ax, fontsize=7)
    depth = depths[len(depths) // 2] if hessian_depth is None else hessian_depth
    spectra = results["hessian"].sel(depth=depth)
    count = int(results["n_params"].sel(depth=depth))
    if spectra.sizes["hessian_run"] and not np.all(np.isnan(spectra.values)):
        eigen = spectra.isel(hessian_run=0).values[:, :count]
        labels = [f"{s:.0f}" for s in results["hessian_snapshot_step"].values]
        axes[3].boxplot(list(eigen), tick_labels=labels, showfliers=True, flierprops={"markersize": 2})
        axes[3].set_yscale("symlog", linthresh=1e-3)
        axes[4].plot(np.arange(1, count + 1), eigen[0], "o", ms=2, label=f"t = {labels[0]}")
        axes[4].plot(np.arange(1, count + 1), eigen[-1], "o", ms=2, label=f"t = {labels[-1]}")
        axes[4].set_yscale("symlog", linthresh=1e-3)
        legend(axes[4], fontsize=7)
    axes[3].set(xlabel="step t", ylabel="Hessian eigenvalues", title=f"H = {depth}, run 0 (003 Fig. 7)")
    axes[4].set(xlabel="rank", ylabel="eigenvalue (sorted)", title=f"H = {depth} (003 Fig. A.1)")
    return fig


def _figures(name: str, result: xr.Dataset, fits: dict, collapse: dict, out: Path) -> list[Path]:
    """Draw ``aging_<data>.png`` (003 Figs. 2, 5, 6) and ``aging_training_<data>.png`` (Figs. 1, 4, 7,
    A.1, A.3) into `out`."""
    written = []
    for figure_name, fig in (
        (f"aging_{name}.png", aging_figure(result, relaxation_times(result), fits, collapse)),
        (f"aging_training_{name}.png", aging_training_figure(result)),
    ):
        fig.savefig(out / figure_name, dpi=120)
        written.append(out / figure_name)
    return written


_PAPER_GRADIENT_RMS = {1: 0.02, 2: 0.07, 3: 0.12}  # LJAT19 Fig. A.3, per depth H


@typechecked
def aging_targets(results: dict[str, xr.Dataset]) -> list[Target]:
    """The numbers of 003 checked per data set: μ of t* ∼ t_w^μ at every depth (003: 0.709 ± 0.017 on
    MNIST at H = 3; tolerance 2 × 0.017, interval the 95 % bootstrap) and the gradient-norm RMS per
    depth (LJAT19 Fig. A.3: 0.02, 0.07, 0.12 for H = 1, 2, 3; tolerance 50 %). The stand-in data
    sets (synthetic, digits) are not the paper's: their rows say so."""
    targets = []
    for name, result in results.items():
        fits, rms = aging_fits(result), gradient_rms(result)
        stand_in = "" if name == "mnist" else f"{name} stand-in for MNIST"
        for depth, fit in fits.items():
            count = int(result["n_params"].sel(depth=depth))
            size = f"{name}, H = {depth}, P = {count}, {result.sizes['run']} runs"
            interval = None if fit is None else (fit.ci_low, fit.ci_high)
            targets.append(compare("aging", f"μ of t* ∼ t_w^μ, H = {depth}", "003 Fig. 6", PAPER_MU[0],
                                   None if fit is None else fit.exponent, tolerance=2 * PAPER_MU[1],
                                   interval=interval, size=size, note=stand_in))  # fmt: skip
            if depth in _PAPER_GRADIENT_RMS:
                paper = _PAPER_GRADIENT_RMS[depth]
                targets.append(compare("aging", f"‖∇L‖ RMS, H = {depth}", "003 Fig. A.3 (LJAT19)", paper,
                                       float(rms.sel(depth=depth).mean()), tolerance=0.5 * paper, size=size,
                                       note=stand_in))  # fmt: skip
    return targets


SMOKE = AgingConfig(
    data=("synthetic",), depths=(1, 2), runs=2, steps=300, n_waiting=3, n_lags=8, first_waiting=5, fit_low=5,
    gradient_after=50, hessian_points=2, n_records=5,
)  # fmt: skip
"""Seconds long, for the tests: the synthetic problem, H ∈ {1, 2}, 2 runs, 300 SGD steps."""


@final
class AgingExperiment(Experiment):
    """``jamscope aging``: aging of SGD, the MSD Δ(t_w, t_w + t), t*(t_w) and the subaging exponent μ."""

    name = "aging"
    title = "aging of SGD: MSD Δ(t_w, t_w + t), t*(t_w) and the subaging exponent μ (003)"
    description = (
        "Train small tanh networks by SGD at fixed P for H = 1, 2, 3, store θ at log-spaced t_w + t, and "
        "write aging_<data>.nc, the MSD, t*(t_w) and μ figures (003 Figs. 2, 5, 6) and the loss, "
        "accuracy, gradient-norm and Hessian figures (Figs. 1, 4, 7, A.1, A.3) to --out."
    )
    config_type = AgingConfig
    presets = {"quick": QUICK, "paper": PAPER, "smoke": SMOKE}
    preset_help = {
        "quick": "synthetic and digits, H = 1, 2, 3, 10 runs (minutes on 2 cores)",
        "paper": "003's sizes (MNIST from local files, 3·10⁵ steps, 50 runs; GPU)",
        "smoke": "seconds, for the tests",
    }
    float64 = False

    def points(self, config: AgingConfig) -> list[dict]:
        return [{"data": name, "depth": depth} for name in config.data for depth in config.depths]

    def prepare_key(self, config: AgingConfig, point: dict) -> str:
        return point["data"]

    def prepare(self, config: AgingConfig, point: dict) -> Dataset:
        data_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), list(PROBLEMS).index(point["data"]))
        return load_problem(config, point["data"], jax.random.fold_in(data_key, 0))

    def compute(self, config: AgingConfig, point: dict, prepared: Dataset, mesh: Mesh | None) -> xr.Dataset:
        """One depth of one data set: every stored value, in the layout of the data set's results."""
        name, index = point["data"], list(config.depths).index(point["depth"])
        data_key = jax.random.fold_in(jax.random.PRNGKey(config.seed), list(PROBLEMS).index(name))
        template = _empty(config, name, prepared)
        values = _train_depth(config, template, index, prepared, jax.random.fold_in(data_key, 1), mesh, False)
        piece = template.isel(depth=[index])
        for variable, value in values.items():
            padded = np.full(piece[variable].shape[1:], np.nan)
            array = np.asarray(value, float)
            padded[tuple(slice(0, s) for s in array.shape)] = array
            piece[variable][0] = padded
        return piece

    def assemble(self, config: AgingConfig, pieces: list[xr.Dataset], points: list[dict]) -> dict:
        results = {}
        for name in config.data:
            parts = [p for p, point in zip(pieces, points, strict=True) if point["data"] == name]
            attrs = {k: v for k, v in parts[0].attrs.items() if not k.startswith("point_")}
            results[f"aging_{name}"] = concat_points(parts, "depth").assign_attrs(attrs)
        return results

    def report(self, config: AgingConfig, results: dict, out: Path) -> tuple[str, list[Path]]:
        written, parts = [], []
        for stem, result in results.items():
            fits, collapse = aging_fits(result), collapse_exponents(result)
            written += _figures(stem.removeprefix("aging_"), result, fits, collapse, out)
            parts.append(_aging_text(result, fits, collapse))
        return "\n".join([*parts, _AGING_PAPER]), written

    def targets(self, config: AgingConfig, results: dict) -> list[Target]:
        return aging_targets({stem.removeprefix("aging_"): r for stem, r in results.items()})


EXPERIMENT = AgingExperiment()
"""The aging experiment (``jamscope aging``)."""
