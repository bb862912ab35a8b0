"""The jamming experiment of 000 §III–VI as one resumable sweep (`jamscope jamming`, `make demo`).

For every depth L and network size, the width h whose number of weights N is closest to the target
size is trained on P = (P/N) · N patterns for P/N on a grid around the transition: N fixed and P
varied, the protocol of 000 Fig. 6, which resolves P/N* finely even for small networks (with d = h a
step in h changes N by ≈ 2/h). At every point (L, h, P) a seed ensemble trains
vmapped with full-batch Adam on the quadratic hinge until each run reaches a certified end state
([`jamscope.end_state`][jamscope.end_state]): *fitted* (N_Δ = 0), *jammed* (its loss stopped
falling over a decade of training time at constant learning rate), *frozen* (so stopped, but with
every unsatisfied pattern on dead units: a trap of narrow ReLU networks, not a jammed state) or
*undecided* when the budget ran out. Only fitted and jammed runs feed N* and the observables near
jamming; a point's outcome is decided by its runs ([`point_outcome`][jamscope.jamming.point_outcome]).

**The paper's protocol** (000 §III and the authors' code, mariogeiger/nn_jamming) is the default:
the standard parametrization (`nets.MLP`: $a^{(i)} = W^{(i)} ρ(a^{(i-1)}) + B^{(i)}$, no 1/√h) with
orthogonal weights (QR with the sign correction, gain 1) and zero biases on every layer, d = h,
inputs x = √d z/‖z‖ of centred Gaussian z with exactly balanced alternating labels, float64,
full-batch Adam at lr 10⁻⁴. `parametrization="ntk"` trains the NTK-parametrized
[`FCNet`][jamscope.nets.FCNet] instead (W/√fan_in, unit-variance activation, bias scale β, also
orthogonal): the same functions at initialization up to the activation's prefactor, but Adam moves
each weight by ≈ lr per step whatever its scale, so the dynamics and N* differ (thesis ch. 3).
Departures: the paper divides the learning rate by 10 every 2.5·10⁵ steps; a decaying rate flattens
every loss, so the plateau test needs a constant one, and the presets hold it (`decay_every=None`).
The CPU presets (QUICK, REFERENCE) hold lr = 10⁻³, ten times 000's 10⁻⁴: at 10⁻⁴ the jammed runs of
N ≈ 150 need ≈ 10⁶ steps to pass the plateau test (their loss still falls 5–20 % per decade after
2·10⁵), beyond minutes on a CPU; PAPER keeps 10⁻⁴.

N counts the **weights** (dh + (L − 1)h² + h, the authors' convention; [G] App. B's N = 7854 at
L = 3, h = 51), which for ReLU is N_eff − 1 (000 App. A). Every point is one atomically written file
of an [`io.ResultStore`][jamscope.io.ResultStore] under ``<out>/jamming/``: a sweep killed at any
moment resumes without recomputing a finished point, and the results are exported to one labelled
Dataset. Each run keeps its end state, its trajectory on the log-spaced record grid (N*(P, t)), its
final loss, N_Δ, misclassified patterns, smallest margin, force balance, frozen patterns and all gaps
Δ_μ, and near the transition the spectra of H, H0, Hp and N_eff.

Loss and N_Δ are those of the evaluation that decided the end state (the training's last record),
so a fitted run has N_Δ = 0. The gaps are evaluated again, and a pattern that the dynamics left at
Δ = 0 to float64 precision (|Δ| within
[`MARGIN_ROUNDING`][jamscope.experiments.jamming.MARGIN_ROUNDING] of the output scale: the
quadratic hinge's force vanishes there, so the last patterns approach Δ = 0⁺ and stop at rounding
level) can have either sign in two evaluations: such patterns are counted as
`n_marginal`.
"""

import dataclasses
from pathlib import Path
from typing import Literal, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import Mesh
from matplotlib.figure import Figure

from .._checks import check_in_range, check_int_at_least, check_positive, check_positive_values
from ..curvature import decompose, n_eff, spectrum, summarize
from ..data import Dataset, digits, mnist, random_sphere
from ..end_state import (
    FITTED,
    FROZEN,
    JAMMED,
    OUTCOMES,
    UNDECIDED,
    EndCriterion,
    force_balance,
    newton_minimum,
)
from ..ensemble import gather
from ..io import combine_points
from ..jamming import (
    OverlapDistributions,
    jamming_bracket,
    n_misclassified,
    overlap_distributions,
    point_outcome,
)
from ..losses import QuadraticHinge
from ..nets import MLP, FCNet, ensemble, ensemble_outputs, flat_params, n_params
from ..train import Adam, log_spaced_steps, train
from ..typing import Float, typechecked
from ._base import Experiment, Target, compare, report_text
from ._figures import depth_colors, legend, panels, plt

__all__ = [
    "SweepConfig",
    "QUICK",
    "REFERENCE",
    "PAPER",
    "MARGIN_ROUNDING",
    "weight_count",
    "plan",
    "run_outcomes",
    "jamming_points",
    "jamming_times",
    "near_jamming",
    "extrapolate",
    "PAPER_P_OVER_N_STAR",
    "summarize_sweep",
    "jamming_transition_figure",
    "jamming_point_figure",
    "overlap_figure",
    "hessian_spectra_figure",
    "jamming_targets",
    "SMOKE",
    "JammingExperiment",
    "EXPERIMENT",
]

SUMMARY_FIELDS = ("n_zero", "n_negative", "n_positive", "c0", "moment1", "moment3", "skewness", "gap")


PAPER_P_OVER_N_STAR = (2.8, 2.9)
"""000 Fig. 6 (random data, ReLU, L = 2, 3, 5, N ≈ 8000): N_Δ/N jumps at P/N ∈ [2.8, 2.9]."""


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Every choice of the jamming sweep; each field's docstring is the help of its option of
    ``jamscope jamming``. The protocol fields (all but the grid: sizes, depths, ratios, spectra
    window and limit, fraction) are part of each point's store key."""

    sizes: tuple[int, ...] = (140,)
    """Target numbers of weights N; at each (L, size) the width h is the integer whose weight count is
    closest."""
    depths: tuple[int, ...] = (2, 3)
    """Depths L (hidden layers), comma-separated."""
    p_over_n: tuple[float, ...] = (1.6, 2.2, 3.0, 4.5)
    """Ratios P/N of the training sets of each size (P rounded to an integer)."""
    parametrization: Literal["standard", "ntk"] = "standard"
    """Standard (000: `nets.MLP`, orthogonal init, zero biases) or ntk (`nets.FCNet`, orthogonal init, biases
    of scale `bias_scale`)."""
    dim: int | None = None
    """Input dimension d ('none': d = h, as in 000)."""
    activation: Literal["relu", "tanh"] = "relu"
    """Relu (000's main case) or tanh (the smooth reference, 000 Figs. 6d, 7e–g, 8c–d)."""
    bias_scale: float = 0.1
    """Scale β of the biases (ntk parametrization)."""
    data: Literal["sphere", "digits", "mnist"] = "sphere"
    """Sphere (000 §III: centred, balanced, the authors' code), digits (scikit-learn's, PCA to d, parity
    labels, P ≤ 1797) or mnist (local IDX files under `data_root`, PCA to d, 000 §VII)."""
    data_root: str | None = None
    """Folder with the MNIST IDX files (--data mnist)."""
    seeds: int = 3
    """Runs per point (one vmapped ensemble)."""
    steps: int = 300_000
    """Adam step budget per run."""
    lr: float = 1e-3
    """Adam learning rate."""
    decay_every: int | None = None
    """Divide the learning rate by 10 every this many steps ('none': constant)."""
    lr_floor: float = 1e-7
    """Smallest learning rate."""
    margin: float = 0.5
    """Margin ε of the gaps Δ = ε − y f (000 eq. 9: 1/2)."""
    plateau: float = 1e-2
    """End criterion ([`EndCriterion`][jamscope.end_state.EndCriterion]): a run is jammed when its loss fell
    less than this fraction over a decade of training time."""
    min_steps: int = 10_000
    """No run is judged jammed before this step."""
    n_records: int = 120
    """Log-spaced records of every trajectory (the time axis of N*(P, t))."""
    newton: bool = False
    """Also run the Newton test ([`newton_minimum`][jamscope.end_state.newton_minimum]) from the end of every
    run that did not fit and record its verdict, loss, force balance, curvature and weight growth
    ‖θ‖/‖θ_end‖ (is the end a minimum at finite weights?); the outcome stays the plateau test's."""
    fraction: float = 0.5
    """Share of fitted runs that makes a point fit ([`point_outcome`][jamscope.jamming.point_outcome])."""
    spectra_window: tuple[float, float] = (1.5, 4.5)
    """Range of P/N where the spectra of H, H0, Hp and N_eff are computed."""
    spectra_max_n: int = 1500
    """Largest N with dense Hessian spectra."""
    seed: int = 0
    """PRNG seed of data and initializations."""

    def __post_init__(self):
        for name in ("sizes", "depths"):
            check_positive_values(name, getattr(self, name), integer=True)
        check_positive_values("p_over_n", self.p_over_n, integer=False)
        for name in ("seeds", "steps", "spectra_max_n", "min_steps"):
            check_int_at_least(name, getattr(self, name), 1)
        check_int_at_least("n_records", self.n_records, 10)
        if self.dim is not None:
            check_int_at_least("dim", self.dim, 1)
        if self.decay_every is not None:
            check_int_at_least("decay_every", self.decay_every, 1)
        for name in ("lr", "margin"):
            check_positive(name, getattr(self, name))
        check_positive("lr_floor", self.lr_floor, allow_zero=True)
        check_positive("bias_scale", self.bias_scale, allow_zero=True)
        EndCriterion(plateau=self.plateau, min_steps=self.min_steps)
        if not 0 < self.fraction <= 1:
            raise ValueError(f"`fraction` must lie in (0, 1], got {self.fraction!r}")
        low, high = self.spectra_window
        if not 0 <= low <= high:
            raise ValueError(
                f"`spectra_window` must be a range 0 ≤ low ≤ high of P/N, got {self.spectra_window}"
            )
        if self.data == "digits":
            check_in_range("largest P", max(self.sizes) * max(self.p_over_n) * 1.2, 1, 1797)
        if self.data == "mnist" and self.data_root is None:
            raise ValueError('data="mnist" needs `data_root`, the folder with the IDX files')

    def protocol(self) -> dict:
        """The fields that decide what one point computes (the grid fields excluded): a point's
        store key is this, its (depth, P, width) and `seed`, so growing the grid reuses points."""
        grid = ("sizes", "depths", "p_over_n", "spectra_window", "spectra_max_n", "fraction")
        fields = dataclasses.asdict(self)
        # the end states a point can be stored with are part of what it computed
        return {name: value for name, value in fields.items() if name not in grid} | {"end_states": OUTCOMES}

    def criterion(self) -> EndCriterion:
        return EndCriterion(plateau=self.plateau, min_steps=self.min_steps)


QUICK = SweepConfig()
"""`make demo`: ReLU, N ≈ 140 (h = 8, 7 for L = 2, 3), P/N = 1.6, 2.2, 3.0, 4.5, 3 seeds, lr 10⁻³ held
(10× 000's: a CPU departure, see the module docstring), at most 3·10⁵ steps."""


REFERENCE = SweepConfig(sizes=(100, 200, 400), p_over_n=(2.0, 2.5, 3.0, 3.8))
"""The finite-size study (`--reference`): N ≈ 100, 200, 400 (P* ≈ 250 to 1000), L ∈ {2, 3}, the
QUICK protocol; `--sizes 100,200,400,800` adds P* ≈ 2000 (hours on 2 cores)."""


PAPER = SweepConfig(
    sizes=(8000,),
    depths=(2, 3, 5),
    p_over_n=(2.4, 2.6, 2.7, 2.8, 2.85, 2.9, 3.0, 3.2, 3.5),
    seeds=4,
    lr=1e-4,
    steps=10_000_000,
    min_steps=100_000,
    n_records=200,
    spectra_window=(2.7, 3.1),
    spectra_max_n=9000,
)
"""000's sizes for a GPU: N ≈ 8000, d = h, P/N ∈ [2.4, 3.5], lr 10⁻⁴, up to 10⁷ steps (000 Fig. 6)."""


def weight_count(config: SweepConfig, width: int, depth: int) -> int:
    """N = dh + (L − 1)h² + h, the weights of the network (biases excluded; d = h unless `dim`)."""
    check_int_at_least("width", width, 1)
    check_int_at_least("depth", depth, 1)
    dim = width if config.dim is None else config.dim
    return dim * width + (depth - 1) * width * width + width


def _width_for(config: SweepConfig, target_n: int, depth: int) -> int:
    """The width h ≥ 1 whose weight count is closest to `target_n` (N grows with h)."""
    high = 1
    while weight_count(config, high, depth) < target_n:
        high *= 2
    candidates = range(max(1, high // 2), high + 1)
    return min(candidates, key=lambda h: abs(weight_count(config, h, depth) - target_n))


@typechecked
def plan(config: SweepConfig) -> list[tuple[int, int, int]]:
    """The points (depth, width, n_train) of the sweep, in the order they run (small first)."""
    points = []
    for depth in config.depths:
        for width in sorted({_width_for(config, size, depth) for size in config.sizes}):
            n = weight_count(config, width, depth)
            points += [(depth, width, p) for p in sorted({max(1, round(r * n)) for r in config.p_over_n})]
    return points


def _point_data(config: SweepConfig, p: int, dim: int) -> Dataset:
    key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(config.seed), dim), p)
    if config.data == "sphere":
        return random_sphere(key, p, dim, center=True, balanced=True)
    if config.data == "digits":
        return digits(key, n_train=p, pca_dim=dim)
    return mnist(config.data_root, n_train=p, n_test=0, pca_dim=dim, key=key)


def _networks(config: SweepConfig, dim: int, width: int, depth: int, seeds: int):
    key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(config.seed + 1), depth), width)

    def make(k):
        if config.parametrization == "standard":
            return MLP(k, dim, width, depth, config.activation, init="orthogonal")
        return FCNet(k, dim, width, depth, config.activation, bias_scale=config.bias_scale, init="orthogonal")

    return ensemble(make, jax.random.split(key, seeds))


def _spectra(loss, models, data: Dataset) -> dict[str, np.ndarray]:
    """Eigenvalues of H, H0, Hp of every member, their summaries (000 Fig. 7) and N_eff (App. A)."""
    parts = eqx.filter_vmap(lambda m: decompose(loss, m, data))(models)
    out = {"n_eff": np.asarray(eqx.filter_vmap(lambda m: n_eff(m, data).rank)(models), dtype=float)}
    for name in ("h", "h0", "hp"):
        eig = jax.vmap(spectrum)(getattr(parts, name))
        s = jax.vmap(lambda lam: summarize(lam, rtol=1e-9))(eig)
        out[f"eig_{name}"] = np.asarray(eig)
        out |= {f"{name}_{field}": np.asarray(getattr(s, field), dtype=float) for field in SUMMARY_FIELDS}
    return out


MARGIN_ROUNDING = 1e-12
"""|Δ_μ| ≤ `MARGIN_ROUNDING` · max(ε, max_μ |f_μ|): the pattern sits on the margin to float64
precision (10⁴ ulps of the outputs), its sign decided by rounding (`n_marginal`)."""


def _member(models, k: int):
    return jax.tree.map(lambda a: a[k] if eqx.is_array(a) else a, models)


def _run_point(config: SweepConfig, depth: int, width: int, p: int, mesh: Mesh | None) -> xr.Dataset:
    dim = width if config.dim is None else config.dim
    data = _point_data(config, p, dim)
    loss = QuadraticHinge(margin=config.margin)
    method = Adam(lr=config.lr, decay_every=config.decay_every, lr_floor=config.lr_floor)
    models, history = train(
        _networks(config, dim, width, depth, config.seeds), loss, data, method, steps=config.steps,
        end=config.criterion(), n_records=config.n_records, ensemble=True, mesh=mesh, progress=False,
    )  # fmt: skip
    # the observables run on one device: arrays split over a mesh come back whole
    models = jax.tree.map(lambda a: jnp.asarray(a) if eqx.is_array(a) else a, gather(models))
    members = [_member(models, k) for k in range(config.seeds)]
    n_delta = np.asarray(history.n_unsatisfied)[:, -1]
    outcome, n_frozen = np.asarray(history.outcome), np.asarray(history.n_frozen)
    names = ("newton_certified", "newton_loss", "newton_force_balance", "newton_curvature", "newton_growth")
    newton = {name: np.full(config.seeds, np.nan) for name in names}
    if config.newton:
        for k, member in enumerate(members):
            if outcome[k] == FITTED:
                continue
            result = newton_minimum(loss, member, data)
            growth = np.linalg.norm(flat_params(result.model)) / np.linalg.norm(flat_params(member))
            values = (result.certified, result.loss, result.force_balance, result.curvature, growth)
            for name, value in zip(names, values, strict=True):
                newton[name][k] = float(value)
    f = ensemble_outputs(models, data.x)
    gaps = np.asarray(jax.vmap(lambda fk: loss.gaps(fk, data.y))(f))
    rounding = MARGIN_ROUNDING * np.maximum(config.margin, np.abs(np.asarray(f)).max(axis=1))
    step = np.asarray(history.step)
    per_run = {  # a run stops when it is decided: its last step is the decision's (or the budget)
        "outcome": outcome.astype(float),
        "decided_step": step[:, -1].astype(float),
        "loss": np.asarray(history.loss, dtype=float)[:, -1],
        "n_delta": n_delta.astype(float),
        "n_marginal": np.sum(np.abs(gaps) <= rounding[:, None], axis=1).astype(float),
        "misclassified": np.asarray([n_misclassified(m, data) for m in members], dtype=float),
        "max_gap": gaps.max(axis=1),
        "force_balance": np.where(  # a fitted network has no forces
            outcome == FITTED, np.nan, np.asarray([force_balance(loss, m, data) for m in members])
        ),
        "n_frozen": n_frozen.astype(float),
    } | newton
    n = weight_count(config, width, depth)
    in_window = config.spectra_window[0] <= p / n <= config.spectra_window[1]
    n_total = n_params(_member(models, 0))
    spectra = _spectra(loss, models, data) if in_window and n_total <= config.spectra_max_n else {}
    variables = {name: (("member",), value) for name, value in per_run.items()}
    variables["n_eff"] = (("member",), spectra.pop("n_eff", np.full(config.seeds, np.nan)))
    variables["gaps"] = (("member", "pattern"), gaps)
    times = np.asarray(log_spaced_steps(config.steps, config.n_records))
    for name, values in (("loss_t", history.loss), ("n_delta_t", history.n_unsatisfied)):
        variables[name] = (("member", "time"), _on_grid(step, np.asarray(values, dtype=float), times))
    for name in ("h", "h0", "hp"):
        eig = spectra.pop(f"eig_{name}", np.zeros((config.seeds, 0)))
        variables[f"eig_{name}"] = (("member", "mode"), eig)
        for field in SUMMARY_FIELDS:
            value = spectra.get(f"{name}_{field}", np.full(config.seeds, np.nan))
            variables[f"{name}_{field}"] = (("member",), value)
    # per-point numbers are variables, so that the export gives each its point axis even when equal
    variables |= {"n_params": n_total, "n_weights": n, "input_dim": dim, "p_over_n": p / n}
    return xr.Dataset(variables, coords={"member": np.arange(config.seeds), "time": times})


def _on_grid(step: np.ndarray, values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Each run's recorded values at the grid `times` (the last value recorded at or before each
    time: a run that stopped keeps its final state)."""
    out = np.empty((values.shape[0], times.size))
    for k in range(values.shape[0]):
        index = np.searchsorted(step[k], times, side="right") - 1
        out[k] = values[k][np.clip(index, 0, None)]
    return out


@typechecked
def run_outcomes(results: xr.Dataset, time: float | None = None) -> xr.DataArray:
    """The end state of every run (point, member) as known at step `time` (None: at the end): a run
    decided later than `time` is undecided then. Codes of [`jamscope.end_state`][jamscope.end_state]."""
    codes = results["outcome"].astype(int)
    if time is None:
        return codes
    return codes.where(results["decided_step"] <= time, 0)


def _fraction(results: xr.Dataset) -> float:
    return float(results.attrs.get("fraction", 0.5))


@typechecked
def jamming_points(results: xr.Dataset, time: float | None = None) -> xr.Dataset:
    """P/N* brackets per (depth, width) from certified end states (000 Figs. 5c, 6): `ratio_fitted`,
    `ratio_jammed` of [`jamming_bracket`][jamscope.jamming.jamming_bracket], `p_over_n_star` their
    midpoint, `n_weights` N, `p_star` = N · P/N*, the one-sided bounds `largest_fitted` (P/N* ≥ it)
    and `smallest_jammed` (P/N* < it) from the fitted and jammed points, the counts of fitted,
    jammed, frozen and undecided runs, and of undecided points. `time`: as known at that step
    (N*(P, t)); None: at the end of every run."""
    outcomes = run_outcomes(results, time)
    fraction = _fraction(results)
    depths, widths = results["depth"].values, results["width"].values
    groups = sorted({(int(d), int(h)) for d, h in zip(depths, widths, strict=True)})
    names = ("n_weights", "ratio_fitted", "ratio_jammed", "p_over_n_star", "p_star", "runs_fitted",
             "largest_fitted", "smallest_jammed", "runs_jammed", "runs_frozen", "runs_undecided",
             "points_undecided")  # fmt: skip
    out = {name: np.full(len(groups), np.nan) for name in names}
    for i, (depth, width) in enumerate(groups):
        sel = np.flatnonzero((depths == depth) & (widths == width))
        codes = outcomes.values[sel]
        verdicts = np.array([point_outcome(c, fraction) for c in codes], dtype=np.int32)
        ratio = results["p_over_n"].values[sel]
        low, high = jamming_bracket(ratio, verdicts)
        for name, code, pick in (("largest_fitted", FITTED, np.max), ("smallest_jammed", JAMMED, np.min)):
            out[name][i] = pick(ratio[verdicts == code]) if np.any(verdicts == code) else np.nan
        n = float(results["n_weights"].values[sel[0]])
        out["n_weights"][i], out["ratio_fitted"][i], out["ratio_jammed"][i] = n, low, high
        out["p_over_n_star"][i] = 0.5 * (low + high)
        out["p_star"][i] = n * out["p_over_n_star"][i]
        for name, code in (
            ("runs_undecided", 0),
            ("runs_fitted", FITTED),
            ("runs_jammed", JAMMED),
            ("runs_frozen", FROZEN),
        ):
            out[name][i] = np.sum(codes == code)
        out["points_undecided"][i] = np.sum(verdicts == 0)
    index = {"depth": ("group", [d for d, _ in groups]), "width": ("group", [h for _, h in groups])}
    return xr.Dataset({name: ("group", value) for name, value in out.items()}, coords=index)


@typechecked
def jamming_times(results: xr.Dataset, times: tuple[float, ...] | None = None) -> xr.Dataset:
    """P/N*(t): [`jamming_points`][jamscope.experiments.jamming.jamming_points] as known at the training times
    `times` (steps), stacked along ``time`` (000 Fig. 5a: N* moves with the training time). Default:
    the record steps closest to 1/30, 1/10, 1/3 and all of the budget."""
    grid = results["time"].values
    if times is None:
        picked = {int(np.argmin(np.abs(grid - grid[-1] * f))) for f in (1 / 30, 1 / 10, 1 / 3, 1.0)}
        times = tuple(float(grid[i]) for i in sorted(picked))
    if not times:
        raise ValueError("`times` must name at least one training time")
    stacked = xr.concat([jamming_points(results, t) for t in times], dim="time")
    return stacked.assign_coords(time=np.asarray(times))


@typechecked
def near_jamming(results: xr.Dataset) -> xr.Dataset:
    """The certified jammed runs at the jammed point closest to the transition of each (depth,
    width): the rectangle of 000 Fig. 6b, whose spectra and gaps 000 Figs. 7–8 show. Dims (run, …)."""
    points = jamming_points(results)
    picked = []
    for g in range(points.sizes["group"]):
        ratio = float(points["ratio_jammed"].values[g])
        if np.isnan(ratio):
            continue
        depth, width = points["depth"].values[g], points["width"].values[g]
        here = (results["depth"] == depth) & (results["width"] == width) & (results["p_over_n"] == ratio)
        sel = results.isel(point=np.flatnonzero(here.values))
        runs = sel.stack(run=("point", "member"))
        jammed = runs.isel(run=np.flatnonzero(runs["outcome"].values == JAMMED))
        picked.append(jammed.reset_index("run", drop=True).transpose("run", ...))
    if not picked:
        raise ValueError("no (depth, width) of the sweep brackets the transition with certified runs")
    return xr.concat(picked, dim="run", join="outer")


@typechecked
def extrapolate(points: xr.Dataset, n_bootstrap: int = 1000, seed: int = 0) -> dict[int, dict[str, float]]:
    """P/N* as N → ∞ per depth: a least-squares fit P/N*(N) = c∞ + b N^(−1/2) through the bracket
    midpoints, with a bootstrap error that draws each P/N* uniformly inside its bracket (the form
    N^(−1/2) is an assumption: 000 gives no finite-size law). Needs two bracketed sizes per depth."""
    rng = np.random.default_rng(seed)
    out = {}
    for depth in np.unique(points["depth"].values):
        row = points.isel(group=np.flatnonzero(points["depth"].values == depth))
        ok = np.isfinite(row["p_over_n_star"].values)
        if ok.sum() < 2:
            continue
        n = row["n_weights"].values[ok]
        low, high = row["ratio_fitted"].values[ok], row["ratio_jammed"].values[ok]
        design = np.stack([np.ones_like(n), n**-0.5], axis=1)

        def fit(ratio, design=design):
            return np.linalg.lstsq(design, ratio, rcond=None)[0][0]

        draws = [fit(rng.uniform(low, high)) for _ in range(n_bootstrap)]
        out[int(depth)] = {"c_inf": float(fit(0.5 * (low + high))), "error": float(np.std(draws)),
                           "sizes": int(ok.sum())}  # fmt: skip
    return out


def _analyse(results: xr.Dataset):
    """P/N* brackets now and along the training time, the certified jammed runs next to the
    transition and their gap distributions (or why there are none)."""
    points = jamming_points(results)
    times = jamming_times(results)
    try:
        near = near_jamming(results)
    except ValueError as err:
        return points, times, None, f"no N_Δ/N, C0, θ, γ: {err}"
    try:
        return points, times, near, overlap_distributions(near["gaps"].values, near["loss"].values,
                                                          n_bootstrap=200)  # fmt: skip
    except ValueError as err:
        return points, times, near, f"gap exponents not fitted: {err}"


@typechecked
def summarize_sweep(results: xr.Dataset) -> str:
    """The numbers 000 reports, measured on certified runs of a sweep, each beside the paper's value
    and the size used: P/N* per (depth, N) with its bracket and its trend with the training time,
    the extrapolation N → ∞, N_Δ/N just past the jump, C0 = N₋/N of Hp, θ and γ of the gap
    distributions, and the bounds of 000 eqs. 11–13."""
    return _summary(results, *_analyse(results))


def _count_line(results: xr.Dataset) -> str:
    codes = results["outcome"].values.astype(int)
    plateau = float(results["plateau"].values[0])
    return (f"end states of {codes.size} runs after at most {int(results['time'].values[-1])} steps: "
            f"{np.sum(codes == FITTED)} fitted, {np.sum(codes == JAMMED)} jammed (loss fell < {plateau:.0%} "
            f"over a decade at constant lr), {np.sum(codes == FROZEN)} frozen (so stopped, every unsatisfied "
            f"pattern on dead units), {np.sum(codes == UNDECIDED)} undecided"
            f"{_marginal(results, codes)}")  # fmt: skip


def _marginal(results: xr.Dataset, codes: np.ndarray) -> str:
    """The fitted runs whose last patterns stopped at Δ = 0 to float64 precision (n_marginal)."""
    if "n_marginal" not in results:
        return ""
    on_margin = int(np.sum(results["n_marginal"].values[codes == FITTED] > 0))
    return f"; {on_margin} fitted runs end with patterns at Δ = 0 to float64 precision" if on_margin else ""


def _time_trend(times: xr.Dataset, g: int) -> str:
    """The bracket of group `g` as known at the training times of `times` (N*(P, t))."""
    parts = []
    for t in times["time"].values:
        row = times.sel(time=t).isel(group=g)
        low, high = float(row["ratio_fitted"]), float(row["ratio_jammed"])
        text = f"[{low:.2f}, {high:.2f})" if np.isfinite(low) else "not bracketed"
        parts.append(f"{t:.2g} steps: {text}")
    return "; ".join(parts)


_DRIFT = 2.0
"""Growth of the weights' norm under Newton beyond which the report flags a drift: L falling as the
weights grow (saturating tanh units feel exponentially small forces), not a minimum nearby."""


def _newton_lines(results: xr.Dataset) -> list[str]:
    """The Newton test of the runs that did not fit (smooth activations, `newton=True`)."""
    tested = results["newton_certified"].values if "newton_certified" in results else np.zeros(0)
    tested = tested[np.isfinite(tested)]
    if tested.size == 0:
        return []
    ok = results["newton_certified"].values == 1
    other = np.isfinite(results["newton_certified"].values) & ~ok
    lines = [f"Newton test of the {tested.size} runs that did not fit (force balance ≤ 1e-9, "
             f"λ_min/λ_max ≥ −1e-9): {int(ok.sum())} certified minima"]  # fmt: skip
    if ok.any():
        curvature, value, growth = (results[f"newton_{name}"].values[ok]
                                    for name in ("curvature", "loss", "growth"))  # fmt: skip
        lines[-1] += (f", λ_min/λ_max ≥ {curvature.min():.1e} (H ⪰ 0), L from {value.min():.3g} to "
                      f"{value.max():.3g}, the weights' norm ×{growth.min():.4g} to "
                      f"×{growth.max():.4g}")  # fmt: skip
        if growth.max() > _DRIFT:
            lines[-1] += " (grown: certified as its units saturated, not a minimum at finite weights nearby)"
    if other.any():
        balance, curvature, growth = (results[f"newton_{name}"].values[other]
                                      for name in ("force_balance", "curvature", "growth"))  # fmt: skip
        lines.append(f"  not certified: {int(other.sum())}, with force balance {balance.min():.1e} to "
                     f"{balance.max():.1e}, λ_min/λ_max {curvature.min():.1e} to {curvature.max():.1e}, the "
                     f"weights' norm ×{growth.min():.4g} to ×{growth.max():.4g} under Newton")  # fmt: skip
        if growth.max() > _DRIFT:
            lines[-1] += " (L falls as the weights grow: no minimum at finite weights nearby)"
    return lines


def _one_sided(row: xr.Dataset) -> str:
    """The bound that the decided points of one (depth, N) do give when they bracket nothing."""
    fitted, jammed = float(row["largest_fitted"]), float(row["smallest_jammed"])
    bounds = ([f"P/N* ≥ {fitted:.2f}: fitted there"] if np.isfinite(fitted) else []) + (
        [f"P/N* < {jammed:.2f}: jammed there"] if np.isfinite(jammed) else [])  # fmt: skip
    return f" ({', '.join(bounds)})" if bounds else ""


def _summary(results: xr.Dataset, points: xr.Dataset, times: xr.Dataset, near, dist) -> str:
    standard = results["parametrization"].values[0] == "standard"
    protocol = ("standard" if standard else "NTK") + " parametrization, orthogonal init"
    activation = str(results["activation"].values[0])
    lines = [
        f"jamming transition, {activation}, {protocol}, Adam lr {float(results['lr'].values[0]):g}, float64",
        "000 (N ≈ 8000, d = h, L = 2, 3, 5): P/N* ≈ 2.8–2.9; N_Δ/N jumps to ≈ 0.7–0.75 (ReLU)",
        _count_line(results),
        "P/N* from certified runs: [largest fitted, smallest jammed P/N), a point decided by half its runs:",
    ]
    for g in range(points.sizes["group"]):
        row = points.isel(group=g)
        depth, width, n = int(row["depth"]), int(row["width"]), int(row["n_weights"])
        low, high = float(row["ratio_fitted"]), float(row["ratio_jammed"])
        counts = (f"runs: {int(row['runs_fitted'])} fitted, {int(row['runs_jammed'])} jammed, "
                  f"{int(row['runs_frozen'])} frozen, {int(row['runs_undecided'])} undecided")  # fmt: skip
        if np.isfinite(low):
            text = f"P/N* ∈ [{low:.2f}, {high:.2f}) (P* ≈ {n * 0.5 * (low + high):.0f})"
        else:
            text = f"not bracketed by certified points{_one_sided(row)}"
        lines.append(f"  L = {depth}, h = d = {width}, N = {n}: {text}; {counts}")
        lines.append(f"      with training time: {_time_trend(times, g)}")
    fits = extrapolate(points)
    for depth, fit in fits.items():
        lines.append(f"  extrapolated to N → ∞ (P/N* = c∞ + b N^-1/2, {fit['sizes']} sizes): L = {depth}: "
                     f"c∞ = {fit['c_inf']:.2f} ± {fit['error']:.2f} (000: 2.8–2.9)")  # fmt: skip
    if not fits:
        lines.append("  no extrapolation N → ∞: fewer than two bracketed sizes per depth")
    bracketed = points["ratio_jammed"].values[np.isfinite(points["ratio_jammed"].values)]
    if bracketed.size:
        held = int(np.sum(bracketed >= 0.25))
        lines.append(f"  bound N* ≤ 4P (000 eq. 13: P/N* ≥ 1/4): holds for {held} of {bracketed.size}")
    lines += _near_lines(near, activation)
    lines += _newton_lines(results)
    if isinstance(dist, str):
        lines.append(dist)
    else:
        lines.append(
            f"gap exponents from {near.sizes['run']} certified jammed runs ({dist.n_plus} forces, "
            f"{dist.n_minus} gaps; 000: θ ≈ 0.3, γ ≈ 0.2 ReLU; θ ≈ 0.2, γ ≈ 0.16 tanh): "
            f"θ = {dist.theta.exponent:.2f} ± {dist.theta.stderr:.2f} on z ∈ [{dist.theta.low:.2g}, "
            f"{dist.theta.high:.2g}], γ = {-dist.gamma.exponent:.2f} ± {dist.gamma.stderr:.2f} on "
            f"|Δ| ∈ [{dist.gamma.low:.2g}, {dist.gamma.high:.2g}] (1 %–50 % quantile windows, bootstrap)"
        )
    return report_text(lines)


def _near_lines(near: xr.Dataset | None, activation: str) -> list[str]:
    """N_Δ/N at the jump, frozen patterns, C0 and the stability bounds on the runs next to jamming."""
    if near is None:
        return []
    lines = ["certified jammed runs at the smallest jammed P/N (000 Fig. 6b rectangle):"]
    for depth in np.unique(near["depth"].values):
        sel = near["depth"].values == depth
        ratio = near["n_delta"].values[sel] / near["n_weights"].values[sel]
        frozen = near["n_frozen"].values[sel]
        c0 = near["hp_c0"].values[sel]
        c0_text = f"{np.nanmean(c0):.2f}" if np.any(np.isfinite(c0)) else "n/a (no spectra there)"
        lines.append(
            f"  L = {depth}: {sel.sum()} runs, median N_Δ/N = {np.median(ratio):.2f} (000: ≈ 0.7–0.75 ReLU), "
            f"{np.sum(frozen > 0)} with some frozen patterns (on dead units, no force), "
            f"mean C0 of Hp = {c0_text} (000: 0.5 ReLU, 0.43 tanh)"
        )
    n_minus = near["hp_n_negative"].values
    has = np.isfinite(n_minus)
    if has.any():
        held = int(np.sum(near["n_delta"].values[has] >= n_minus[has]))
        kind = "a bound for smooth ρ" if activation != "relu" else "ReLU's cusps relax it to N₋ − N_c"
        lines.append(f"  N_Δ ≥ N₋ (000 eq. 11; {kind}): holds in {held} of {int(has.sum())} runs")
        if activation != "relu":
            jump = np.median(near["n_delta"].values[has] / near["n_weights"].values[has])
            c0 = np.nanmean(near["hp_c0"].values[has])
            lines.append(f"  N_Δ/N ≥ C0 at the jump (thesis ch. 2, smooth ρ): {jump:.2f} vs C0 = {c0:.2f}: "
                         f"{'holds' if jump >= c0 else 'VIOLATED'}")  # fmt: skip
    return lines


_OUTCOME_STYLE = {FITTED: ("o", "fitted"), JAMMED: ("s", "jammed (certified)"),
                  FROZEN: ("v", "frozen (dead units)"), UNDECIDED: ("x", "undecided")}  # fmt: skip


_CERTIFIED = (FITTED, JAMMED)


@typechecked
def jamming_transition_figure(results: xr.Dataset) -> Figure:
    """000 Fig. 6 from the jamming results ([`run`][jamscope.experiments.run]), by end state: (a) N_Δ/N
    against P/N (filled: certified fitted or jammed runs, line: median over the certified runs of a
    point; open triangles: frozen runs, crosses: undecided ones, both excluded from every
    statistic); (b) N_Δ/N against the final loss L of the certified jammed runs; (c) their
    misclassified patterns against L. Colours: depth L."""
    fig, (a, b, c) = panels(3)
    colors = depth_colors(results["depth"].values)
    ratio = (results["n_delta"] / results["n_weights"]).values
    outcome = results["outcome"].values.astype(int)
    loss = results["loss"].values
    for depth, color in colors.items():
        sel = results["depth"].values == depth
        for width in np.unique(results["width"].values[sel]):
            pts = np.flatnonzero(sel & (results["width"].values == width))
            order = pts[np.argsort(results["p_over_n"].values[pts])]
            x = np.repeat(results["p_over_n"].values[order][:, None], ratio.shape[1], 1)
            for code, (marker, _) in _OUTCOME_STYLE.items():
                hit = outcome[order] == code
                face = color if code in _CERTIFIED else "none"
                a.plot(x[hit], ratio[order][hit], marker, ms=4, color=color, mfc=face, alpha=0.6)
            certified = np.where(np.isin(outcome[order], _CERTIFIED), ratio[order], np.nan)
            median = np.array([np.nanmedian(r) if np.any(np.isfinite(r)) else np.nan for r in certified])
            n = int(results["n_weights"].values[pts[0]])
            a.plot(x[:, 0], median, "-", color=color, alpha=0.8, label=f"L = {depth}, N = {n}")
        jammed = sel[:, None] & (outcome == JAMMED)
        b.semilogx(loss[jammed], ratio[jammed], "s", ms=3, color=color, label=f"L = {depth}")
        c.semilogx(loss[jammed], results["misclassified"].values[jammed], "s", ms=3, color=color)
    for code, (marker, name) in _OUTCOME_STYLE.items():
        a.plot([], [], marker, color="k", mfc="k" if code in _CERTIFIED else "none", label=name)
    a.axvspan(2.8, 2.9, color="0.85", label="000: P/N* (N ≈ 8000)")
    a.set(xlabel="P / N", ylabel=r"$N_\Delta / N$", title=r"(a) $N_\Delta/N$ vs $P/N$ (000 Fig. 6a)")
    legend(a, fontsize=7)
    b.set(xlabel=r"loss $\mathcal{L}$", ylabel=r"$N_\Delta / N$",
          title=r"(b) certified jammed runs (000 Fig. 6b)")  # fmt: skip
    c.set(xlabel=r"loss $\mathcal{L}$", ylabel="misclassified", title="(c) misclassified (000 Fig. 6c)")
    legend(b)
    return fig


@typechecked
def jamming_point_figure(points: xr.Dataset, times: xr.Dataset | None = None) -> Figure:
    """000 Fig. 5(c) and the finite-size trend, from
    [`jamming_points`][jamscope.experiments.jamming.jamming_points]:
    (a) the jamming point P* against N per depth, bars spanning the bracket of certified runs, with
    P* = 2.85 N (000, N ≈ 8000) and the bound N* ≤ 4P (000 eq. 13, P* ≥ N/4); (b) P/N* against P*
    with 000's band 2.8–2.9 and, from `times`
    ([`jamming_times`][jamscope.experiments.jamming.jamming_times]), the brackets known at earlier
    training times (lighter: earlier)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for depth, color in depth_colors(points["depth"].values).items():
        groups = np.flatnonzero(points["depth"].values == depth)
        row = points.isel(group=groups)
        n, low, high = row["n_weights"].values, row["ratio_fitted"].values, row["ratio_jammed"].values
        a.errorbar(n, n * 0.5 * (low + high), yerr=n * 0.5 * (high - low), fmt="o", color=color, capsize=3,
                   label=f"L = {depth}")  # fmt: skip
        p_star = n * 0.5 * (low + high)
        if times is not None:
            shown = times["time"].values
            for i, t in enumerate(shown):
                past = times.sel(time=t).isel(group=groups)
                b.vlines(p_star * (1.0 - 0.02 * (len(shown) - i)), past["ratio_fitted"].values,
                         past["ratio_jammed"].values, color=color, alpha=0.2 + 0.6 * i / len(shown), lw=2)
        b.errorbar(p_star, 0.5 * (low + high), yerr=0.5 * (high - low), fmt="o", color=color, capsize=3,
                   label=f"L = {depth}")  # fmt: skip
    finite = np.isfinite(points["n_weights"].values)
    grid = np.linspace(0, np.nanmax(points["n_weights"].values[finite]) * 1.1, 50)
    a.plot(grid, 2.85 * grid, "k--", lw=1, label=r"$P^* = 2.85\,N$ (000, $N \approx 8000$)")
    a.plot(grid, grid / 4, "k:", lw=1, label=r"bound $N^* \leq 4P$")
    a.set(xlabel="N (weights)", ylabel=r"$P^*$", title="(a) jamming point (000 Fig. 5c)")
    legend(a, fontsize=8)
    b.axhspan(2.8, 2.9, color="0.85", label="000: 2.8–2.9 (N ≈ 8000)")
    b.set(xscale="log", xlabel=r"$P^*$", ylabel=r"$P/N^*$",
          title=r"(b) $P/N^*$ (bars: certified brackets; light: earlier times)")  # fmt: skip
    legend(b, fontsize=8)
    return fig


@typechecked
def overlap_figure(distributions: OverlapDistributions) -> Figure:
    """000 Fig. 8: P₊(z), z = Δ/√L, and P₋(|Δ|) on log–log axes with the fitted power laws."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    for ax, x, rho, fit, sign, name in (
        (a, distributions.z, distributions.p_plus, distributions.theta, 1, r"\theta"),
        (b, distributions.abs_delta, distributions.p_minus, distributions.gamma, -1, r"\gamma"),
    ):
        ax.loglog(x, np.where(rho > 0, rho, np.nan), ".", label="data")
        window = np.geomspace(fit.low, fit.high, 20)
        inside = (x >= fit.low) & (x <= fit.high) & (rho > 0)
        anchor = (
            np.exp(np.mean(np.log(rho[inside]) - fit.exponent * np.log(x[inside]))) if inside.any() else 1.0
        )
        value = sign * fit.exponent
        ax.loglog(window, anchor * window**fit.exponent, "k-",
                  label=rf"${name} = {value:.2f} \pm {fit.stderr:.2f}$")  # fmt: skip
        legend(ax)
    a.set(
        xlabel=r"$z = \Delta/\sqrt{\mathcal{L}}$", ylabel=r"$P_+(z)$", title=r"(a) unsatisfied, $\Delta > 0$"
    )
    b.set(xlabel=r"$|\Delta|$", ylabel=r"$P_-(\Delta)$", title=r"(b) satisfied, $\Delta < 0$")
    return fig


@typechecked
def hessian_spectra_figure(
    h: Float[np.ndarray, " N"],
    h0: Float[np.ndarray, " N"],
    hp: Float[np.ndarray, " N"],
    loss: float,
    *,
    zero_rtol: float | None = None,
    n_bins: int = 40,
) -> Figure:
    """The four panels of 000 Fig. 7 from the eigenvalues of H, H0 and Hp (log-binned densities).

    (a) positive part of sp(Hp); (b) the same against λ/√L, the variable in which 000 Fig. 7b
    collapses spectra taken at different losses L; (c) sp(H0) with the weight of its zero-mode
    peak; (d) sp(H), positive and negative parts. In every panel eigenvalues with
    |λ| ≤ `zero_rtol` · max|λ| (default N · ε) are zero modes: they are counted, not binned.
    Densities are normalized by N (000 Fig. 7), so each curve integrates to its share of modes.
    `loss` is the training loss L > 0.
    """
    from ..fits import log_binned_density

    n = h.shape[0]
    rtol = n * np.finfo(float).eps if zero_rtol is None else zero_rtol
    if not loss > 0:
        raise ValueError(f"`loss` must be > 0 (λ is rescaled by √L), got {loss}")

    def nonzero(lam):
        return lam[np.abs(lam) > rtol * np.max(np.abs(lam))]

    def draw(ax, values, **kwargs):
        if np.any(values > 0):
            x, rho = log_binned_density(values, n_bins=n_bins, total=n)
            ax.loglog(x, np.where(rho > 0, rho, np.nan), ".-", **kwargs)

    fig, (a, b, c, d) = panels(4)
    hp_modes = nonzero(hp)
    draw(a, hp_modes)
    a.set(xlabel=r"$\lambda$", ylabel=r"$D(\lambda)$", title=r"(a) sp($H_p$), $\lambda > 0$")
    draw(b, hp_modes / np.sqrt(loss), label=r"$\lambda > 0$")
    draw(b, -hp_modes / np.sqrt(loss), label=r"$\lambda < 0$ (as $|\lambda|$)")
    b.set(xlabel=r"$|\lambda| / \sqrt{\mathcal{L}}$", ylabel=r"$D$", title=r"(b) sp($H_p$) rescaled")
    legend(b)
    h0_modes = nonzero(h0)
    draw(c, h0_modes)
    c.set(xlabel=r"$\lambda$", ylabel=r"$D(\lambda)$", title=r"(c) sp($H_0$)")
    c.text(0.05, 0.05, f"zero modes: {1 - h0_modes.size / n:.2f} N", transform=c.transAxes)
    h_modes = nonzero(h)
    draw(d, h_modes, label=r"$\lambda > 0$")
    draw(d, -h_modes, label=r"$\lambda < 0$ (as $|\lambda|$)")
    d.set(xlabel=r"$|\lambda|$", ylabel=r"$D(\lambda)$", title=r"(d) sp($H$)")
    legend(d)
    return fig


def _figures(results: xr.Dataset, analysis: tuple, out: Path) -> list[Path]:
    """Draw the figures of 000 into `out`: ``jamming_transition.png`` (Fig. 6), ``jamming_point.png``
    (Fig. 5c and P/N* against N with its training-time trend), ``hessian_spectra.png`` (Fig. 7, of the
    certified jammed run next to the transition whose Hp has the most non-zero modes) and
    ``overlaps.png`` (Fig. 8)."""
    points, times, near, dist = analysis
    written = []

    def save(fig, name):
        fig.savefig(out / name, dpi=120)
        written.append(out / name)

    save(jamming_transition_figure(results), "jamming_transition.png")
    save(jamming_point_figure(points, times), "jamming_point.png")
    if near is not None:
        with_spectra = np.flatnonzero(np.isfinite(near["hp_c0"].values))
        if with_spectra.size:
            active = near["n_params"].values[with_spectra] - near["hp_n_zero"].values[with_spectra]
            run = near.isel(run=with_spectra[np.argmax(active)])
            eig = {name: run[f"eig_{name}"].dropna("mode").values for name in ("h", "h0", "hp")}
            save(hessian_spectra_figure(eig["h"], eig["h0"], eig["hp"], float(run["loss"]), zero_rtol=1e-9),
                 "hessian_spectra.png")  # fmt: skip
    if not isinstance(dist, str):
        save(overlap_figure(dist), "overlaps.png")
    return written


@typechecked
def jamming_targets(results: xr.Dataset) -> list[Target]:
    """The numbers of 000 checked on certified runs: P/N* per (depth, N) (its bracket; 000 Fig. 6:
    2.8–2.9 at N ≈ 8000), its extrapolation N → ∞ per depth (tolerance 0.1), and at the smallest
    jammed P/N the median N_Δ/N (000: 0.7–0.75 ReLU, tolerance 0.05), the mean C0 of Hp (000: 0.5
    ReLU, 0.43 tanh, tolerance 0.05) and the gap exponents θ, γ (000 Fig. 8: 0.3, 0.2 ReLU; 0.2,
    0.16 tanh; ± 2 standard errors)."""
    points, _, near, dist = _analyse(results)
    relu = str(results["activation"].values[0]) == "relu"
    targets = []
    for g in range(points.sizes["group"]):
        row = points.isel(group=g)
        depth, n = int(row["depth"]), int(row["n_weights"])
        low, high = float(row["ratio_fitted"]), float(row["ratio_jammed"])
        note = "" if np.isfinite(low) else f"not bracketed by certified points{_one_sided(row)}"
        size = f"N = {n}, {results.sizes['member']} runs per point"
        targets.append(compare("jamming", f"P/N*, L = {depth}", "000 Fig. 6", PAPER_P_OVER_N_STAR, None,
                               tolerance=0.0, interval=(low, high) if np.isfinite(low) else None,
                               size=size, note=note))  # fmt: skip
    for depth, fit in extrapolate(points).items():
        targets.append(compare("jamming", f"P/N* extrapolated N → ∞, L = {depth}", "000 Fig. 6",
                               PAPER_P_OVER_N_STAR, fit["c_inf"], tolerance=0.1,
                               interval=(fit["c_inf"] - 2 * fit["error"], fit["c_inf"] + 2 * fit["error"]),
                               size=f"{fit['sizes']} sizes"))  # fmt: skip
    paper = {"jump": (0.7, 0.75) if relu else (0.5, 0.6), "c0": 0.5 if relu else 0.43,
             "theta": 0.3 if relu else 0.2, "gamma": 0.2 if relu else 0.16}  # fmt: skip
    if near is None:
        return targets
    for depth in np.unique(near["depth"].values):
        sel = near["depth"].values == depth
        ratio_here = float(near["p_over_n"].values[sel][0])
        size = (f"L = {depth}, N = {int(near['n_weights'].values[sel][0])}, {int(sel.sum())} jammed runs at "
                f"P/N = {ratio_here:.2f}")  # fmt: skip
        ratio = float(np.median(near["n_delta"].values[sel] / near["n_weights"].values[sel]))
        c0 = near["hp_c0"].values[sel]
        wide = "measured at the smallest certified jammed P/N: above the jump when the bracket is wide"
        targets.append(compare("jamming", "N_Δ/N at the jump (median)", "000 Fig. 6b", paper["jump"], ratio,
                               tolerance=0.05, size=size, note=wide))  # fmt: skip
        targets.append(compare("jamming", "C0 of Hp (mean)", "000 Fig. 7", paper["c0"],
                               float(np.nanmean(c0)) if np.any(np.isfinite(c0)) else None, tolerance=0.05,
                               size=size))  # fmt: skip
    if not isinstance(dist, str):
        size = f"{near.sizes['run']} jammed runs, {dist.n_plus} forces, {dist.n_minus} gaps"
        for name, fit, sign in (("θ (small forces)", dist.theta, 1), ("γ (small gaps)", dist.gamma, -1)):
            value = sign * fit.exponent
            key = "theta" if name.startswith("θ") else "gamma"
            interval = (value - 2 * fit.stderr, value + 2 * fit.stderr)
            targets.append(compare("jamming", name, "000 Fig. 8", paper[key], value, tolerance=0.0,
                                   interval=interval, size=size))  # fmt: skip
    return targets


SMOKE = SweepConfig(
    sizes=(20,), depths=(1,), p_over_n=(0.3, 5.0), seeds=2, steps=4000, lr=0.01, min_steps=500, n_records=40
)
"""Seconds long, for the tests: N ≈ 20, L = 1, P/N ∈ {0.3, 5}, 2 runs, 4000 steps."""


@final
class JammingExperiment(Experiment):
    """``jamscope jamming`` (`make demo`): the jamming transition of 000."""

    name = "jamming"
    title = "the jamming transition: N_Δ/N, N*, spectra and gap distributions (000 Figs. 5c–8)"
    description = (
        "Sweep P/N around the jamming transition for several depths and sizes (000 §III–VI), every run "
        "ending fitted, jammed (certified), frozen (dead units) or undecided; write jamming.nc and the "
        "figures of 000 Figs. 5c, 6, 7 and 8 to --out."
    )
    config_type = SweepConfig
    presets = {"quick": QUICK, "paper": PAPER, "smoke": SMOKE, "reference": REFERENCE}
    preset_help = {
        "quick": "`make demo`: N ≈ 140, L = 2, 3, P/N ∈ [1.6, 4.5], 3 runs (minutes on 2 cores)",
        "paper": "the paper's sizes (N ≈ 8000, d = h, up to 10⁷ steps; GPU)",
        "smoke": "seconds, for the tests",
        "reference": "the finite-size study: N ≈ 100, 200, 400 (P* ≈ 250–1000), L = 2, 3",
    }

    def points(self, config: SweepConfig) -> list[dict]:
        return [{"depth": d, "width": h, "n_train": p} for d, h, p in plan(config)]

    def point_key(self, config: SweepConfig, point: dict) -> dict:
        # the protocol without the grid: a grown grid reuses the points already computed
        return config.protocol() | point

    def compute(self, config: SweepConfig, point: dict, prepared: None, mesh: Mesh | None) -> xr.Dataset:
        return _run_point(config, point["depth"], point["width"], point["n_train"], mesh)

    def assemble(self, config: SweepConfig, pieces: list[xr.Dataset], points: list[dict]) -> dict:
        return {"jamming": combine_points(pieces).assign_attrs(fraction=config.fraction)}

    def report(self, config: SweepConfig, results: dict, out: Path) -> tuple[str, list[Path]]:
        analysis = _analyse(results["jamming"])
        return _summary(results["jamming"], *analysis), _figures(results["jamming"], analysis, out)

    def targets(self, config: SweepConfig, results: dict) -> list[Target]:
        return jamming_targets(results["jamming"])


EXPERIMENT = JammingExperiment()
"""The jamming experiment (``jamscope jamming``, `make demo`)."""
