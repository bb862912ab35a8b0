"""Lazy vs feature learning and output fluctuations: the (h, α√h) sweep of thesis ch. 3, 001 and 004.

Set-up of thesis ch. 3 §2 (001 §4): fully connected nets in the NTK parametrization with the
normalized softplus σ = a sp₅ (eq. 10), centered, F(w, x) = α (f(w, x) − f(w₀, x)) (eq. 6),
trained by the adaptive-step gradient flow (eqs. 8–9) on the α-rescaled soft hinge
(1/(α²P)) Σ sp₂₀(1 − y F) (eq. 7) until every margin y F > 1 is reached or the step budget ends.

Two grids share one resumable sweep (one netCDF file, keyed by (kind, width, α)):

- **regimes**: for every width h, α = α̃/√h on a log grid of α̃ = α√h spanning several decades
  (lazy for α√h ≫ 1, feature learning for α√h ≪ 1, crossover at α√h ~ 1, thesis ch. 3 §6);
- **fluctuations**: the widths `fluctuation_widths` at one α (004: f − f₀ with α = 1), from below
  the jamming point N* to N ≫ N*;

and for every width of the regimes grid the **linearized** model
([`jamscope.nets.Linearized`][jamscope.nets.Linearized]) trained the same way: the frozen-NTK
(lazy, α√h → ∞) reference of thesis ch. 3 Fig. 3b. Every point is a vmapped ensemble of `seeds`
independent initializations (the same ones for every α at a width).

Per run: test and train error, whether it fitted, steps and time t = Σ dt, the kernel change
‖Θ_t − Θ_0‖/‖Θ_0‖ on `kernel_points` test inputs, the relative weight change ‖w − w₀‖/‖w₀‖, and the
test outputs F(x) from which [`ensemble_statistics`][jamscope.regimes.ensemble_statistics] computes the
ensemble predictor F̄ = mean over seeds (thesis ch. 3 eq. 15), its test error ε̄, the variance Var F
(eq. 16) and the fluctuation ‖F − F̄‖ (004 eq. 9).
"""

import dataclasses
import math
from pathlib import Path
from typing import Literal, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import Mesh
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from .._checks import check_in_range, check_int_at_least, check_positive, check_positive_values
from ..data import Dataset, cifar10, digits, mnist, stripe
from ..end_state import FITTED, JAMMED
from ..fits import ScalingFit, offset_fit, scaling_fit
from ..jamming import jamming_bracket
from ..losses import SoftHinge, error_rate
from ..nets import Centered, FCNet, ensemble, ensemble_outputs, linearize, n_params
from ..ntk import kernel_change
from ..regimes import ensemble_statistics, relative_weight_change
from ..train import gradient_flow
from ..typing import PRNGKeyArray, typechecked
from ._base import Experiment, Target, compare, concat_points, report_text
from ._figures import legend, panels

__all__ = [
    "RegimesConfig",
    "QUICK",
    "PAPER",
    "plan",
    "load_data",
    "regimes_grid",
    "width_sweep",
    "Crossover",
    "crossover",
    "kernel_change_slope",
    "FluctuationFits",
    "fluctuation_fits",
    "summarize_regimes",
    "regimes_figure",
    "fluctuations_figure",
    "regimes_targets",
    "SMOKE",
    "RegimesExperiment",
    "EXPERIMENT",
]

Kind = Literal["network", "linearized"]


@dataclasses.dataclass(frozen=True)
class RegimesConfig:
    """Every choice of the regimes sweep; each field's docstring is the help of its option of
    ``jamscope regimes``; every field is part of each point's store key."""

    data: Literal["digits", "stripe", "mnist", "fashion", "cifar10"] = "digits"
    """Digits (scikit-learn's, parity labels), stripe (001 §5, Gaussian inputs in `dim` dimensions), or
    mnist, fashion, cifar10 (local files under `data_root`; parity labels: two groups of five classes)."""
    data_root: str | None = None
    """Folder with the local data files (default $JAMSCOPE_DATA)."""
    n_train: int = 256
    """Training-set size P."""
    n_test: int = 500
    """Test-set size."""
    pca_dim: int | None = 10
    """PCA components of the images (001 Fig. 4 uses MNIST-10PCA; 'none': all pixels)."""
    dim: int = 5
    """Input dimension of the stripe data."""
    depth: int = 2
    """Hidden layers L."""
    widths: tuple[int, ...] = (16, 48, 128)
    """Widths h of the (h, α√h) grid, comma-separated."""
    scaled_scales: tuple[float, ...] = (1e-2, 1e-1, 1.0, 3.0, 10.0, 30.0, 1e2, 1e3)
    """Values of α√h, comma-separated."""
    fluctuation_widths: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128)
    """Widths of the fluctuation sweep at fixed α (004)."""
    fluctuation_scale: float = 1.0
    """Α of the fluctuation sweep."""
    seeds: int = 6
    """Networks per point (the ensemble), trained vmapped."""
    steps: int = 20_000
    """Gradient-flow step budget per run."""
    softplus_beta: float = 5.0
    """β of the normalized softplus σ = a sp_β (thesis ch. 3 eq. 10)."""
    sharpness: float = 20.0
    """β of the soft hinge sp_β(1 − yF) (thesis ch. 3 eq. 7)."""
    kernel_points: int = 100
    """Test inputs on which the NTK change is measured."""
    seed: int = 0
    """PRNG seed of data and initialisations."""

    def __post_init__(self):
        for name in ("widths", "fluctuation_widths"):
            check_positive_values(name, getattr(self, name), integer=True)
        check_positive_values("scaled_scales", self.scaled_scales, integer=False)
        for name in ("n_train", "n_test", "dim", "depth", "steps", "kernel_points"):
            check_int_at_least(name, getattr(self, name), 1)
        check_int_at_least("seeds", self.seeds, 2)
        for name in ("fluctuation_scale", "softplus_beta", "sharpness"):
            check_positive(name, getattr(self, name))
        if self.data == "digits":
            check_in_range("n_train + n_test", self.n_train + self.n_test, 2, 1797)
        if self.pca_dim is not None:
            check_int_at_least("pca_dim", self.pca_dim, 1)


QUICK = RegimesConfig()
"""The defaults: digits parity, 10 PCA, P = 256, L = 2, h ∈ {16, 48, 128}, α√h ∈ [10⁻², 10³], 6 seeds
(about 5 minutes on 2 cores)."""


PAPER = RegimesConfig(
    data="mnist",
    n_train=5000,
    n_test=10_000,
    widths=(32, 100, 300, 1000),
    scaled_scales=tuple(float(v) for v in np.logspace(-4, 4, 17)),
    fluctuation_widths=(4, 6, 8, 12, 16, 24, 32, 48, 64, 100, 150, 200, 300, 500, 1000),
    seeds=15,
    steps=2_000_000,
    kernel_points=1000,
)
"""001 Fig. 4's set-up (MNIST-10PCA parity, 2 hidden layers, P = 5000, 15 nets) for a GPU; reads the
IDX files from `data_root` or ``$JAMSCOPE_DATA``."""


def plan(config: RegimesConfig) -> list[tuple[Kind, int, float]]:
    """Every (kind, width, α) of the sweep: the regimes grid, the fluctuation widths, and one
    linearized reference per width of the regimes grid (α = 1: its dynamics does not depend on α)."""
    points: list[tuple[Kind, int, float]] = []
    for h in config.widths:
        points += [("network", h, s / math.sqrt(h)) for s in config.scaled_scales]
    points += [("network", h, config.fluctuation_scale) for h in config.fluctuation_widths]
    points += [("linearized", h, 1.0) for h in config.widths]
    unique: list[tuple[Kind, int, float]] = []
    for point in points:
        if not any(_same_point(point, other) for other in unique):
            unique.append(point)
    return unique


def _same_point(a: tuple[Kind, int, float], b: tuple[Kind, int, float]) -> bool:
    return a[0] == b[0] and a[1] == b[1] and math.isclose(a[2], b[2], rel_tol=1e-9)


@typechecked
def load_data(config: RegimesConfig, key: PRNGKeyArray) -> Dataset:
    """The training and test sets of the sweep (parity labels ±1 for the image data sets)."""
    p, q = config.n_train, config.n_test
    if config.data == "stripe":
        return stripe(key, p, config.dim, n_test=q)
    if config.data == "digits":
        return digits(key, n_train=p, n_test=q, pca_dim=config.pca_dim)
    if config.data == "cifar10":
        return cifar10(config.data_root, n_train=p, n_test=q, grayscale=True, key=key)
    return mnist(config.data_root, kind=config.data, n_train=p, n_test=q, pca_dim=config.pca_dim, key=key)


def _run_point(
    config: RegimesConfig, kind: Kind, width: int, alpha: float, data: Dataset, key: PRNGKeyArray, mesh
) -> xr.Dataset:
    keys = jax.random.split(jax.random.fold_in(key, width), config.seeds)
    dim = data.x.shape[1]

    def make(k):
        net = FCNet(k, dim, width, config.depth, "softplus", softplus_beta=config.softplus_beta)
        model = Centered(net, alpha)
        return linearize(model) if kind == "linearized" else model

    initial = ensemble(make, keys)
    models, history = gradient_flow(
        initial, SoftHinge(config.sharpness), data, steps=config.steps, ensemble=True, mesh=mesh,
        progress=False,
    )  # fmt: skip
    f_test = ensemble_outputs(models, data.x_test)
    f_train = ensemble_outputs(models, data.x)
    x_kernel = data.x_test[: config.kernel_points]
    if kind == "network":
        changes = eqx.filter_vmap(lambda m, m0: kernel_change(m, m0, x_kernel))(models, initial)
    else:
        changes = jnp.full(config.seeds, jnp.nan)
    per_run = {
        "test_error": error_rate(f_test, data.y_test),
        "train_error": error_rate(f_train, data.y),
        "fitted": history.fitted,
        "steps": history.step[:, -1],
        "time": history.time[:, -1],
        "loss": history.loss[:, -1],
        "kernel_change": changes,
        "weight_change": eqx.filter_vmap(relative_weight_change)(models, initial),
    }
    variables = {name: (("point", "seed"), np.asarray(v, dtype=float)[None]) for name, v in per_run.items()}
    variables["outputs"] = (("point", "seed", "test"), np.asarray(f_test, dtype=float)[None])
    n = n_params(make(keys[0]))
    coords = {
        "kind": ("point", [kind]), "width": ("point", [width]), "alpha": ("point", [alpha]),
        "scaled_alpha": ("point", [alpha * math.sqrt(width)]), "n_params": ("point", [n]),
        "seed": np.arange(config.seeds),
    }  # fmt: skip
    return xr.Dataset(variables, coords=coords)


@typechecked
def regimes_grid(stats: xr.Dataset, config: RegimesConfig) -> xr.Dataset:
    """The network points of the regimes grid of [`ensemble_statistics`][jamscope.regimes.ensemble_statistics]
    as dims (width, scaled_alpha)."""
    rows = []
    for h in config.widths:
        sel = stats.where((stats["kind"] == "network") & (stats["width"] == h), drop=True)
        target = np.array(config.scaled_scales)
        index = [int(np.argmin(np.abs(np.log(sel["scaled_alpha"].values / s)))) for s in target]
        picked = sel.isel(point=index).reset_coords(drop=True).rename_dims(point="scaled_alpha")
        rows.append(picked.assign_coords(scaled_alpha=target))
    return xr.concat(rows, dim=xr.DataArray(list(config.widths), dims="width", name="width"))


@dataclasses.dataclass(frozen=True)
class Crossover:
    """Where the kernel change crosses `level` (1 by default) for each width: α* and α*√h."""

    widths: tuple[int, ...]
    alpha_star: tuple[float, ...]
    scaled_alpha_star: tuple[float, ...]
    level: float


@typechecked
def crossover(stats: xr.Dataset, config: RegimesConfig, level: float = 1.0) -> Crossover:
    """α* per width: ‖Θ_t − Θ_0‖/‖Θ_0‖ = `level`, interpolated linearly in log–log between the two
    grid points around it (thesis ch. 3 Fig. 5a; 001 Fig. 4's solid line). The theory predicts
    α* ∼ h^(−1/2), i.e. the same α*√h for every width. NaN where the curve does not cross."""
    grid = regimes_grid(stats, config)
    alpha_star, scaled_star = [], []
    for h in config.widths:
        curve = grid["kernel_change"].sel(width=h)
        s, c = np.log(curve["scaled_alpha"].values), np.log(curve.values)
        crossing = np.flatnonzero((c[:-1] - math.log(level)) * (c[1:] - math.log(level)) <= 0)
        if crossing.size == 0:
            alpha_star.append(float("nan"))
            scaled_star.append(float("nan"))
            continue
        i = int(crossing[-1])
        t = (math.log(level) - c[i]) / (c[i + 1] - c[i]) if c[i + 1] != c[i] else 0.0
        scaled = float(np.exp(s[i] + t * (s[i + 1] - s[i])))
        scaled_star.append(scaled)
        alpha_star.append(scaled / math.sqrt(h))
    return Crossover(tuple(config.widths), tuple(alpha_star), tuple(scaled_star), level)


@typechecked
def kernel_change_slope(stats: xr.Dataset, config: RegimesConfig, low: float = 10.0) -> ScalingFit:
    """Slope of log ‖ΔΘ‖/‖Θ_0‖ against log α√h over all widths for α√h ≥ `low` (lazy regime;
    thesis ch. 3 §6 predicts −1: ‖ΔΘ‖/‖Θ_0‖ ∼ (α√h)^(−1))."""
    grid = regimes_grid(stats, config)
    scaled = np.broadcast_to(grid["scaled_alpha"].values, grid["kernel_change"].shape)
    return scaling_fit(scaled.ravel().astype(float), grid["kernel_change"].values.ravel(), low=low)


@dataclasses.dataclass(frozen=True)
class FluctuationFits:
    """The width sweep at fixed α (004): N*, and fits above it.

    - `n_star`: the smallest N of the sweep at which at least half of the seeds fitted, with every
      larger N fitting too (004 §6: the jamming point of the training time used): the bracket of
      [`jamming_bracket`][jamscope.jamming.jamming_bracket] on P/N.
    - `fluctuation`: ‖F − F̄‖ ∼ N^a for N ≥ `min_ratio` · N* (004 eq. 9 predicts a = −1/4).
    - `error`, `ensemble_error`: ε(N) = ε∞ + B N^(−1/2) for single nets and for the ensemble
      (004 eq. 13), on the same window.
    """

    n_star: float
    fluctuation: ScalingFit
    error: ScalingFit
    ensemble_error: ScalingFit


@typechecked
def width_sweep(stats: xr.Dataset, config: RegimesConfig) -> xr.Dataset:
    """The network points of the fluctuation width sweep (α = `fluctuation_scale`), sorted by N."""
    mask = (stats["kind"] == "network") & np.isin(stats["width"], config.fluctuation_widths)
    mask = mask & np.isclose(stats["alpha"], config.fluctuation_scale)
    sel = stats.isel(point=np.flatnonzero(mask.values))
    return sel.isel(point=np.argsort(sel["n_params"].values))


@typechecked
def fluctuation_fits(stats: xr.Dataset, config: RegimesConfig, min_ratio: float = 2.0) -> FluctuationFits:
    """N* of the width sweep and the fits of 004 above it, as a
    [`FluctuationFits`][jamscope.experiments.regimes.FluctuationFits]."""
    sweep = width_sweep(stats, config)
    n = sweep["n_params"].values.astype(float)
    # the bracket rule of jamming.jamming_bracket on P/N, with "not fitted by half the nets within the
    # step budget" on the jammed side (004 §6: the jamming point of the training time used)
    codes = np.where(sweep["fitted"].values >= 0.5, FITTED, JAMMED)
    if np.all(codes == FITTED):
        n_star = float(n[0])  # every width fits: N* is at most the smallest
    else:
        ratio = config.n_train / n
        ratio_fitted, _ = jamming_bracket(ratio, codes)
        if not math.isfinite(ratio_fitted):
            raise ValueError("the largest widths of the sweep do not fit: no N* below them")
        n_star = float(n[ratio == ratio_fitted][0])  # the width whose P/N is the bracket's end
    low = min_ratio * n_star
    return FluctuationFits(
        n_star,
        scaling_fit(n, sweep["fluctuation"].values, low=low),
        offset_fit(n, sweep["test_error"].values, low=low),
        offset_fit(n, sweep["ensemble_error"].values, low=low),
    )


@typechecked
def summarize_regimes(results: xr.Dataset, config: RegimesConfig) -> str:
    """The numbers of thesis ch. 3 and 004 measured on a regimes sweep, next to the predictions:
    the crossover α*√h (kernel change = 1) per width, the lazy slope of the kernel change, the test
    errors of the feature and lazy ends and of the ensembles, N*, the fluctuation exponent and the
    fits ε∞ + B N^(−1/2)."""
    stats = ensemble_statistics(results)
    return _regimes_summary(stats, config, _fluctuation_fits_or_reason(stats, config))


def _fluctuation_fits_or_reason(stats: xr.Dataset, config: RegimesConfig) -> FluctuationFits | str:
    try:
        return fluctuation_fits(stats, config)
    except ValueError as err:
        return f"fluctuations not fitted: {err}"


def _regimes_summary(stats: xr.Dataset, config: RegimesConfig, fits: FluctuationFits | str) -> str:
    cross = crossover(stats, config)
    lines = ["lazy/feature crossover, ‖Θ_t − Θ_0‖/‖Θ_0‖ = 1 (thesis ch. 3: α* ∼ h^(−1/2), α*√h = O(1)):"]
    for h, a, s in zip(cross.widths, cross.alpha_star, cross.scaled_alpha_star, strict=True):
        lines.append(f"  h = {h}: α* = {a:.3g}, α*√h = {s:.3g}")
    fit = _alpha_star_fit(cross)
    if fit is not None:
        lines.append(f"  α* ∝ h^{fit.exponent:.2f} (prediction −0.5)")
    try:
        slope = kernel_change_slope(stats, config)
        lines.append(
            f"kernel change for α√h ≥ {slope.low:g}: slope {slope.exponent:.2f} ± {slope.stderr:.2f} "
            f"over {slope.n_used} points (prediction −1)"
        )
    except ValueError as err:
        lines.append(f"kernel change slope not fitted: {err}")
    grid = regimes_grid(stats, config)
    lazy_ref = stats.isel(point=np.flatnonzero(stats["kind"].values == "linearized"))
    lines.append("test error, single nets / ensemble (feature: smallest α√h, lazy: largest; frozen NTK):")
    for h in config.widths:
        row = grid.sel(width=h)
        ntk = lazy_ref["test_error"].values[lazy_ref["width"].values == h]
        lines.append(
            f"  h = {h}: feature {float(row['test_error'][0]):.3f} / {float(row['ensemble_error'][0]):.3f}, "
            f"lazy {float(row['test_error'][-1]):.3f} / {float(row['ensemble_error'][-1]):.3f}, "
            f"frozen NTK {float(ntk[0]) if ntk.size else math.nan:.3f}"
        )
    gain = float((grid["test_error"] - grid["ensemble_error"]).mean())
    lines.append(f"  ensemble gain ε − ε̄, mean over the grid: {gain:.4f}")
    lines += _fluctuation_lines(fits, config)
    return report_text(lines)


def _fluctuation_lines(fits: FluctuationFits | str, config: RegimesConfig) -> list[str]:
    if isinstance(fits, str):
        return [fits]
    f, e, eb = fits.fluctuation, fits.error, fits.ensemble_error
    return [
        f"width sweep at α = {config.fluctuation_scale:g} (004): N* ≈ {fits.n_star:.0f}",
        f"  ‖F − F̄‖ ∝ N^({f.exponent:.3f} ± {f.stderr:.3f}) for N ≥ {f.low:.0f}, {f.n_used} widths "
        "(004 eq. 9: −1/4)",
        f"  ε(N) = {e.offset:.4f} + {e.prefactor:.3g} N^(−1/2); "
        f"ε̄(N) = {eb.offset:.4f} + {eb.prefactor:.3g} N^(−1/2) (004 eq. 13)",
    ]


def _figures(stats: xr.Dataset, config: RegimesConfig, fits: FluctuationFits | str, out: Path) -> list[Path]:
    """Draw ``regimes.png`` (thesis ch. 3 Figs. 3–5, 001 Fig. 4) and, when the fluctuations were
    fitted, ``fluctuations.png`` (004 Figs. 2, 5, 7) into `out`."""
    written = [out / "regimes.png"]
    regimes_figure(stats, config).savefig(written[-1], dpi=120)
    if not isinstance(fits, str):
        written.append(out / "fluctuations.png")
        fluctuations_figure(stats, config, fits).savefig(written[-1], dpi=120)
    return written


def _linearized_errors(stats: xr.Dataset) -> dict[int, float]:
    lin = stats.isel(point=np.flatnonzero(stats["kind"].values == "linearized"))
    return {int(h): float(e) for h, e in zip(lin["width"].values, lin["test_error"].values, strict=True)}


@typechecked
def regimes_figure(stats: xr.Dataset, config: RegimesConfig) -> Figure:
    """Lazy vs feature learning from [`ensemble_statistics`][jamscope.regimes.ensemble_statistics]:
    (a) test error of single nets (solid, ± s.e.m.) and of the ensemble (dashed) against α√h per
    width, the frozen-NTK (linearized) error as dotted lines (thesis ch. 3 Figs. 3d, 4c);
    (b) ‖Θ_t − Θ_0‖/‖Θ_0‖ against α√h with the lazy prediction ∝ (α√h)^(−1) (Fig. 5a);
    (c) h · Var F against α√h (Fig. 4b); (d) the (h, α√h) phase diagram of the ensemble test error
    with the contour ‖ΔΘ‖/‖Θ_0‖ = 1 (001 Fig. 4)."""
    grid = regimes_grid(stats, config)
    s = grid["scaled_alpha"].values
    lazy = _linearized_errors(stats)
    fig, (a, b, c, d) = panels(4)
    for i, h in enumerate(config.widths):
        row, color = grid.sel(width=h), f"C{i}"
        err, sem = row["test_error"].values, row["test_error_sem"].values
        a.semilogx(s, err, "o-", color=color, label=f"h = {h}")
        a.fill_between(s, err - sem, err + sem, color=color, alpha=0.15)
        a.semilogx(s, row["ensemble_error"].values, "s--", color=color, mfc="none")
        if h in lazy:
            a.axhline(lazy[h], color=color, ls=":", lw=1)
        b.loglog(s, row["kernel_change"].values, "o-", color=color, label=f"h = {h}")
        c.loglog(s, h * row["variance"].values, "o-", color=color, label=f"h = {h}")
    a.set(xlabel=r"$\alpha\sqrt{h}$", ylabel="test error", title="(a) single (—), ensemble (- -), NTK (···)")
    legend(a, fontsize=8)
    ref = s[s >= 10]
    if ref.size:
        level = float(np.nanmean(grid["kernel_change"].sel(scaled_alpha=ref[0]).values))
        b.loglog(ref, level * ref[0] / ref, "k--", lw=1, label=r"$\propto (\alpha\sqrt{h})^{-1}$")
    b.axhline(1.0, color="gray", lw=0.8)
    b.set(
        xlabel=r"$\alpha\sqrt{h}$",
        ylabel=r"$\|\Theta_t - \Theta_0\| / \|\Theta_0\|$",
        title="(b) kernel change",
    )
    legend(b, fontsize=8)
    c.set(xlabel=r"$\alpha\sqrt{h}$", ylabel=r"$h \, \mathrm{Var}\, F$", title="(c) output variance")
    legend(c, fontsize=8)
    widths = np.asarray(config.widths, dtype=float)
    mesh = d.pcolormesh(widths, s, grid["ensemble_error"].values.T, shading="nearest", cmap="viridis")
    if widths.size > 1:
        d.contour(widths, s, grid["kernel_change"].values.T, levels=[1.0], colors="w", linewidths=1.5)
    fig.colorbar(mesh, ax=d, label="ensemble test error")
    d.set(xscale="log", yscale="log", xticks=widths, xticklabels=[str(int(h)) for h in widths])
    d.xaxis.set_minor_formatter(NullFormatter())
    d.set(xlabel="width h", ylabel=r"$\alpha\sqrt{h}$",
          title=r"(d) phase diagram, $\|\Delta\Theta\|/\|\Theta_0\| = 1$ (white)")  # fmt: skip
    return fig


@typechecked
def fluctuations_figure(stats: xr.Dataset, config: RegimesConfig, fits: FluctuationFits) -> Figure:
    """Output fluctuations and ensembling against the number of parameters N (004 Figs. 2, 5, 7):
    (a) test error of single nets ε(N) and of the ensemble ε̄(N) with the fits ε∞ + B N^(−1/2);
    (b) ‖F − F̄‖ with the fitted exponent and the predicted N^(−1/4); (c) the output norm ‖F‖,
    which grows approaching N* from above. The vertical line marks N*."""
    sweep = width_sweep(stats, config)
    n = sweep["n_params"].values.astype(float)
    fig, (a, b, c) = panels(3)
    above = np.geomspace(fits.error.low, n.max(), 50)
    a.semilogx(n, sweep["test_error"].values, "o-", label=r"single nets $\epsilon$")
    a.semilogx(n, sweep["ensemble_error"].values, "s-", label=r"ensemble $\bar\epsilon$")
    for fit, color in ((fits.error, "C0"), (fits.ensemble_error, "C1")):
        a.semilogx(above, fit.offset + fit.prefactor * above**fit.exponent, "--", color=color, lw=1,
                   label=rf"${fit.offset:.3f} + {fit.prefactor:.2g}\,N^{{-1/2}}$")  # fmt: skip
    a.set(xlabel="N", ylabel="test error", title=r"(a) $\epsilon(N)$ and $\bar\epsilon(N)$")
    legend(a, fontsize=8)
    b.loglog(n, sweep["fluctuation"].values, "o-", label=r"$\|F - \bar F\|$")
    f = fits.fluctuation
    b.loglog(above, f.prefactor * above**f.exponent, "k--", lw=1, label=rf"fit $N^{{{f.exponent:.2f}}}$")
    anchor = f.prefactor * above[0] ** f.exponent
    b.loglog(above, anchor * (above / above[0]) ** -0.25, ":", color="gray", label=r"$N^{-1/4}$ (004)")
    b.set(xlabel="N", ylabel=r"$\|F - \bar F\|$", title="(b) output fluctuations")
    legend(b, fontsize=8)
    c.loglog(n, sweep["output_norm"].values, "o-")
    c.set(xlabel="N", ylabel=r"$\|F\|$", title=r"(c) output norm")
    for ax in (a, b, c):
        ax.axvline(fits.n_star, color="gray", ls="--", lw=0.8)
    return fig


def _alpha_star_fit(cross: Crossover) -> ScalingFit | None:
    """α* ∝ h^a over the widths where the kernel change crosses 1 (None below two widths)."""
    finite = np.isfinite(cross.alpha_star)
    if finite.sum() < 2:
        return None
    return scaling_fit(np.asarray(cross.widths, dtype=float)[finite], np.asarray(cross.alpha_star)[finite])


def _fit_interval(fit: ScalingFit) -> tuple[float, float]:
    return fit.exponent - 2 * fit.stderr, fit.exponent + 2 * fit.stderr


@typechecked
def regimes_targets(results: xr.Dataset, config: RegimesConfig) -> list[Target]:
    """The predictions of thesis ch. 3 and 004 checked on a sweep: α* ∝ h^(−1/2) with α*√h = O(1)
    (taken as [0.1, 10]), the lazy kernel change ∝ (α√h)^(−1), and ‖F − F̄‖ ∝ N^(−1/4); the
    intervals are ± 2 standard errors of the fits."""
    stats = ensemble_statistics(results)
    widths = ", ".join(map(str, config.widths))
    size = f"{config.data}, P = {config.n_train}, h ∈ {{{widths}}}, {config.seeds} nets"
    cross = crossover(stats, config)
    finite = np.isfinite(cross.alpha_star)
    slope = _alpha_star_fit(cross)
    scaled = float(np.median(np.asarray(cross.scaled_alpha_star)[finite])) if finite.any() else None
    interval = None if slope is None or slope.n_used < 3 else _fit_interval(slope)
    targets = [
        compare("regimes", "exponent of α*(h), kernel change = 1", "thesis ch. 3 §6", -0.5,
                None if slope is None else slope.exponent, tolerance=0.15, interval=interval, size=size),
        compare("regimes", "α*√h (median over widths)", "thesis ch. 3 §6, O(1)", (0.1, 10.0), scaled,
                tolerance=0.0, size=size),
    ]  # fmt: skip
    name, source = "lazy slope of ‖ΔΘ‖/‖Θ₀‖ against α√h", "thesis ch. 3 §6"
    try:
        lazy = kernel_change_slope(stats, config)
        targets.append(compare("regimes", name, source, -1.0, lazy.exponent, tolerance=0.15,
                               interval=_fit_interval(lazy), size=size))  # fmt: skip
    except ValueError as err:
        targets.append(compare("regimes", name, source, -1.0, None, tolerance=0.15, size=size, note=str(err)))
    fits = _fluctuation_fits_or_reason(stats, config)
    low, high = min(config.fluctuation_widths), max(config.fluctuation_widths)
    size = f"{config.data}, P = {config.n_train}, h ∈ [{low}, {high}], {config.seeds} nets"
    name, source = "fluctuation exponent a, ‖F − F̄‖ ∝ N^a", "004 eq. 9"
    if isinstance(fits, str):
        targets.append(compare("regimes", name, source, -0.25, None, tolerance=0.1, size=size, note=fits))
    else:
        f = fits.fluctuation
        targets.append(compare("regimes", name, source, -0.25, f.exponent, tolerance=0.1,
                               interval=_fit_interval(f), size=f"{size}, N ≥ {f.low:.0f}"))  # fmt: skip
    return targets


SMOKE = RegimesConfig(
    n_train=30, n_test=20, widths=(4,), scaled_scales=(0.1, 10.0), fluctuation_widths=(2, 4), seeds=2,
    steps=200, kernel_points=10,
)  # fmt: skip
"""Seconds long, for the tests: P = 30, h = 4, two values of α√h, 2 nets, 200 steps."""


@final
class RegimesExperiment(Experiment):
    """``jamscope regimes``: lazy vs feature learning, the NTK change, fluctuations and ensembles."""

    name = "regimes"
    title = "lazy vs feature learning, the NTK change, fluctuations and ensembles (thesis ch. 3, 001, 004)"
    description = (
        "Train centered softplus nets by gradient flow over (h, α√h) and over widths at fixed α; write "
        "regimes.nc, regimes.png (thesis ch. 3 Figs. 3–5, 001 Fig. 4) and fluctuations.png "
        "(004 Figs. 2, 5, 7) to --out."
    )
    config_type = RegimesConfig
    presets = {"quick": QUICK, "paper": PAPER, "smoke": SMOKE}
    preset_help = {
        "quick": "digits parity, P = 256, h ∈ {16, 48, 128}, 6 nets (minutes on 2 cores)",
        "paper": "001 Fig. 4's sizes (MNIST-10PCA, P = 5000, 15 nets; GPU, local MNIST files)",
        "smoke": "seconds, for the tests",
    }

    def points(self, config: RegimesConfig) -> list[dict]:
        return [{"kind": k, "width": h, "alpha": a} for k, h, a in plan(config)]

    def prepare(self, config: RegimesConfig, point: dict) -> Dataset:
        data_key, _ = jax.random.split(jax.random.PRNGKey(config.seed))
        return load_data(config, data_key)

    def compute(self, config: RegimesConfig, point: dict, prepared: Dataset, mesh: Mesh | None) -> xr.Dataset:
        _, init_key = jax.random.split(jax.random.PRNGKey(config.seed))
        results = _run_point(config, point["kind"], point["width"], point["alpha"], prepared, init_key, mesh)
        return results.assign(y_test=("test", np.asarray(prepared.y_test, dtype=float)))

    def assemble(self, config: RegimesConfig, pieces: list[xr.Dataset], points: list[dict]) -> dict:
        return {"regimes": concat_points(pieces, "point")}

    def report(self, config: RegimesConfig, results: dict, out: Path) -> tuple[str, list[Path]]:
        stats = ensemble_statistics(results["regimes"])
        fits = _fluctuation_fits_or_reason(stats, config)
        return _regimes_summary(stats, config, fits), _figures(stats, config, fits, out)

    def targets(self, config: RegimesConfig, results: dict) -> list[Target]:
        return regimes_targets(results["regimes"], config)


EXPERIMENT = RegimesExperiment()
"""The regimes experiment (``jamscope regimes``)."""
