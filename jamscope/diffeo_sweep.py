"""Relative stability to diffeomorphisms against the training-set size (thesis ch. 4 Figs. 3, 6, 7, 8).

Three measurements, one resumable results file for the trained networks:

- **fields** ([`field_statistics`][jamscope.diffeo_sweep.field_statistics]): the typical displacement δ
  and the median max_s Ξ of sampled fields over (c, T), against eqs. 3 and 13 (Fig. 8);
- **images**: for each architecture (a fully connected net on the flattened image, FullConn-L4 of
  Table 1, and [`SmallCNN`][jamscope.nets.SmallCNN]) and each training-set size P, `seeds` nets
  trained with Adam on the softmax cross-entropy (App. E.1; full batch, a fixed number of steps), and
  D_f, G_f, R_f (eqs. 4–5) of the logits at initialization and after training, on the same
  `n_probes` test images, one field at (c, δ) and one matched noise per image (Figs. 3-right, 6);
- **stripe**: the stripe model of §6, a one-hidden-layer softplus net trained by the gradient flow of
  thesis ch. 3 on the centered model F = α(f − f₀) (α√h = `stripe_scale`), and R_f of eq. 6 against P
  (Fig. 7, R_f ∼ P⁻¹). At initialization F ≡ 0, so the "init" values are those of f₀.

The nets of one point share their training set (the first P images of one shuffled pool) and differ by
their initialization; the thesis also redraws the training subset. Values are log-averaged over seeds
as in the thesis (§3, "log-averaged").
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

from ._checks import check_finite, check_int_at_least, check_nonempty, check_positive, check_positive_values
from .data import Dataset, cifar10, digit_images, mnist, stripe
from .diffeo import (
    Interpolation,
    MaxEntDiffeo,
    deform,
    max_xi,
    rms_displacement,
    temperature_for,
    temperature_range,
)
from .diffeo import typical_displacement as eq3_displacement
from .fits import ScalingFit, scaling_fit
from .io import load_sweep, save_netcdf
from .losses import SoftHinge, SoftmaxCrossEntropy
from .nets import Centered, FCNet, SmallCNN, ensemble, flat_outputs, n_params
from .stability import Perturbations, invariant_perturbations, perturb, stability_of
from .train import adam, gradient_flow
from .typing import Array, Float, PRNGKeyArray, typechecked

__all__ = [
    "DiffeoConfig",
    "QUICK",
    "PAPER",
    "plan",
    "load_images",
    "run_diffeo",
    "image_side",
    "field_statistics",
    "deformation_grid",
    "stability_summary",
    "stability_slope",
]

Architecture = Literal["fc", "cnn"]
STATES = ("init", "trained")


@dataclasses.dataclass(frozen=True)
class DiffeoConfig:
    """Every choice of the diffeomorphism experiment; stored in the results file, checked on resume.

    - `data`: ``"digits"`` (scikit-learn's, resized to `image_size`), or ``"mnist"``, ``"fashion"``,
      ``"cifar10"`` from local files under `data_root` (default ``$JAMSCOPE_DATA``); 10 classes, each
      channel standardized. `n_train`: the sizes P; `n_test`: the test set (test error);
      `n_probes`: test images probed for D_f, G_f, R_f (500 in the thesis).
    - `architectures`: ``"fc"`` (`fc_depth` hidden ReLU layers of `fc_width`) and/or ``"cnn"``
      (SmallCNN with `cnn_channels`). `seeds`, `steps`, `lr`: Adam, full batch.
    - `cutoff`, `delta`, `interpolation`: the diffeomorphisms probed (c = 3, δ = 1, bilinear).
    - `field_cutoffs`, `field_temperatures`, `field_samples`: the (c, T) grid of the field statistics
      (temperatures log-spaced from T_min/15 to 2 T_max for each c, as in the authors' code).
    - `stripe_n_train`, `stripe_dim`, `stripe_width`, `stripe_scale` (α√h), `stripe_steps`,
      `stripe_noise` (‖ν‖ = ‖η‖): the stripe model (empty `stripe_n_train`: skipped).
    - `seed`: PRNG seed of data, initializations, fields and noise.
    """

    data: Literal["digits", "mnist", "fashion", "cifar10"] = "digits"
    data_root: str | None = None
    image_size: int = 16
    n_train: tuple[int, ...] = (64, 128, 256, 512)
    n_test: int = 500
    n_probes: int = 500
    architectures: tuple[Architecture, ...] = ("fc", "cnn")
    fc_width: int = 64
    fc_depth: int = 4
    cnn_channels: int = 8
    seeds: int = 3
    steps: int = 300
    lr: float = 3e-3
    cutoff: float = 3.0
    delta: float = 1.0
    interpolation: Interpolation = "bilinear"
    field_cutoffs: tuple[float, ...] = (3.0, 5.0, 10.0, 15.0)
    field_temperatures: int = 12
    field_samples: int = 200
    stripe_n_train: tuple[int, ...] = (64, 128, 256, 512, 1024)
    stripe_dim: int = 5
    stripe_width: int = 100
    stripe_scale: float = 1.0
    stripe_steps: int = 5000
    stripe_noise: float = 1.0
    seed: int = 0

    def __post_init__(self):
        check_positive_values("n_train", self.n_train, integer=True)
        check_positive_values("field_cutoffs", self.field_cutoffs, integer=False)
        if self.stripe_n_train:
            check_positive_values("stripe_n_train", self.stripe_n_train, integer=True)
        if not set(self.architectures) <= {"fc", "cnn"} or not self.architectures:
            raise ValueError(
                f"`architectures` must be a non-empty subset of ('fc', 'cnn'), got {self.architectures}"
            )
        for name in ("n_test", "fc_width", "fc_depth", "cnn_channels", "steps", "field_samples",
                     "stripe_width", "stripe_steps"):  # fmt: skip
            check_int_at_least(name, getattr(self, name), 1)
        check_int_at_least("n_probes", self.n_probes, 2)
        check_int_at_least("seeds", self.seeds, 1)
        check_int_at_least("image_size", self.image_size, 3)
        check_int_at_least("field_temperatures", self.field_temperatures, 2)
        check_int_at_least("stripe_dim", self.stripe_dim, 2)
        for name in ("lr", "delta", "stripe_scale", "stripe_noise"):
            check_positive(name, getattr(self, name))
        for name, value in [("cutoff", self.cutoff)] + [("field_cutoffs", c) for c in self.field_cutoffs]:
            if not (math.isfinite(value) and value >= math.sqrt(2)):
                raise ValueError(
                    f"`{name}` must be finite and ≥ √2 ≈ 1.414 (eq. 2 keeps no mode below), got {value}"
                )
        if self.n_probes > self.n_test:
            raise ValueError(f"`n_probes` ({self.n_probes}) must be at most `n_test` ({self.n_test})")
        if self.data == "digits" and max(self.n_train) + self.n_test > 1797:
            raise ValueError(
                f"max(`n_train`) + `n_test` must be at most 1797 (all digits), got {max(self.n_train)} + "
                f"{self.n_test}"
            )

    def to_attrs(self) -> dict:
        return {"config": json.dumps(dataclasses.asdict(self), sort_keys=True)}


QUICK = DiffeoConfig()
"""The defaults: digits resized to 16×16 (at 8×8, δ = 1 with c = 3 lies above T_max), P ≤ 512, FC and
SmallCNN, 3 seeds, 300 Adam steps; the stripe model in d = 5 up to P = 1024 (about 4 minutes on 2
cores in float32)."""

PAPER = DiffeoConfig(
    data="mnist",
    n_train=(512, 1024, 2048, 4096, 8192, 16384, 32768),
    n_test=10_000,
    fc_width=64,
    cnn_channels=32,
    seeds=16,
    steps=20_000,
    lr=1e-3,
    field_temperatures=30,
    field_samples=1000,
    stripe_n_train=(128, 256, 512, 1024, 2048, 4096, 8192),
    stripe_dim=10,
    stripe_width=1000,
    stripe_steps=200_000,
)
"""Thesis ch. 4 Figs. 3-right / 13 on MNIST (16 nets, 500 probes, c = 3, δ = 1) for a GPU, with the
library's FC and small CNN in place of the thesis's ResNets and EfficientNets."""


def plan(config: DiffeoConfig) -> list[tuple[str, str, int]]:
    """Every (kind, architecture, P) of the sweep: image points, then stripe points."""
    points = [("image", arch, p) for arch in config.architectures for p in config.n_train]
    return points + [("stripe", "fc", p) for p in config.stripe_n_train]


@typechecked
def load_images(config: DiffeoConfig, key: PRNGKeyArray) -> Dataset:
    """The pool of max(P) training images and the test images, ``(P, C, n, n)``, 10 classes."""
    p, q = max(config.n_train), config.n_test
    if config.data == "digits":
        return digit_images(key, n_train=p, n_test=q, size=config.image_size)
    if config.data == "cifar10":
        return cifar10(config.data_root, n_train=p, n_test=q, binary=False, key=key, normalization="channels")
    return mnist(
        config.data_root,
        kind=config.data,
        n_train=p,
        n_test=q,
        binary=False,
        key=key,
        normalization="channels",
    )


def _image_net(config: DiffeoConfig, arch: str, shape: tuple[int, ...], key: PRNGKeyArray):
    if arch == "fc":
        return FCNet(key, math.prod(shape), config.fc_width, config.fc_depth, "relu", n_outputs=10)
    return SmallCNN(key, shape, config.cnn_channels, "relu", n_outputs=10)


def _measure(models, probes: Perturbations, x_test, y_test, error) -> dict[str, jax.Array]:
    """D_f, G_f, R_f and the test error of every member of an ensemble (vmapped)."""

    @eqx.filter_vmap
    def one(model):
        s = stability_of(lambda v: flat_outputs(model, v), probes)
        return s.d_f, s.g_f, s.r_f, error(flat_outputs(model, x_test), y_test)

    return dict(zip(("d_f", "g_f", "r_f", "test_error"), eqx.filter_jit(one)(models), strict=True))


def _class_error(logits, y):
    return jnp.mean(jnp.argmax(logits, axis=-1).astype(y.dtype) != y)


def _sign_error(outputs, y):
    return jnp.mean(outputs[:, 0] * y <= 0)


def _image_point(config: DiffeoConfig, arch: str, p: int, pool: Dataset, probes: Perturbations, key, mesh):
    keys = jax.random.split(jax.random.fold_in(key, p), config.seeds)
    initial = ensemble(lambda k: _image_net(config, arch, pool.input_shape, k), keys)
    x = pool.x[:p].reshape((p,) + initial.input_shape)
    data = Dataset(x, pool.y[:p], n_classes=10)
    trained, _ = adam(
        initial, SoftmaxCrossEntropy(), data, steps=config.steps, lr=config.lr, stop_when_fitted=False,
        ensemble=True, mesh=mesh, progress=False,
    )  # fmt: skip
    states = [_measure(m, probes, pool.x_test, pool.y_test, _class_error) for m in (initial, trained)]
    return states, n_params(_image_net(config, arch, pool.input_shape, keys[0]))


def _stripe_point(config: DiffeoConfig, p: int, key, mesh):
    k_data, k_init, k_probe = jax.random.split(jax.random.fold_in(key, p), 3)
    data = stripe(k_data, p, config.stripe_dim, n_test=config.n_test)
    h = config.stripe_width

    def make(k):
        return Centered(FCNet(k, config.stripe_dim, h, 1, "softplus"), config.stripe_scale / math.sqrt(h))

    initial = ensemble(make, jax.random.split(k_init, config.seeds))
    trained, _ = gradient_flow(
        initial, SoftHinge(20.0), data, steps=config.stripe_steps, ensemble=True, mesh=mesh, progress=False
    )
    probes = invariant_perturbations(k_probe, data.x_test[: config.n_probes], config.stripe_noise)
    states = [_measure(m, probes, data.x_test, data.y_test, _sign_error) for m in (initial.model, trained)]
    return states, n_params(make(k_init))


def _point_dataset(kind: str, arch: str, p: int, states, n: int, delta: float) -> xr.Dataset:
    variables = {
        name: (("point", "state", "seed"), np.stack([np.asarray(s[name], float) for s in states])[None])
        for name in ("d_f", "g_f", "r_f", "test_error")
    }
    coords = {
        "kind": ("point", [kind]), "arch": ("point", [arch]), "n_train": ("point", [p]),
        "n_params": ("point", [n]), "delta": ("point", [delta]), "state": list(STATES),
    }  # fmt: skip
    return xr.Dataset(variables, coords=coords)


def _done(results: xr.Dataset | None) -> set[tuple[str, str, int]]:
    if results is None:
        return set()
    columns = (results[name].values.tolist() for name in ("kind", "arch", "n_train"))
    return {(str(k), str(a), int(p)) for k, a, p in zip(*columns, strict=True)}


@typechecked
def run_diffeo(
    config: DiffeoConfig, path: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> xr.Dataset:
    """Run (or resume) the image and stripe points, saving every finished point to the netCDF file
    `path` (rewritten atomically; points already in it are skipped). Dims (point, state, seed).

    `mesh`: split each point's seed ensemble over these devices
    ([`jamscope.ensemble`][jamscope.ensemble]; None: vmap on one device).
    """
    results = load_sweep(path, config.to_attrs()["config"])
    todo = [point for point in plan(config) if point not in _done(results)]
    data_key, init_key, probe_key = jax.random.split(jax.random.PRNGKey(config.seed), 3)
    if any(kind == "image" for kind, _, _ in todo):
        pool = load_images(config, data_key)
        diffeo = MaxEntDiffeo(
            temperature_for(config.delta, config.cutoff, pool.input_shape[-1]), config.cutoff
        )
        probes = perturb(probe_key, pool.x_test[: config.n_probes], diffeo, config.interpolation)
        delta = float(jnp.median(probes.delta))
    for kind, arch, p in tqdm(todo, desc="diffeo sweep", disable=not progress):
        if kind == "image":
            states, n = _image_point(config, arch, p, pool, probes, init_key, mesh)
            point = _point_dataset(kind, arch, p, states, n, delta)
        else:
            states, n = _stripe_point(config, p, init_key, mesh)
            point = _point_dataset(kind, arch, p, states, n, float("nan"))
        merged = point if results is None else xr.concat([results, point], dim="point", data_vars="minimal")
        results = merged.assign_attrs(config.to_attrs() | {"experiment": "relative stability (thesis ch. 4)"})
        save_netcdf(results, path)
    if results is None:
        raise ValueError("the sweep plan is empty")
    return results


# ----------------------------------------------------------------------------------------------
# Analysis


def image_side(config: DiffeoConfig) -> int:
    """n, the side in pixels of the images of `config.data`."""
    return {"digits": config.image_size, "cifar10": 32}.get(config.data, 28)


@typechecked
def deformation_grid(
    config: DiffeoConfig, image: Float[Array, "C n n"], key: PRNGKeyArray, n_temperatures: int = 7
) -> dict[str, np.ndarray]:
    """`image` deformed over the (c, T) plane of thesis ch. 4 Fig. 1: rows `field_cutoffs`, columns
    temperatures log-spaced around the admissible bands; one field per cutoff (coefficients drawn with
    `key` and scaled by √T). Returns the arguments of
    [`deformation_grid_figure`][jamscope.plot.deformation_grid_figure]."""
    check_nonempty("image", image)
    check_finite("image", image)
    check_int_at_least("n_temperatures", n_temperatures, 2)
    n = image.shape[-1]
    bands = [temperature_range(n, c) for c in config.field_cutoffs]
    temperatures = np.geomspace(min(b[0] for b in bands) / 4, 4 * max(b[1] for b in bands), n_temperatures)
    unit = [MaxEntDiffeo(1.0, c).sample(key, n) for c in config.field_cutoffs]
    fields = np.stack([[math.sqrt(t) * np.asarray(u) for t in temperatures] for u in unit])
    cells = np.asarray(deform(image, jnp.asarray(fields, image.dtype), config.interpolation)).mean(axis=-3)
    return {
        "images": cells,
        "cutoffs": np.asarray(config.field_cutoffs, float),
        "temperatures": temperatures,
        "admissible": np.array([[lo < t < hi for t in temperatures] for lo, hi in bands]),
        "deltas": np.array(
            [[eq3_displacement(float(t), c, n) for t in temperatures] for c in config.field_cutoffs]
        ),
    }


@typechecked
def field_statistics(config: DiffeoConfig, n: int, key: PRNGKeyArray) -> xr.Dataset:
    """δ and max_s Ξ of `field_samples` fields per (c, T) on n × n images (thesis ch. 4 Fig. 8), dims
    (cutoff, t). Variables: `temperature`, `delta` (√⟨δ²⟩ measured), `delta_eq3` (eq. 3),
    `delta_exact` (App. B sum), `median_max_xi`, `max_xi_eq13` ((c/2)√(π³ T ln c)), `bijective`
    (fraction with max Ξ < 1), and per cutoff `t_min`, `t_max` (eqs. 8, 14) and `bijective_at_t_max`
    (about 1/2 by eq. 14)."""
    rows = []
    for cutoff in config.field_cutoffs:
        t_min, t_max = temperature_range(n, cutoff)
        temperatures = np.geomspace(t_min / 15, 2 * t_max, config.field_temperatures)
        row: dict[str, list[float]] = {k: [] for k in ("delta", "delta_eq3", "delta_exact", "median_max_xi",
                                                       "max_xi_eq13", "bijective")}  # fmt: skip
        for i, t in enumerate(temperatures):
            fields = MaxEntDiffeo(float(t), cutoff).sample(
                jax.random.fold_in(key, i), n, config.field_samples
            )
            xi = max_xi(fields)
            row["delta"].append(float(jnp.sqrt(jnp.mean(rms_displacement(fields) ** 2))))
            row["delta_eq3"].append(eq3_displacement(float(t), cutoff, n))
            row["delta_exact"].append(eq3_displacement(float(t), cutoff, n, exact=True))
            row["median_max_xi"].append(float(jnp.median(xi)))
            row["max_xi_eq13"].append(cutoff / 2 * math.sqrt(math.pi**3 * t * math.log(cutoff)))
            row["bijective"].append(float(jnp.mean(xi < 1)))
        variables = {k: ("t", v) for k, v in row.items()} | {"temperature": ("t", temperatures)}
        at_max = MaxEntDiffeo(t_max, cutoff).sample(jax.random.fold_in(key, 10**6), n, config.field_samples)
        bijective_at_t_max = float(jnp.mean(max_xi(at_max) < 1))
        rows.append(
            xr.Dataset(variables).assign(t_min=t_min, t_max=t_max, bijective_at_t_max=bijective_at_t_max)
        )
    return xr.concat(rows, dim=xr.DataArray(list(config.field_cutoffs), dims="cutoff", name="cutoff"))


@typechecked
def stability_summary(results: xr.Dataset) -> xr.Dataset:
    """Per point and state: D_f, G_f, R_f log-averaged over seeds (geometric mean, thesis ch. 4 §3)
    with `r_f_log_sem` (standard error of log R_f), and the mean `test_error`."""
    k = results.sizes["seed"]
    logs = {name: np.log(results[name]) for name in ("d_f", "g_f", "r_f")}
    summary = {name: np.exp(v.mean("seed")) for name, v in logs.items()}
    summary["r_f_log_sem"] = (
        logs["r_f"].std("seed", ddof=1) / math.sqrt(k) if k > 1 else logs["r_f"].mean("seed") * np.nan
    )
    summary["test_error"] = results["test_error"].mean("seed")
    return xr.Dataset(summary)


@typechecked
def stability_slope(summary: xr.Dataset, kind: str, arch: str, state: str = "trained") -> ScalingFit:
    """Power-law fit R_f ∼ P^a over the points of (kind, arch) (thesis ch. 4: a ≈ −1 for ResNets on
    CIFAR-10 over a range of P, Fig. 3-right; a = −1 for the stripe model, Fig. 7)."""
    mask = (summary["kind"] == kind) & (summary["arch"] == arch)
    sel = summary.isel(point=np.flatnonzero(mask.values)).sel(state=state)
    return scaling_fit(sel["n_train"].values.astype(float), sel["r_f"].values.astype(float))
