"""The jamming experiment of 000 §III–VI as one resumable sweep (`jamscope jamming`, `make demo`).

For every depth L and training-set size P, networks are built at the widths h whose parameter
count N puts P/N on a grid around the transition; at every point (L, P, h) a seed ensemble trains
vmapped with full-batch Adam (lr ÷ 10 at fixed steps, orthogonal init, quadratic hinge, 000 §III)
until N_Δ = 0 or the budget ends. Each run records N, P, L, the loss, N_Δ, the misclassified
patterns, N_eff (000 App. A), all gaps Δ_μ (000 Fig. 8) and, for P/N inside `spectra_window`,
the spectra of H, H0, Hp with their summaries (000 Fig. 7).

Everything goes to one netCDF file, rewritten atomically after every point; a sweep started again
with the same configuration skips the points already in the file (resumable after an interruption).
[`jamming_points`][jamscope.sweep.jamming_points] turns the outcomes into N* brackets (000 Fig. 5c)
and [`near_jamming`][jamscope.sweep.near_jamming] selects the jammed runs closest to the transition
(the rectangle of 000 Fig. 6b), whose spectra and gaps make 000 Figs. 7 and 8.
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

from ._checks import check_in_range, check_int_at_least, check_positive, check_positive_values
from .curvature import decompose, n_eff, spectrum, summarize
from .data import Dataset, digits, mnist, random_sphere
from .io import load_sweep, save_netcdf
from .jamming import fitted_runs, is_fitted
from .losses import QuadraticHinge
from .nets import FCNet, ensemble, ensemble_outputs
from .train import adam
from .typing import PRNGKeyArray, typechecked

__all__ = [
    "SweepConfig",
    "QUICK",
    "PAPER",
    "fc_param_count",
    "plan",
    "run_sweep",
    "jamming_points",
    "near_jamming",
]

SUMMARY_FIELDS = ("n_zero", "n_negative", "n_positive", "c0", "moment1", "moment3", "skewness", "gap")


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Every choice of the sweep; stored in the results file and checked when resuming.

    - `n_train`: the sizes P. `depths`: the depths L. `p_over_n`: target ratios P/N; at each (L, P)
      the width is the integer h whose N(h) is closest to P / ratio (duplicates dropped).
    - `dim`: input dimension d; with `dim_equals_width` d = h as in 000's random-data runs.
    - `activation`: ``"relu"`` (000's main case) or ``"tanh"``. `bias_scale`: β of the biases.
    - `data`: ``"sphere"`` (000 §III), ``"digits"`` (scikit-learn's digits, PCA to `dim`, parity
      labels; P ≤ 1797) or ``"mnist"`` (local IDX files under `data_root`, PCA to `dim`, 000 §VII).
    - `seeds`: runs per point (one vmapped ensemble). `steps`, `lr`, `decay_every`, `lr_floor`: the
      Adam budget and schedule (lr ÷ 10 every `decay_every` steps, floored). `margin`: ε.
    - `spectra_window`: P/N range where the dense H, H0, Hp spectra are computed;
      `spectra_max_n`: no dense spectra above this N. `seed`: the PRNG seed of data and inits.
    """

    n_train: tuple[int, ...] = (200, 400)
    depths: tuple[int, ...] = (2, 3, 5)
    p_over_n: tuple[float, ...] = (0.7, 1.0, 1.3, 1.6, 2.0, 2.5, 3.0, 4.0)
    dim: int = 10
    dim_equals_width: bool = False
    activation: Literal["relu", "tanh"] = "relu"
    bias_scale: float = 0.1
    data: Literal["sphere", "digits", "mnist"] = "sphere"
    data_root: str | None = None
    seeds: int = 3
    steps: int = 80_000
    lr: float = 1e-2
    decay_every: int = 20_000
    lr_floor: float = 1e-6
    margin: float = 0.5
    spectra_window: tuple[float, float] = (1.5, 4.5)
    spectra_max_n: int = 1500
    seed: int = 0

    def __post_init__(self):
        for name in ("n_train", "depths"):
            check_positive_values(name, getattr(self, name), integer=True)
        check_positive_values("p_over_n", self.p_over_n, integer=False)
        for name in ("dim", "seeds", "steps", "decay_every", "spectra_max_n"):
            check_int_at_least(name, getattr(self, name), 1)
        for name in ("lr", "margin"):
            check_positive(name, getattr(self, name))
        check_positive("lr_floor", self.lr_floor, allow_zero=True)
        check_positive("bias_scale", self.bias_scale, allow_zero=True)
        low, high = self.spectra_window
        if not 0 <= low <= high:
            raise ValueError(
                f"`spectra_window` must be a range 0 ≤ low ≤ high of P/N, got {self.spectra_window}"
            )
        if self.data == "digits":
            check_in_range("n_train", max(self.n_train), 1, 1797)
        if self.data == "mnist" and self.data_root is None:
            raise ValueError('data="mnist" needs `data_root`, the folder with the IDX files')

    def to_attrs(self) -> dict:
        return {"config": json.dumps(dataclasses.asdict(self), sort_keys=True)}


QUICK = SweepConfig()
"""The defaults: P ∈ {200, 400}, L ∈ {2, 3, 5}, d = 10, 3 seeds, 80k steps (minutes on 2 cores)."""

PAPER = SweepConfig(
    n_train=(20_000, 24_000),
    depths=(2, 3, 5),
    p_over_n=(2.4, 2.6, 2.7, 2.8, 2.85, 2.9, 3.0, 3.2, 3.5),
    dim_equals_width=True,
    bias_scale=1.0,
    seeds=4,
    steps=2_000_000,
    lr=1e-4,
    decay_every=250_000,
    lr_floor=1e-7,
    spectra_window=(2.7, 3.1),
    spectra_max_n=9000,
)
"""000's sizes for a GPU: N ≈ 8000, d = h, P/N ∈ [2.4, 3.5], lr 10⁻⁴ ÷ 10 every 250k steps (000 §III)."""


def fc_param_count(config: SweepConfig, width: int, depth: int) -> int:
    """N of the sweep's FCNet at (width, depth): Σ fan_in · fan_out weights, plus one bias per
    neuron when `bias_scale` > 0 (000 eqs. 6–8)."""
    check_int_at_least("width", width, 1)
    check_int_at_least("depth", depth, 1)
    dim = width if config.dim_equals_width else config.dim
    sizes = [dim] + [width] * depth + [1]
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return weights + (sum(sizes[1:]) if config.bias_scale > 0 else 0)


def _width_for(config: SweepConfig, target_n: float, depth: int) -> int:
    """The width h ≥ 1 whose parameter count is closest to `target_n` (N grows with h)."""
    high = 1
    while fc_param_count(config, high, depth) < target_n:
        high *= 2
    candidates = range(max(1, high // 2), high + 1)
    return min(candidates, key=lambda h: abs(fc_param_count(config, h, depth) - target_n))


@typechecked
def plan(config: SweepConfig) -> list[tuple[int, int, int]]:
    """The points (depth, n_train, width) of the sweep, in the order they run."""
    points = []
    for depth in config.depths:
        for p in config.n_train:
            widths = {_width_for(config, p / ratio, depth) for ratio in config.p_over_n}
            points += [(depth, p, h) for h in sorted(widths, reverse=True)]
    return points


def _load_data(config: SweepConfig, key: PRNGKeyArray, dim: int) -> Dataset:
    """The largest training set the sweep needs at input dimension `dim` (smaller P: prefixes)."""
    p = max(config.n_train)
    if config.data == "sphere":
        return random_sphere(jax.random.fold_in(key, dim), p, dim)
    if config.data == "digits":
        return digits(key, n_train=p, pca_dim=dim)
    return mnist(config.data_root, n_train=p, n_test=0, pca_dim=dim, key=key)


def _summaries(loss, models, data: Dataset) -> dict[str, np.ndarray]:
    """Eigenvalues of H, H0, Hp of every member and their summaries (000 Fig. 7)."""
    parts = eqx.filter_vmap(lambda m: decompose(loss, m, data))(models)
    out = {}
    for name in ("h", "h0", "hp"):
        eig = jax.vmap(spectrum)(getattr(parts, name))
        s = jax.vmap(lambda lam: summarize(lam, rtol=1e-9))(eig)
        out[f"eig_{name}"] = np.asarray(eig)
        out |= {f"{name}_{field}": np.asarray(getattr(s, field), dtype=float) for field in SUMMARY_FIELDS}
    return out


def _run_point(
    config: SweepConfig, depth: int, width: int, data: Dataset, key: PRNGKeyArray, mesh: Mesh | None
) -> xr.Dataset:
    keys = jax.random.split(jax.random.fold_in(jax.random.fold_in(key, depth), width), config.seeds)
    dim = data.x.shape[1]

    def make(k):
        return FCNet(k, dim, width, depth, config.activation, bias_scale=config.bias_scale, init="orthogonal")

    models = ensemble(make, keys)
    loss = QuadraticHinge(margin=config.margin)
    models, history = adam(
        models, loss, data, steps=config.steps, lr=config.lr, decay_every=config.decay_every,
        lr_floor=config.lr_floor, ensemble=True, mesh=mesh, progress=False,
    )  # fmt: skip
    f = ensemble_outputs(models, data.x)
    n, p = fc_param_count(config, width, depth), data.n_train
    per_run = {
        "loss": np.asarray(history.loss[:, -1], dtype=float),
        "n_delta": np.asarray(history.n_unsatisfied[:, -1], dtype=float),
        "misclassified": np.asarray(jnp.sum(data.y[None, :] * f <= 0, axis=-1), dtype=float),
        "steps": np.asarray(history.step[:, -1], dtype=float),
        "n_eff": np.asarray(eqx.filter_vmap(lambda m: n_eff(m, data).rank)(models), dtype=float),
    }
    spectra = config.spectra_window[0] <= p / n <= config.spectra_window[1] and n <= config.spectra_max_n
    extra = _summaries(loss, models, data) if spectra else {}
    variables = {name: (("point", "seed"), value[None]) for name, value in per_run.items()}
    variables["gaps"] = (
        ("point", "seed", "pattern"),
        np.asarray(jax.vmap(lambda fk: loss.gaps(fk, data.y))(f))[None],
    )
    for name in ("h", "h0", "hp"):
        eig = extra.pop(f"eig_{name}", np.zeros((config.seeds, 0)))
        variables[f"eig_{name}"] = (("point", "seed", "mode"), eig[None])
        for field in SUMMARY_FIELDS:
            value = extra.get(f"{name}_{field}", np.full(config.seeds, np.nan))
            variables[f"{name}_{field}"] = (("point", "seed"), value[None])
    coords = {
        "depth": ("point", [depth]), "width": ("point", [width]), "n_train": ("point", [p]),
        "dim": ("point", [dim]), "n_params": ("point", [n]), "p_over_n": ("point", [p / n]),
        "seed": np.arange(config.seeds), "pattern": np.arange(p), "mode": np.arange(n if spectra else 0),
    }  # fmt: skip
    return xr.Dataset(variables, coords=coords)


def _done(results: xr.Dataset | None) -> set[tuple[int, int, int]]:
    if results is None:
        return set()
    columns = (results[name].values.astype(int).tolist() for name in ("depth", "n_train", "width"))
    return set(zip(*columns, strict=True))


@typechecked
def run_sweep(
    config: SweepConfig, path: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> xr.Dataset:
    """Run (or resume) the sweep, saving every finished point to the netCDF file `path`.

    `mesh`: split each point's seed ensemble over these devices
    ([`jamscope.ensemble`][jamscope.ensemble]; None: vmap on one device).
    """
    results = load_sweep(path, config.to_attrs()["config"])
    done = _done(results)
    todo = [point for point in plan(config) if point not in done]
    key = jax.random.PRNGKey(config.seed)
    data_key, init_key = jax.random.split(key)
    datasets: dict[int, Dataset] = {}
    for depth, p, width in tqdm(todo, desc="jamming sweep", disable=not progress):
        dim = width if config.dim_equals_width else config.dim
        if dim not in datasets:
            datasets[dim] = _load_data(config, data_key, dim)
        full = datasets[dim]
        data = Dataset(full.x[:p], full.y[:p])
        point = _run_point(config, depth, width, data, init_key, mesh)
        merged = point if results is None else xr.concat([results, point], dim="point", join="outer")
        results = merged.assign_attrs(
            config.to_attrs() | {"experiment": "jamming sweep (000 §III–VI)", "optimizer": "full-batch Adam"}
        )
        save_netcdf(results, path)
    if results is None:
        raise ValueError("the sweep plan is empty")
    return results


@typechecked
def jamming_points(results: xr.Dataset, fraction: float = 0.5) -> xr.Dataset:
    """N* brackets per (depth, P) from the sweep (000 Fig. 5c): `n_jammed` is the largest N whose
    ensemble does not fit (criterion [`is_fitted`][jamscope.jamming.is_fitted]) and `n_fitting`
    the smallest N above it that fits; `n_star` is their geometric mean. NaN where not bracketed."""
    depths, sizes = np.unique(results["depth"].values), np.unique(results["n_train"].values)
    shape = (depths.size, sizes.size)
    out = {name: np.full(shape, np.nan) for name in ("n_jammed", "n_fitting", "n_star")}
    for i, depth in enumerate(depths):
        for j, p in enumerate(sizes):
            sel = results.where((results["depth"] == depth) & (results["n_train"] == p), drop=True)
            order = np.argsort(sel["n_params"].values)
            n = sel["n_params"].values[order]
            fitted = [is_fitted(sel["n_delta"].values[k], sel["loss"].values[k], fraction) for k in order]
            jammed = [k for k in range(len(n)) if not fitted[k]]
            if jammed and jammed[-1] + 1 < len(n):
                out["n_jammed"][i, j], out["n_fitting"][i, j] = n[jammed[-1]], n[jammed[-1] + 1]
                out["n_star"][i, j] = np.sqrt(n[jammed[-1]] * n[jammed[-1] + 1])
    coords = {"depth": depths, "n_train": sizes}
    return xr.Dataset({name: (("depth", "n_train"), value) for name, value in out.items()}, coords=coords)


@typechecked
def near_jamming(results: xr.Dataset) -> xr.Dataset:
    """The jammed runs (not [fitted][jamscope.jamming.fitted_runs]) at the jammed point closest to
    the transition of each (depth, P): the rectangle of 000 Fig. 6b, whose spectra and gaps
    000 Figs. 7–8 show. Dims (run, …)."""
    points = jamming_points(results)
    picked = []
    for depth in points["depth"].values:
        for p in points["n_train"].values:
            n_jammed = float(points["n_jammed"].sel(depth=depth, n_train=p))
            if np.isnan(n_jammed):
                continue
            mask = (results["depth"] == depth) & (results["n_train"] == p) & (results["n_params"] == n_jammed)
            sel = results.isel(point=np.flatnonzero(mask.values)).stack(run=("point", "seed"))
            jammed = sel.isel(run=np.flatnonzero(~fitted_runs(sel["n_delta"].values, sel["loss"].values)))
            picked.append(jammed.reset_index("run", drop=True).transpose("run", ...))
    if not picked:
        raise ValueError("no (depth, P) of the sweep brackets the transition")
    return xr.concat(picked, dim="run", join="outer")
