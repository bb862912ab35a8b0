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
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import Mesh
from tqdm.auto import tqdm

from ._checks import check_int_at_least, check_positive, check_positive_values
from .aging import (
    AgingFit,
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
from .data import Dataset, digits, mnist, ring_mixture
from .io import load_sweep, save_netcdf
from .losses import SoftmaxCrossEntropy, mean_loss
from .nets import MLP, ensemble, mlp_n_params, width_for_params
from .train import log_spaced_steps, sgd
from .typing import PRNGKeyArray, typechecked

__all__ = ["Problem", "PROBLEMS", "AgingConfig", "QUICK", "PAPER", "load_problem", "run_aging",
           "relaxation_times", "aging_fits", "collapse_exponents", "gradient_rms"]  # fmt: skip

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
    """Every choice of the aging experiment; stored in the results files, checked on resume.

    - `data`: data sets among ``synthetic``, ``digits``, ``mnist`` (`data_root`: local MNIST files).
    - `depths`: hidden layers H; `runs`: networks per depth, trained vmapped.
    - `n_params`, `steps`, `batch_size`, `n_train`: None takes each data set's
      [`Problem`][jamscope.aging_sweep.Problem].
    - `lr`, `weight_decay` (λ of eq. 1), `init`: SGD and the initialization (003: 0.05, 10⁻⁴, Xavier uniform).
    - `n_waiting`, `n_lags`, `first_waiting`: the [`aging_grid`][jamscope.aging.aging_grid].
    - `delta_star`: Δ* of t*; `fit_low`: μ is fitted for t_w ≥ `fit_low` (the asymptotic range).
    - `gradient_after`: the gradient-norm RMS is taken over steps > this (003 Fig. A.3: 10⁴).
    - `hessian_points`, `hessian_runs`: snapshots (log-spaced, first and last included) and runs whose
      full Hessian spectrum is computed (003 Fig. 7, A.1).
    - `n_records`: about how many log-spaced steps of loss and accuracy (plus every snapshot step).
    - `seed`: PRNG seed of data, initializations and batches.
    """

    data: tuple[DataName, ...] = ("synthetic", "digits")
    data_root: str | None = None
    depths: tuple[int, ...] = (1, 2, 3)
    runs: int = 10
    n_params: int | None = None
    steps: int | None = None
    batch_size: int | None = None
    n_train: int | None = None
    lr: float = 0.05
    weight_decay: float = 1e-4
    init: Literal["xavier_uniform", "lecun_normal"] = "xavier_uniform"
    n_waiting: int = 16
    n_lags: int = 40
    first_waiting: int = 10
    delta_star: float = 1e-2
    fit_low: int = 4000
    gradient_after: int = 10_000
    hessian_points: int = 5
    hessian_runs: int = 1
    n_records: int = 60
    seed: int = 0

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

    def to_attrs(self) -> dict[str, str]:
        return {"config": json.dumps(dataclasses.asdict(self), sort_keys=True)}


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
    variables["done"] = (("depth",), np.zeros(len(config.depths), np.int8))
    coords = {
        "depth": list(config.depths), "width": ("depth", widths), "n_params": ("depth", counts),
        "t_w": ("waiting", t_w), "t": ("lag", lags), "record_step": ("record", records),
        "snapshot_step": ("snapshot", snapshots),
        "hessian_snapshot_step": ("hessian_step", snapshots[hessian_index]),
    }  # fmt: skip
    attrs = config.to_attrs() | {
        "experiment": "aging of SGD (003)", "data": name, "n_train": pool.x.shape[0], "n_classes": k,
        "batch_size": problem.batch_size, "steps": problem.steps, "delta_star": config.delta_star,
    }  # fmt: skip
    return xr.Dataset(variables, coords=coords, attrs=attrs)


@eqx.filter_jit
def _test_metrics(models, x, y):
    def one(m):
        f = jax.vmap(m)(x)
        return mean_loss(SoftmaxCrossEntropy(), f, y), jnp.mean(
            (jnp.argmax(f, -1).astype(y.dtype) == y).astype(f.dtype)
        )

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
def run_aging(
    config: AgingConfig, out: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> dict[str, xr.Dataset]:
    """Run (or resume) every data set and depth, saving ``out/aging_<data>.nc`` after each depth.

    `mesh`: split the runs of each depth over these devices ([`jamscope.ensemble`][jamscope.ensemble]).
    """
    key = jax.random.PRNGKey(config.seed)
    all_results = {}
    for name in config.data:
        path = out / f"aging_{name}.nc"
        data_key = jax.random.fold_in(key, list(PROBLEMS).index(name))
        pool = load_problem(config, name, jax.random.fold_in(data_key, 0))
        results = load_sweep(path, config.to_attrs()["config"])
        if results is None:
            results = _empty(config, name, pool)
        todo = [i for i in range(len(config.depths)) if not results["done"].values[i]]
        for i in tqdm(todo, desc=f"aging on {name}", disable=not progress):
            values = _train_depth(config, results, i, pool, jax.random.fold_in(data_key, 1), mesh, progress)
            for variable, value in values.items():
                target = results[variable][i]
                padded = np.full(target.shape, np.nan)
                array = np.asarray(value, float)
                padded[tuple(slice(0, s) for s in array.shape)] = array
                results[variable][i] = padded
            results["done"][i] = 1
            save_netcdf(results, path)
        all_results[name] = results
    return all_results


# ----------------------------------------------------------------------------------------------
# Analysis


@typechecked
def relaxation_times(results: xr.Dataset, delta_star: float | None = None) -> xr.DataArray:
    """t*(t_w) of every (depth, run) with Δ* = `delta_star` (default: the configuration's)."""
    if delta_star is None:
        delta_star = json.loads(results.attrs["config"])["delta_star"]
    values = relaxation_time(results["t"].values, jnp.asarray(results["msd"].values), delta_star)
    return xr.DataArray(np.asarray(values), dims=("depth", "run", "waiting"),
                        coords={"depth": results["depth"], "t_w": results["t_w"]})  # fmt: skip


def _fit_or_none(t_w, t_star, low) -> AgingFit | None:
    try:
        return fit_aging_exponent(t_w, t_star, low=low, n_boot=500)
    except ValueError:  # fewer than two finite t* in the window
        return None


@typechecked
def aging_fits(results: xr.Dataset) -> dict[int, AgingFit | None]:
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
