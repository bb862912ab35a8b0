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

**The paper's protocol** (000 §III and the authors' code, ``notes/jamming.md`` §6) is the default:
the standard parametrization (`nets.MLP`: a^{(i)} = W^{(i)} ρ(a^{(i−1)}) + B^{(i)}, no 1/√h) with
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
Δ = 0 to float64 precision (|Δ| within [`MARGIN_ROUNDING`][jamscope.sweep.MARGIN_ROUNDING] of the
output scale: the quadratic hinge's force vanishes there, so the last patterns approach Δ = 0⁺ and
stop at rounding level) can have either sign in two evaluations: such patterns are counted as
`n_marginal`.
"""

import dataclasses
from pathlib import Path
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import Mesh

from ._checks import check_in_range, check_int_at_least, check_positive, check_positive_values
from .curvature import decompose, n_eff, spectrum, summarize
from .data import Dataset, digits, mnist, random_sphere
from .end_state import (
    FITTED,
    FROZEN,
    JAMMED,
    OUTCOMES,
    EndCriterion,
    force_balance,
    newton_minimum,
)
from .ensemble import gather
from .io import ResultStore, export_store, run_points
from .jamming import jamming_bracket, n_misclassified, point_outcome
from .losses import QuadraticHinge
from .nets import MLP, FCNet, ensemble, ensemble_outputs, flat_params, n_params
from .train import Adam, log_spaced_steps, train
from .typing import typechecked

__all__ = [
    "SweepConfig",
    "QUICK",
    "REFERENCE",
    "PAPER",
    "MARGIN_ROUNDING",
    "weight_count",
    "plan",
    "run_sweep",
    "run_outcomes",
    "jamming_points",
    "jamming_times",
    "near_jamming",
    "extrapolate",
    "PAPER_P_OVER_N_STAR",
]

SUMMARY_FIELDS = ("n_zero", "n_negative", "n_positive", "c0", "moment1", "moment3", "skewness", "gap")
PAPER_P_OVER_N_STAR = (2.8, 2.9)
"""000 Fig. 6 (random data, ReLU, L = 2, 3, 5, N ≈ 8000): N_Δ/N jumps at P/N ∈ [2.8, 2.9]."""


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Every choice of the sweep; the protocol fields are part of each point's store key.

    - `sizes`: target numbers of weights N; at each (L, size) the width h is the integer whose
      weight count is closest. `depths`: the depths L. `p_over_n`: the ratios P/N of each size's
      training sets (P rounded to an integer).
    - `parametrization`: ``"standard"`` (000's protocol, `nets.MLP` with orthogonal init) or
      ``"ntk"`` (`nets.FCNet`, orthogonal init, biases of scale `bias_scale`).
    - `dim`: input dimension d, or None for d = h (000's random-data runs).
    - `activation`: ``"relu"`` (000's main case) or ``"tanh"`` (the smooth reference, 000 Figs. 6d,
      7e–g, 8c–d).
    - `data`: ``"sphere"`` (000 §III: centred, balanced; the authors' code), ``"digits"``
      (scikit-learn's digits, PCA to d, parity labels; P ≤ 1797) or ``"mnist"`` (local IDX files
      under `data_root`, PCA to d, 000 §VII).
    - `seeds`: runs per point (one vmapped ensemble). `steps`: the Adam budget per run. `lr`,
      `decay_every`, `lr_floor`: the schedule (lr ÷ 10 every `decay_every` steps, floored; None:
      constant). `margin`: ε of Δ = ε − y f (000 eq. 9: 1/2).
    - `plateau`, `min_steps`: the end criterion ([`EndCriterion`][jamscope.end_state.EndCriterion]).
      `n_records`: log-spaced records of every trajectory (the time axis of N*(P, t)).
    - `newton`: also run the Newton test ([`newton_minimum`][jamscope.end_state.newton_minimum]) from
      the end of every run that did not fit and record its verdict, loss, force balance, curvature
      and the growth ‖θ‖/‖θ_end‖ of the weights (smooth activations: is the end a minimum at finite
      weights?). The outcome stays the plateau test's.
    - `fraction`: share of fitted runs that makes a point fit
      ([`point_outcome`][jamscope.jamming.point_outcome]).
    - `spectra_window`: P/N range where H, H0, Hp spectra and N_eff are computed; `spectra_max_n`:
      not above this N. `seed`: the PRNG seed of data and initializations.
    """

    sizes: tuple[int, ...] = (140,)
    depths: tuple[int, ...] = (2, 3)
    p_over_n: tuple[float, ...] = (1.6, 2.2, 3.0, 4.5)
    parametrization: Literal["standard", "ntk"] = "standard"
    dim: int | None = None
    activation: Literal["relu", "tanh"] = "relu"
    bias_scale: float = 0.1
    data: Literal["sphere", "digits", "mnist"] = "sphere"
    data_root: str | None = None
    seeds: int = 3
    steps: int = 300_000
    lr: float = 1e-3
    decay_every: int | None = None
    lr_floor: float = 1e-7
    margin: float = 0.5
    plateau: float = 1e-2
    min_steps: int = 10_000
    n_records: int = 120
    newton: bool = False
    fraction: float = 0.5
    spectra_window: tuple[float, float] = (1.5, 4.5)
    spectra_max_n: int = 1500
    seed: int = 0

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


def _store_points(config: SweepConfig) -> list[tuple[dict, int]]:
    protocol = config.protocol()
    return [(protocol | {"depth": d, "width": h, "n_train": p}, config.seed) for d, h, p in plan(config)]


@typechecked
def run_sweep(
    config: SweepConfig, out: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> xr.Dataset:
    """Run (or resume) the sweep: one store file per point under ``out/jamming/``, exported to
    ``out/jamming.nc``; returns the exported Dataset (dims point, member, pattern, mode, time).

    `mesh`: split each point's seed ensemble over these devices
    ([`jamscope.ensemble`][jamscope.ensemble]; None: vmap on one device).
    """
    store = ResultStore(out / "jamming")

    def compute(point: dict, seed: int) -> xr.Dataset:
        return _run_point(config, point["depth"], point["width"], point["n_train"], mesh)

    keys = run_points(store, _store_points(config), compute, progress=progress)
    results = export_store(store, out / "jamming.nc", keys=keys)
    return results.assign_attrs(experiment="jamming sweep (000 §III–VI)", fraction=config.fraction)


# ----------------------------------------------------------------------------------------------
# Analysis


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
    """P/N*(t): [`jamming_points`][jamscope.sweep.jamming_points] as known at the training times
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
