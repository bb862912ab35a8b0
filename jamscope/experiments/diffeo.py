"""Relative stability to diffeomorphisms against the training-set size (thesis ch. 4 Figs. 3, 6, 7, 8).

Three measurements, one resumable results file for the trained networks:

- **fields** ([`field_statistics`][jamscope.experiments.diffeo.field_statistics]): the typical displacement δ
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

from .._checks import check_finite, check_int_at_least, check_nonempty, check_positive, check_positive_values
from ..data import Dataset, cifar10, digit_images, mnist, stripe
from ..diffeo import (
    Interpolation,
    MaxEntDiffeo,
    deform,
    max_xi,
    rms_displacement,
    temperature_for,
    temperature_range,
)
from ..diffeo import typical_displacement as eq3_displacement
from ..fits import ScalingFit, scaling_fit
from ..losses import SoftHinge, SoftmaxCrossEntropy, error_rate
from ..nets import Centered, FCNet, SmallCNN, ensemble, flat_outputs, n_params
from ..stability import Perturbations, invariant_perturbations, perturb, stability_of
from ..train import adam, gradient_flow
from ..typing import Array, Bool, Float, PRNGKeyArray, typechecked
from ._base import Experiment, Target, compare, concat_points, report_text
from ._figures import legend, panels, plt

__all__ = [
    "DiffeoConfig",
    "QUICK",
    "PAPER",
    "plan",
    "load_images",
    "image_side",
    "field_statistics",
    "deformation_grid",
    "stability_summary",
    "stability_slope",
    "summarize_diffeo",
    "deformation_grid_figure",
    "field_statistics_figure",
    "stability_figure",
    "stripe_figure",
    "diffeo_targets",
    "SMOKE",
    "DiffeoExperiment",
    "EXPERIMENT",
]

Architecture = Literal["fc", "cnn"]


STATES = ("init", "trained")


@dataclasses.dataclass(frozen=True)
class DiffeoConfig:
    """Every choice of the diffeomorphism experiment; each field's docstring is the help of its
    option of ``jamscope diffeo``; every field is part of each point's store key."""

    data: Literal["digits", "mnist", "fashion", "cifar10"] = "digits"
    """Digits (embedded), or mnist, fashion, cifar10 (local files)."""
    data_root: str | None = None
    """Folder with the local data files (default $JAMSCOPE_DATA)."""
    image_size: int = 16
    """Side of the digits images in pixels (resized from 8)."""
    n_train: tuple[int, ...] = (64, 128, 256, 512)
    """Training-set sizes P, comma-separated."""
    n_test: int = 500
    """Test-set size."""
    n_probes: int = 500
    """Test images probed for D_f, G_f, R_f."""
    architectures: tuple[Architecture, ...] = ("fc", "cnn")
    """Fc and/or cnn, comma-separated."""
    fc_width: int = 64
    """Width of the FC net."""
    fc_depth: int = 4
    """Hidden layers of the FC net."""
    cnn_channels: int = 8
    """Channels of the small CNN."""
    seeds: int = 3
    """Networks per point, trained vmapped."""
    steps: int = 300
    """Adam steps (full batch)."""
    lr: float = 3e-3
    """Adam learning rate."""
    cutoff: float = 3.0
    """Cutoff c of the probing diffeomorphisms."""
    delta: float = 1.0
    """Typical displacement δ in pixels (eq. 3)."""
    interpolation: Interpolation = "bilinear"
    """Bilinear, gaussian or nearest."""
    field_cutoffs: tuple[float, ...] = (3.0, 5.0, 10.0, 15.0)
    """Cutoffs of the field statistics and of the (T, c) grid."""
    field_temperatures: int = 12
    """Temperatures per cutoff of the field statistics, log-spaced from T_min/15 to 2 T_max (the authors'
    code)."""
    field_samples: int = 200
    """Fields per (c, T) for δ and max Ξ."""
    stripe_n_train: tuple[int, ...] = (64, 128, 256, 512, 1024)
    """Training-set sizes of the stripe model ('none': skip it)."""
    stripe_dim: int = 5
    """Input dimension of the stripe model."""
    stripe_width: int = 100
    """Hidden width of the stripe model's net."""
    stripe_scale: float = 1.0
    """α√h of the stripe model's centered net F = α(f − f₀)."""
    stripe_steps: int = 5000
    """Gradient-flow steps of the stripe model."""
    stripe_noise: float = 1.0
    """Norm of the stripe model's probes, ‖ν‖ = ‖η‖."""
    seed: int = 0
    """PRNG seed of data, initialisations, fields and noise."""

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


def _sign_error(outputs, y):
    """The error rate of a scalar-output net, whose outputs have shape (P, 1)."""
    return error_rate(outputs[:, 0], y)


def _image_point(config: DiffeoConfig, arch: str, p: int, pool: Dataset, probes: Perturbations, key, mesh):
    keys = jax.random.split(jax.random.fold_in(key, p), config.seeds)
    initial = ensemble(lambda k: _image_net(config, arch, pool.input_shape, k), keys)
    x = pool.x[:p].reshape((p,) + initial.input_shape)
    data = Dataset(x, pool.y[:p], n_classes=10)
    trained, _ = adam(
        initial, SoftmaxCrossEntropy(), data, steps=config.steps, lr=config.lr, stop_when_fitted=False,
        ensemble=True, mesh=mesh, progress=False,
    )  # fmt: skip
    states = [_measure(m, probes, pool.x_test, pool.y_test, error_rate) for m in (initial, trained)]
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
    [`deformation_grid_figure`][jamscope.experiments.diffeo.deformation_grid_figure]."""
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


def _field_lines(fields: xr.Dataset) -> list[str]:
    lines = [f"diffeomorphisms (thesis ch. 4 Fig. 8; n = {fields.attrs.get('n', 0)}):"]
    for cutoff in fields["cutoff"].values:
        row = fields.sel(cutoff=cutoff)
        lines.append(
            f"  c = {cutoff:g}: δ measured/eq. 3 = {float((row['delta'] / row['delta_eq3']).mean()):.3f} "
            f"(exact App. B sum/eq. 3 = {float((row['delta_exact'] / row['delta_eq3']).mean()):.3f}); "
            f"median max Ξ / eq. 13 = {float((row['median_max_xi'] / row['max_xi_eq13']).mean()):.3f}; "
            f"bijective at T_max: {float(row['bijective_at_t_max']):.2f} (eq. 14: ≈ 1/2)"
        )
    return lines


def _slope_text(summary: xr.Dataset, kind: str, arch: str) -> str:
    try:
        fit = stability_slope(summary, kind, arch)
    except ValueError:
        return "no slope (fewer than two sizes)"
    error = f" ± {fit.stderr:.2f}" if np.isfinite(fit.stderr) else ""
    return f"R_f ∝ P^({fit.exponent:.2f}{error}) over {fit.n_used} sizes"


@typechecked
def summarize_diffeo(summary: xr.Dataset, fields: xr.Dataset) -> str:
    """The numbers of thesis ch. 4 measured on the sweep: δ and max Ξ against eqs. 3, 13, 14; R_f,
    D_f, G_f at initialization and after training per architecture and P; the stripe model's R_f(P)."""
    lines = _field_lines(fields)
    lines.append("relative stability (thesis ch. 4: R_f0 ≈ 1; FullConn R_f grows with training; "
                 "ResNets R_f ≈ 10⁻²–10⁻¹ ∝ 1/P):")  # fmt: skip
    for kind in ("image", "stripe"):
        sel_kind = summary.isel(point=np.flatnonzero(summary["kind"].values == kind))
        for arch in sorted(set(sel_kind["arch"].values.tolist())):
            mask = (sel_kind["arch"] == arch).values
            sel = sel_kind.isel(point=np.flatnonzero(mask))
            sel = sel.isel(point=np.argsort(sel["n_train"].values))
            name = "stripe model, eq. 6 (Fig. 7: ∝ 1/P)" if kind == "stripe" else arch
            lines.append(f"  {name}: {_slope_text(summary, kind, arch)} after training")
            for i in range(sel.sizes["point"]):
                row = sel.isel(point=i)
                init, trained = row.sel(state="init"), row.sel(state="trained")
                lines.append(
                    f"    P = {int(row['n_train'])}: "
                    f"R_f {float(init['r_f']):.3g} → {float(trained['r_f']):.3g}, "
                    f"D_f {float(init['d_f']):.3g} → {float(trained['d_f']):.3g}, "
                    f"G_f {float(init['g_f']):.3g} → {float(trained['g_f']):.3g}, "
                    f"test error {float(trained['test_error']):.3f}"
                )
    return report_text(lines)


def deformation_grid_figure(
    images: Float[np.ndarray, "rows cols H W"],
    cutoffs: Float[np.ndarray, " rows"],
    temperatures: Float[np.ndarray, " cols"],
    admissible: Bool[np.ndarray, "rows cols"],
    deltas: Float[np.ndarray, "rows cols"],
) -> Figure:
    """One image deformed over the (T, c) plane (thesis ch. 4 Fig. 1): rows are cutoffs c, columns
    temperatures T; the frames of the admissible band T_min(c) < T < T_max(c) are green, and each cell
    shows δ (eq. 3)."""
    rows, cols = admissible.shape
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.4 * rows), squeeze=False)
    low, high = float(images.min()), float(images.max())
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            ax.imshow(images[i, j], cmap="gray_r", vmin=low, vmax=high)
            ax.set_xticks([])
            ax.set_yticks([])
            color, width = ("tab:green", 3) if admissible[i, j] else ("lightgray", 1)
            for spine in ax.spines.values():
                spine.set(color=color, linewidth=width)
            ax.set_title(rf"$\delta$={deltas[i, j]:.2g}", fontsize=7, pad=2)
            if j == 0:
                ax.set_ylabel(f"c = {cutoffs[i]:g}")
            if i == rows - 1:
                ax.set_xlabel(f"T = {temperatures[j]:.1e}", fontsize=7)
    fig.suptitle(r"$[\tau x](s) = x(s - \tau(s))$; green: $T_{\min}(c) < T < T_{\max}(c)$ (eqs. 8, 14)")
    fig.tight_layout()
    return fig


@typechecked
def field_statistics_figure(fields: xr.Dataset) -> Figure:
    """Thesis ch. 4 Fig. 8 from [`field_statistics`][jamscope.experiments.diffeo.field_statistics]:
    (a) the measured δ against eq. 3's (π/4) n² T ln c, with the exact App. B sum (dashed);
    (b) the median of max_s Ξ against eq. 13's (c/2)√(π³ T ln c); (c) the fraction of bijective
    fields (max Ξ < 1) against T/T_max(c)."""
    fig, (a, b, c) = panels(3)
    for i, cutoff in enumerate(fields["cutoff"].values):
        row, color = fields.sel(cutoff=cutoff), f"C{i}"
        a.loglog(row["delta_eq3"], row["delta"], "o", color=color, label=f"c = {cutoff:g}")
        a.loglog(row["delta_eq3"], row["delta_exact"], "--", color=color, lw=1)
        b.loglog(row["max_xi_eq13"], row["median_max_xi"], "o", color=color, label=f"c = {cutoff:g}")
        c.semilogx(
            row["temperature"] / row["t_max"], row["bijective"], "o-", color=color, label=f"c = {cutoff:g}"
        )
    for ax in (a, b):
        lo, hi = ax.get_xlim()
        ax.loglog([lo, hi], [lo, hi], "k:", lw=1, label="y = x")
        legend(ax, fontsize=8)
    a.set(
        xlabel=r"$\delta$ of eq. 3", ylabel=r"measured $\delta$", title=r"(a) displacement (- -: exact sum)"
    )
    b.axhline(1.0, color="gray", lw=0.8)
    b.set(
        xlabel=r"$(c/2)\sqrt{\pi^3 T \ln c}$ (eq. 13)",
        ylabel=r"median $\max_s \Xi$",
        title=r"(b) $\max_s\Xi$",
    )
    c.axvline(1.0, color="gray", ls="--", lw=0.8)
    c.axhline(0.5, color="gray", lw=0.8)
    c.set(xlabel=r"$T / T_{\max}(c)$", ylabel=r"fraction with $\max_s\Xi < 1$", title="(c) bijective fields")
    legend(c, fontsize=8)
    return fig


def _select(summary: xr.Dataset, kind: str, arch: str) -> xr.Dataset:
    mask = (summary["kind"] == kind) & (summary["arch"] == arch)
    sel = summary.isel(point=np.flatnonzero(mask.values))
    return sel.isel(point=np.argsort(sel["n_train"].values))


@typechecked
def stability_figure(summary: xr.Dataset) -> Figure:
    """D_f, G_f, R_f and the test error against P at initialization (dashed) and after training
    (solid), one colour per architecture (thesis ch. 4 Figs. 3-right and 6), from
    [`stability_summary`][jamscope.experiments.diffeo.stability_summary]."""
    fig, axes = panels(4)
    names = [("d_f", "$D_f$"), ("g_f", "$G_f$"), ("r_f", "$R_f$"), ("test_error", "test error")]
    images = summary.isel(point=np.flatnonzero(summary["kind"].values == "image"))
    for i, arch in enumerate(sorted(set(images["arch"].values.tolist()))):
        sel = _select(summary, "image", arch)
        p = sel["n_train"].values
        for ax, (name, label) in zip(axes, names, strict=True):
            ax.loglog(p, sel[name].sel(state="trained"), "o-", color=f"C{i}", label=f"{arch} trained")
            if name != "test_error":
                ax.loglog(
                    p, sel[name].sel(state="init"), "o--", color=f"C{i}", mfc="none", label=f"{arch} init"
                )
            ax.set(xlabel="training-set size P", ylabel=label, xticks=p, xticklabels=[str(int(v)) for v in p])
            ax.xaxis.set_minor_formatter(NullFormatter())
    axes[2].axhline(1.0, color="gray", lw=0.8)
    for ax, title in zip(
        axes, ("(a) diffeomorphisms", "(b) noise", "(c) relative stability", "(d)"), strict=True
    ):
        ax.set_title(title)
    legend(axes[2], fontsize=8)
    return fig


@typechecked
def stripe_figure(summary: xr.Dataset) -> Figure:
    """R_f of eq. 6 against P for the stripe model (thesis ch. 4 Fig. 7-right), at initialization
    (of f₀, dashed) and after training (solid), with the predicted P⁻¹."""
    sel = _select(summary, "stripe", "fc")
    p = sel["n_train"].values.astype(float)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.8), constrained_layout=True)
    trained = sel["r_f"].sel(state="trained").values
    a.loglog(p, trained, "o-", label="trained")
    a.loglog(p, sel["r_f"].sel(state="init").values, "o--", mfc="none", label="init")
    a.loglog(p, trained[0] * p[0] / p, "k:", lw=1, label=r"$\propto P^{-1}$")
    a.set(xlabel="P", ylabel="$R_f$ (eq. 6)", title="(a) stripe model")
    legend(a, fontsize=8)
    b.semilogx(p, sel["test_error"].sel(state="trained").values, "o-")
    b.set(xlabel="P", ylabel="test error", title="(b)")
    return fig


def _figures(config: DiffeoConfig, summary: xr.Dataset, fields: xr.Dataset, out: Path) -> list[Path]:
    """Draw ``diffeo_grid.png`` (Fig. 1), ``diffeo_fields.png`` (Fig. 8), ``stability.png``
    (Figs. 3-right, 6) and ``stripe.png`` (Fig. 7) into `out`."""
    written = []

    def save(fig, name):
        fig.savefig(out / name, dpi=120)
        written.append(out / name)

    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 7)
    image = load_images(config, jax.random.PRNGKey(config.seed)).x_test[0]
    save(deformation_grid_figure(**deformation_grid(config, image, key)), "diffeo_grid.png")
    save(field_statistics_figure(fields), "diffeo_fields.png")
    if np.any(summary["kind"].values == "image"):
        save(stability_figure(summary), "stability.png")
    if np.any(summary["kind"].values == "stripe"):
        save(stripe_figure(summary), "stripe.png")
    return written


def _slope_target(summary: xr.Dataset, kind: str, arch: str, quantity: str, source: str, size: str) -> Target:
    try:
        fit = stability_slope(summary, kind, arch)
    except ValueError as err:
        return compare("diffeo", quantity, source, -1.0, None, tolerance=0.2, size=size, note=str(err))
    interval = None
    if np.isfinite(fit.stderr):
        interval = (fit.exponent - 2 * fit.stderr, fit.exponent + 2 * fit.stderr)
    return compare("diffeo", quantity, source, -1.0, fit.exponent, tolerance=0.2, interval=interval,
                   size=size)  # fmt: skip


@typechecked
def diffeo_targets(results: xr.Dataset, fields: xr.Dataset, config: DiffeoConfig) -> list[Target]:
    """The numbers of thesis ch. 4 checked on the experiment: the measured δ against eq. 3 (ratio 1,
    tolerance 0.1) and the fraction of bijective fields at T_max (eq. 14: ≈ 1/2, tolerance 0.15),
    averaged over the cutoffs; R_f ≈ 1 at initialization per architecture (tolerance 0.5); R_f ∝ P^(−1)
    for the stripe model (Fig. 7) and, for the CNN, the slope the thesis measures on ResNets (Fig.
    3-right; tolerance 0.2, interval ± 2 standard errors)."""
    summary = stability_summary(results)
    n = fields.attrs.get("n", image_side(config))
    size = f"{n}×{n} fields, c ∈ {{{', '.join(f'{c:g}' for c in config.field_cutoffs)}}}"
    ratio = float((fields["delta"] / fields["delta_eq3"]).mean())
    targets = [
        compare("diffeo", "δ measured / eq. 3", "thesis ch. 4 eq. 3", 1.0, ratio, tolerance=0.1, size=size),
        compare("diffeo", "bijective fraction at T_max", "thesis ch. 4 eq. 14", 0.5,
                float(fields["bijective_at_t_max"].mean()), tolerance=0.15, size=size),
    ]  # fmt: skip
    images = summary.isel(point=np.flatnonzero(summary["kind"].values == "image"))
    sizes = f"{config.data}, P ∈ [{min(config.n_train)}, {max(config.n_train)}], {config.seeds} nets"
    for arch in sorted(set(images["arch"].values.tolist())):
        sel = images.isel(point=np.flatnonzero(images["arch"].values == arch)).sel(state="init")
        targets.append(compare("diffeo", f"R_f at initialization, {arch}", "thesis ch. 4 §4", 1.0,
                               float(sel["r_f"].mean()), tolerance=0.5, size=sizes))  # fmt: skip
    if "cnn" in config.architectures:
        targets.append(_slope_target(summary, "image", "cnn", "trained CNN: R_f ∝ P^a",
                                     "thesis ch. 4 Fig. 3 (ResNets, CIFAR-10)", sizes))  # fmt: skip
    if config.stripe_n_train:
        low, high = min(config.stripe_n_train), max(config.stripe_n_train)
        stripe_size = f"d = {config.stripe_dim}, P ∈ [{low}, {high}]"
        targets.append(_slope_target(summary, "stripe", "fc", "stripe model: R_f ∝ P^a",
                                     "thesis ch. 4 Fig. 7, eq. 6", stripe_size))  # fmt: skip
    return targets


SMOKE = DiffeoConfig(
    n_train=(20, 40), n_test=30, n_probes=20, seeds=2, steps=20, field_samples=10, field_cutoffs=(3.0, 5.0),
    stripe_n_train=(20, 40), stripe_steps=50,
)  # fmt: skip
"""Seconds long, for the tests: P ∈ {20, 40}, 2 nets, 20 Adam steps, 10 fields per (c, T)."""


@final
class DiffeoExperiment(Experiment):
    """``jamscope diffeo``: diffeomorphisms and the relative stability R_f = D_f/G_f against P."""

    name = "diffeo"
    title = "diffeomorphisms and relative stability R_f = D_f/G_f against P (thesis ch. 4)"
    description = (
        "Sample max-entropy diffeomorphisms, measure δ and max Ξ over (c, T), train FC and CNN nets on "
        "images and the stripe model for several P, and write diffeo.nc, diffeo_fields.nc and the "
        "figures of thesis ch. 4 Figs. 1, 3, 6, 7, 8 to --out."
    )
    config_type = DiffeoConfig
    presets = {"quick": QUICK, "paper": PAPER, "smoke": SMOKE}
    preset_help = {
        "quick": "digits resized to 16 × 16, P ≤ 512, 3 nets (minutes on 2 cores)",
        "paper": "MNIST sizes (P up to 32768, 16 nets; GPU, local MNIST files)",
        "smoke": "seconds, for the tests",
    }
    float64 = False

    def points(self, config: DiffeoConfig) -> list[dict]:
        points = [{"kind": kind, "arch": arch, "n_train": p} for kind, arch, p in plan(config)]
        return points + [{"kind": "fields"}]

    def prepare_key(self, config: DiffeoConfig, point: dict) -> bool:
        return point["kind"] == "image"

    def prepare(self, config: DiffeoConfig, point: dict):
        """The image pool, its probes (diffeomorphisms and noise) and their median δ (image points)."""
        if point["kind"] != "image":
            return None
        data_key, _, probe_key = jax.random.split(jax.random.PRNGKey(config.seed), 3)
        pool = load_images(config, data_key)
        temperature = temperature_for(config.delta, config.cutoff, pool.input_shape[-1])
        diffeo = MaxEntDiffeo(temperature, config.cutoff)
        probes = perturb(probe_key, pool.x_test[: config.n_probes], diffeo, config.interpolation)
        return pool, probes, float(jnp.median(probes.delta))

    def compute(self, config: DiffeoConfig, point: dict, prepared, mesh: Mesh | None) -> xr.Dataset:
        kind = point["kind"]
        if kind == "fields":
            n = image_side(config)
            key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 7)
            return field_statistics(config, n, key).assign(n=n)
        _, init_key, _ = jax.random.split(jax.random.PRNGKey(config.seed), 3)
        if kind == "image":
            pool, probes, delta = prepared
            states, n = _image_point(config, point["arch"], point["n_train"], pool, probes, init_key, mesh)
            return _point_dataset(kind, point["arch"], point["n_train"], states, n, delta)
        states, n = _stripe_point(config, point["n_train"], init_key, mesh)
        return _point_dataset(kind, point["arch"], point["n_train"], states, n, float("nan"))

    def assemble(self, config: DiffeoConfig, pieces: list[xr.Dataset], points: list[dict]) -> dict:
        pairs = zip(pieces, points, strict=True)
        sweep = [piece for piece, point in pairs if point["kind"] != "fields"]
        fields = pieces[-1].drop_attrs()
        fields = fields.drop_vars("n").assign_attrs(n=int(fields["n"]))
        return {"diffeo": concat_points(sweep, "point"), "diffeo_fields": fields}

    def report(self, config: DiffeoConfig, results: dict, out: Path) -> tuple[str, list[Path]]:
        summary = stability_summary(results["diffeo"])
        figures = _figures(config, summary, results["diffeo_fields"], out)
        return summarize_diffeo(summary, results["diffeo_fields"]), figures

    def targets(self, config: DiffeoConfig, results: dict) -> list[Target]:
        return diffeo_targets(results["diffeo"], results["diffeo_fields"], config)


EXPERIMENT = DiffeoExperiment()
"""The diffeomorphism experiment (``jamscope diffeo``)."""
