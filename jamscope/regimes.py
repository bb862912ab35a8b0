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
([`jamscope.ntk.Linearized`][jamscope.ntk.Linearized]) trained the same way: the frozen-NTK
(lazy, α√h → ∞) reference of thesis ch. 3 Fig. 3b. Every point is a vmapped ensemble of `seeds`
independent initializations (the same ones for every α at a width).

Per run: test and train error, whether it fitted, steps and time t = Σ dt, the kernel change
‖Θ_t − Θ_0‖/‖Θ_0‖ on `kernel_points` test inputs, the relative weight change ‖w − w₀‖/‖w₀‖, and the
test outputs F(x) from which [`ensemble_statistics`][jamscope.regimes.ensemble_statistics] computes the
ensemble predictor F̄ = mean over seeds (thesis ch. 3 eq. 15), its test error ε̄, the variance Var F
(eq. 16) and the fluctuation ‖F − F̄‖ (004 eq. 9).
"""

import dataclasses
import json
import math
from pathlib import Path
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import Mesh
from tqdm.auto import tqdm

from ._checks import check_in_range, check_int_at_least, check_positive, check_positive_values
from .data import Dataset, cifar10, digits, mnist, stripe
from .fits import ScalingFit, offset_fit, scaling_fit
from .io import load_sweep, save_netcdf
from .losses import SoftHinge
from .nets import Centered, FCNet, ensemble, ensemble_outputs, flat_params, n_params
from .ntk import kernel_change, linearize
from .train import gradient_flow
from .typing import PRNGKeyArray, typechecked

__all__ = [
    "RegimesConfig",
    "QUICK",
    "PAPER",
    "plan",
    "load_data",
    "run_regimes",
    "ensemble_statistics",
    "regimes_grid",
    "width_sweep",
    "Crossover",
    "crossover",
    "kernel_change_slope",
    "FluctuationFits",
    "fluctuation_fits",
]

Kind = Literal["network", "linearized"]


@dataclasses.dataclass(frozen=True)
class RegimesConfig:
    """Every choice of the regimes sweep; stored in the results file and checked when resuming.

    - `data`: ``"digits"`` (scikit-learn's digits, parity labels), ``"stripe"`` (001 §5, Gaussian
      inputs in `dim` dimensions), or ``"mnist"``, ``"fashion"``, ``"cifar10"`` (local files under
      `data_root`, default ``$JAMSCOPE_DATA``; parity labels: two groups of five classes).
      `pca_dim`: PCA of the images (001 Fig. 4 uses MNIST-10PCA; None keeps all pixels).
      `n_train`, `n_test`: P and the test-set size.
    - `depth`: hidden layers L. `widths`: the h of the regimes grid. `scaled_scales`: the α√h grid.
    - `fluctuation_widths`, `fluctuation_scale`: the width sweep at fixed α (004).
    - `seeds`: networks per point. `steps`: gradient-flow step budget. `softplus_beta`: β of σ;
      `sharpness`: β of the soft hinge. `kernel_points`: test inputs on which Θ is measured.
    - `seed`: the PRNG seed of data and initializations.
    """

    data: Literal["digits", "stripe", "mnist", "fashion", "cifar10"] = "digits"
    data_root: str | None = None
    n_train: int = 256
    n_test: int = 500
    pca_dim: int | None = 10
    dim: int = 5
    depth: int = 2
    widths: tuple[int, ...] = (16, 48, 128)
    scaled_scales: tuple[float, ...] = (1e-2, 1e-1, 1.0, 3.0, 10.0, 30.0, 1e2, 1e3)
    fluctuation_widths: tuple[int, ...] = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128)
    fluctuation_scale: float = 1.0
    seeds: int = 6
    steps: int = 20_000
    softplus_beta: float = 5.0
    sharpness: float = 20.0
    kernel_points: int = 100
    seed: int = 0

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

    def to_attrs(self) -> dict:
        return {"config": json.dumps(dataclasses.asdict(self), sort_keys=True)}


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


def _relative_weight_change(model_t, model_0) -> jax.Array:
    w_t, w_0 = flat_params(model_t), flat_params(model_0)
    return jnp.linalg.norm(w_t - w_0) / jnp.linalg.norm(w_0)


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
        "test_error": jnp.mean(f_test * data.y_test[None] <= 0, axis=1),
        "train_error": jnp.mean(f_train * data.y[None] <= 0, axis=1),
        "fitted": history.fitted,
        "steps": history.step[:, -1],
        "time": history.time[:, -1],
        "loss": history.loss[:, -1],
        "kernel_change": changes,
        "weight_change": eqx.filter_vmap(_relative_weight_change)(models, initial),
    }
    variables = {name: (("point", "seed"), np.asarray(v, dtype=float)[None]) for name, v in per_run.items()}
    variables["outputs"] = (("point", "seed", "test"), np.asarray(f_test, dtype=float)[None])
    n = n_params(make(keys[0]))
    coords = {
        "kind": ("point", [kind]), "width": ("point", [width]), "alpha": ("point", [alpha]),
        "scaled_alpha": ("point", [alpha * math.sqrt(width)]), "n_params": ("point", [n]),
        "wall_time": ("point", [float(history.wall_time[-1])]), "seed": np.arange(config.seeds),
    }  # fmt: skip
    return xr.Dataset(variables, coords=coords)


def _done(results: xr.Dataset | None) -> list[tuple[Kind, int, float]]:
    if results is None:
        return []
    columns = (results[name].values.tolist() for name in ("kind", "width", "alpha"))
    return [(str(k), int(h), float(a)) for k, h, a in zip(*columns, strict=True)]


@typechecked
def run_regimes(
    config: RegimesConfig, path: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> xr.Dataset:
    """Run (or resume) the sweep, saving every finished point to the netCDF file `path`.

    The file is rewritten atomically after each point; points already in it are skipped.
    Returns the results with dims (point, seed, test) and the test labels `y_test`.
    `mesh`: split each point's seed ensemble over these devices
    ([`jamscope.ensemble`][jamscope.ensemble]; None: vmap on one device).
    """
    results = load_sweep(path, config.to_attrs()["config"])
    done = _done(results)
    todo = [p for p in plan(config) if not any(_same_point(p, d) for d in done)]
    data_key, init_key = jax.random.split(jax.random.PRNGKey(config.seed))
    data = load_data(config, data_key) if todo or results is None else None
    for kind, width, alpha in tqdm(todo, desc="regimes sweep", disable=not progress):
        point = _run_point(config, kind, width, alpha, data, init_key, mesh)
        point["y_test"] = ("test", np.asarray(data.y_test, dtype=float))
        merged = point if results is None else xr.concat([results, point], dim="point", data_vars="minimal")
        results = merged.assign_attrs(
            config.to_attrs() | {"experiment": "lazy vs feature regimes (thesis ch. 3, 001, 004)"}
        )
        save_netcdf(results, path)
    if results is None:
        raise ValueError("the sweep plan is empty")
    return results


# ----------------------------------------------------------------------------------------------
# Analysis


@typechecked
def ensemble_statistics(results: xr.Dataset) -> xr.Dataset:
    """Per point, the seed averages and the ensemble quantities (thesis ch. 3 eqs. 15–16; 004 eq. 9).

    - `test_error` (mean over seeds) and `test_error_sem`; `ensemble_error`: ε̄, the test error of
      the ensemble predictor F̄ = (1/K) Σ_i F_i (its sign).
    - `variance`: Var F = (K/(K−1)) ⟨(F_i(x) − F̄(x))²⟩ over test points and members (the factor
      removes the bias of estimating F̄ from the same K nets); `fluctuation`: √Var F, an estimate
      of ‖F − F̄‖ with ‖g‖² = ⟨g(x)²⟩_test (004 eq. 9).
    - `output_norm`: ‖F‖ = √⟨F(x)²⟩_test averaged over seeds (004 Fig. 7; thesis ch. 3 eq. 31).
    - `kernel_change`, `weight_change`, `time`, `steps`: seed means; `fitted`: fraction of seeds
      that satisfied every margin.
    """
    outputs, y = results["outputs"], results["y_test"]
    k = results.sizes["seed"]
    mean_output = outputs.mean("seed")
    variance = ((outputs - mean_output) ** 2).mean(("seed", "test")) * k / (k - 1)
    stats = {
        "test_error": results["test_error"].mean("seed"),
        "test_error_sem": results["test_error"].std("seed", ddof=1) / math.sqrt(k),
        "ensemble_error": (mean_output * y <= 0).mean("test").astype(float),
        "variance": variance,
        "fluctuation": np.sqrt(variance),
        "output_norm": np.sqrt((outputs**2).mean("test")).mean("seed"),
    }
    for name in ("kernel_change", "weight_change", "time", "steps", "fitted", "train_error"):
        stats[name] = results[name].mean("seed")
    return xr.Dataset(stats).drop_vars("seed", errors="ignore")


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
      larger N fitting too (004 §6: the jamming point of the training time used).
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
    [`FluctuationFits`][jamscope.regimes.FluctuationFits]."""
    sweep = width_sweep(stats, config)
    n = sweep["n_params"].values.astype(float)
    fits = sweep["fitted"].values >= 0.5
    jammed = np.flatnonzero(~fits)
    n_star = float(n[jammed[-1] + 1]) if jammed.size and jammed[-1] + 1 < n.size else float(n[0])
    low = min_ratio * n_star
    return FluctuationFits(
        n_star,
        scaling_fit(n, sweep["fluctuation"].values, low=low),
        offset_fit(n, sweep["test_error"].values, low=low),
        offset_fit(n, sweep["ensemble_error"].values, low=low),
    )
