"""Memory and the landscape of policy learning in the two-hypothesis POMDP (thesis ch. 7 Figs. 2, 4).

Two measurements, one resumable results file (``pomdp.nc``), every chain solved exactly in float64
([`jamscope.pomdp`][jamscope.pomdp]):

- **Fig. 2** (one point per (μ, M)): for each reset r of `resets`, the exact q of the column of
  confidence policy (CCP) at its exact optimal exit rate ε*(r), beside eq. 7's r → 0 value, and the q
  reached by gradient flow on G started from the CCP + 10⁻⁴ (the paper's initialization); the paper
  finds that learning never beats the CCP.
- **Fig. 4** (one point per curve): gradient flow on G (eq. 3, the adaptive step of
  [`GradientFlow`][jamscope.train.GradientFlow] on [`NegativeGain`][jamscope.pomdp.NegativeGain]) from
  every initialization of the figure, `seeds` seeds vmapped (one for the deterministic CCP and necklace
  starts): RAM of M states (random, linear, columns, CCP) and Memento of length m (random, cycles,
  necklace) at μ = `mu`, r = `reset` (panels A–D), and RAM against Memento at equal M_eff = 4M = 4^m,
  r = `equal_reset` (panels E–F). q(t) is recorded at log-spaced steps against the flow time t of eq. 3
  for G (the authors' code ascends r G, whose time is t/r).
- **Landscape** (beyond the paper, which only says "local optimum"): at the end of every run with at
  most `hessian_max_params` logits, the Hessian of −G in the logits
  ([`gain_hessian`][jamscope.pomdp.gain_hessian]): its negative
  eigenvalues (directions along which G still rises: a saddle, or a run not yet at its end), its zero
  modes (softmax shifts, unvisited observations, saturated probabilities) and the gradient norm.

Departures from the paper, each an option: the step rule is jamscope's (thesis ch. 3 eqs. 8–9 on the
policy's probabilities, not the authors' rejection of a decrease of G); runs stop at `steps` accepted
steps, not after an hour of wall time; the CPU preset uses fewer sizes and seeds.
"""

import dataclasses
import hashlib
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

from .._checks import check_int_at_least, check_positive_values
from ..curvature import spectrum, summarize
from ..pomdp import (
    RAM,
    Memento,
    NegativeGain,
    TwoHypothesis,
    ccp_q,
    ccp_ram,
    column_of_confidence,
    columns_ram,
    cycles_memento,
    gain_hessian,
    linear_ram,
    necklace_bound,
    necklace_policy,
    optimal_ccp_exit_rate,
    worst_arm_probability,
)
from ..train import gradient_flow
from ..typing import typechecked
from ._base import Experiment, Target, compare, report_text
from ._figures import legend, panels, plt

__all__ = [
    "PomdpConfig",
    "QUICK",
    "PAPER",
    "SMOKE",
    "plan",
    "initial_memories",
    "learning_summary",
    "summarize_pomdp",
    "ccp_figure",
    "learning_figure",
    "pomdp_targets",
    "PomdpExperiment",
    "EXPERIMENT",
]

Init = Literal["random", "linear", "columns", "ccp", "cycles", "necklace"]
RAM_INITS: tuple[str, ...] = ("random", "linear", "columns", "ccp")
MEMENTO_INITS: tuple[str, ...] = ("random", "cycles", "necklace")
OFFSET = 1e-4
"""The 10⁻⁴ added to the probabilities of every initialization before the log (Fig. 4 caption)."""


@dataclasses.dataclass(frozen=True)
class PomdpConfig:
    """Every choice of the POMDP experiment; each field's docstring is the help of its option of
    ``jamscope pomdp``; every field is part of each point's store key."""

    mus: tuple[float, ...] = (0.1, 0.2)
    """Arm gaps μ of Fig. 2."""
    ccp_sizes: tuple[int, ...] = (3, 5, 10)
    """RAM sizes M of Fig. 2 (the paper: 5, 10, 20)."""
    resets: tuple[float, ...] = tuple(2.0**-k for k in range(2, 21, 2))
    """Reset probabilities r of Fig. 2 (the paper: 2⁻²⁰ … 2⁻¹)."""
    ccp_steps: int = 20_000
    """Gradient-flow steps from the CCP + 10⁻⁴ per (μ, M, r) of Fig. 2."""
    mu: float = 0.1
    """Arm gap μ of Fig. 4."""
    reset: float = 1e-3
    """Reset r of Fig. 4 A–D (the authors' code: 10⁻³)."""
    ram_sizes: tuple[int, ...] = (8,)
    """RAM sizes M of Fig. 4 A–B (the paper: 8, 20)."""
    ram_inits: tuple[Init, ...] = RAM_INITS
    """Starts of the RAM curves of Fig. 4 A–B: random, linear, columns, ccp."""
    memento_lengths: tuple[int, ...] = (3,)
    """Memento lengths m of Fig. 4 C–D (the paper: 3, 4)."""
    memento_inits: tuple[Init, ...] = MEMENTO_INITS
    """Starts of the Memento curves of Fig. 4 C–D: random, cycles, necklace."""
    equal_lengths: tuple[int, ...] = (3,)
    """Memento lengths m compared with a RAM of M = 4^(m−1) at equal M_eff (Fig. 4 E–F: 3, 4)."""
    equal_reset: float = 1e-5
    """Reset r of Fig. 4 E–F (the authors' code: 10⁻⁵)."""
    seeds: int = 5
    """Seeds per random initialization of Fig. 4 (the paper: 20)."""
    steps: int = 60_000
    """Accepted gradient-flow steps per Fig. 4 run (the paper: one hour of wall time, t ≤ 10⁹/r)."""
    n_records: int = 40
    """Log-spaced records of q(t) per run."""
    hessian_max_params: int = 1000
    """Largest number N of logits whose N × N Hessian of −G is taken at the end of a Fig. 4 run."""
    seed: int = 0
    """PRNG seed of the random initializations."""

    def __post_init__(self):
        for name in ("ccp_sizes", "ram_sizes", "memento_lengths", "equal_lengths"):
            check_positive_values(name, getattr(self, name), integer=True)
        for name in ("ccp_steps", "steps", "seeds"):
            check_int_at_least(name, getattr(self, name), 1)
        check_int_at_least("n_records", self.n_records, 2)
        check_int_at_least("hessian_max_params", self.hessian_max_params, 0)
        for name, values, allowed in (("ram_inits", self.ram_inits, RAM_INITS),
                                      ("memento_inits", self.memento_inits, MEMENTO_INITS)):  # fmt: skip
            if not values or not set(values) <= set(allowed):
                raise ValueError(f"`{name}` must be a non-empty subset of {allowed}, got {values}")
        for name, values in (("mus", self.mus), ("resets", self.resets), ("mu", (self.mu,)),
                             ("reset", (self.reset,)), ("equal_reset", (self.equal_reset,))):  # fmt: skip
            if not values or not all(isinstance(v, int | float) and 0.0 < v < 1.0 for v in values):
                raise ValueError(f"`{name}` must be numbers in (0, 1), got {values}")
        if len(set(self.resets)) < 3:
            raise ValueError(f"`resets` must hold 3 values or more (to extrapolate r → 0), got {self.resets}")
        if any(m < 2 for m in self.ccp_sizes + self.ram_sizes):
            raise ValueError("`ccp_sizes` and `ram_sizes` must be ≥ 2 (a CCP needs two levels)")
        if any(m > 6 for m in self.memento_lengths + self.equal_lengths):
            raise ValueError("`memento_lengths` and `equal_lengths` must be ≤ 6 (dense chains of 4^m states)")


QUICK = PomdpConfig()
"""The defaults (about 8 minutes on 2 cores): Fig. 2 for M = 3, 5, 10 and μ = 0.1, 0.2 at r = 2⁻², 2⁻⁴ … 2⁻²⁰;
Fig. 4 A (RAM M = 8), C (Memento m = 3) and E (m = 3 against M = 16), 5 seeds, 6·10⁴ steps."""

PAPER = PomdpConfig(
    ccp_sizes=(5, 10, 20),
    resets=tuple(2.0**-k for k in range(1, 21)),
    ccp_steps=200_000,
    ram_sizes=(8, 20),
    memento_lengths=(3, 4),
    equal_lengths=(3, 4),
    seeds=20,
    steps=1_000_000,
    hessian_max_params=20_000,
)
"""The paper's sizes: Fig. 2 for M = 5, 10, 20 at r = 2⁻¹ … 2⁻²⁰; Fig. 4 A–F with 20 seeds and 10⁶ steps
per run (the paper stops runs after an hour; a GPU, or hours on CPUs)."""

SMOKE = PomdpConfig(
    mus=(0.2,), ccp_sizes=(2,), resets=(0.25, 0.0625, 0.015625), ccp_steps=20, ram_sizes=(2,),
    ram_inits=("random", "ccp"), memento_lengths=(2,), memento_inits=("necklace",), equal_lengths=(2,),
    equal_reset=1e-3, seeds=2, steps=50, n_records=5, hessian_max_params=50,
)  # fmt: skip
"""Seconds long, for the tests."""


@typechecked
def plan(config: PomdpConfig) -> list[dict]:
    """The points of the experiment: one per (μ, M) of Fig. 2, then one per curve of Fig. 4
    (`panel` A–F as in the paper, `memory` ram or memento, `size` M or m, `init`, `reset`)."""
    points = [{"kind": "ccp", "mu": mu, "size": m} for mu in config.mus for m in config.ccp_sizes]
    for i, size in enumerate(config.ram_sizes):
        name = _panel("AB", i)
        points += [{"kind": "learning", "panel": name, "memory": "ram", "size": size, "init": init,
                    "reset": config.reset} for init in config.ram_inits]  # fmt: skip
    for i, length in enumerate(config.memento_lengths):
        name = _panel("CD", i)
        points += [{"kind": "learning", "panel": name, "memory": "memento", "size": length, "init": init,
                    "reset": config.reset} for init in config.memento_inits]  # fmt: skip
    for i, length in enumerate(config.equal_lengths):
        name = _panel("EF", i)
        points += [{"kind": "learning", "panel": name, "memory": memory, "size": size, "init": "random",
                    "reset": config.equal_reset}
                   for memory, size in (("memento", length), ("ram", 4 ** (length - 1)))]  # fmt: skip
    return points


def _panel(letters: str, i: int) -> str:
    """The panel of Fig. 4 of the i-th size of a kind (A, B for RAM; C, D for Memento; E, F for the
    equal-M_eff pairs), numbered beyond the paper's two sizes."""
    return letters[i] if i < len(letters) else f"{letters[0]}{i + 1}"


@typechecked
def initial_memories(config: PomdpConfig, point: dict) -> RAM | Memento:
    """The starting memories of one Fig. 4 curve, stacked along a leading seed axis (one member for
    the deterministic CCP and necklace starts). Necklace: ε₀ = √r, ε₁ = r^(1/4) (the authors' code)."""
    problem = TwoHypothesis(mu=config.mu, reset=point["reset"])
    size, init = int(point["size"]), point["init"]
    if init == "ccp":
        one = ccp_ram(problem, size, offset=OFFSET)
    elif init == "necklace":
        r = float(point["reset"])
        one = necklace_policy(size, math.sqrt(r), r**0.25, offset=OFFSET)
    else:
        makers = {"random": RAM.random if point["memory"] == "ram" else Memento.random,
                  "linear": lambda k, s: linear_ram(k, s, offset=OFFSET),
                  "columns": lambda k, s: columns_ram(k, s, offset=OFFSET),
                  "cycles": lambda k, s: cycles_memento(k, s, offset=OFFSET)}  # fmt: skip
        key = jax.random.fold_in(jax.random.PRNGKey(config.seed), _curve_code(point))
        members = [makers[init](k, size) for k in jax.random.split(key, config.seeds)]
        return jax.tree.map(lambda *leaves: jnp.stack(leaves), *members)
    return jax.tree.map(lambda a: a[None], one)


def _curve_code(point: dict) -> int:
    """A stable integer per (memory, size, init, reset), for the seeds of a curve: the first 31 bits
    of the SHA-256 of its description."""
    text = f"{point['memory']}-{point['size']}-{point['init']}-{point['reset']!r}"
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) >> 1


def _ccp_point(config: PomdpConfig, mu: float, size: int) -> xr.Dataset:
    """Fig. 2 at one (μ, M): exact q at ε*(r) and the q learned from the CCP + 10⁻⁴, per r."""
    exact, learned, change, epsilon = [], [], [], []
    for r in config.resets:
        problem = TwoHypothesis(mu=mu, reset=r)
        epsilon.append(optimal_ccp_exit_rate(problem, size))
        start = jax.tree.map(lambda a: a[None], column_of_confidence(size, epsilon[-1], offset=OFFSET))
        exact.append(float(worst_arm_probability(problem, column_of_confidence(size, epsilon[-1]))))
        trained, history = gradient_flow(
            start, NegativeGain(problem), None, steps=config.ccp_steps, ensemble=True,
            n_records=config.n_records, progress=False,
        )  # fmt: skip
        learned.append(float(worst_arm_probability(problem, jax.tree.map(lambda a: a[0], trained))))
        q = _worst_arm_of_loss(history.loss[0], r, mu)
        change.append(_last_decade_change(np.asarray(history.time[0]), q))
    reset = xr.DataArray(np.asarray(config.resets), dims="reset")
    return xr.Dataset({
        "ccp_q": ("reset", np.asarray(exact)),
        "ccp_learned_q": ("reset", np.asarray(learned)),
        "ccp_learned_change": ("reset", np.asarray(change)),
        "ccp_epsilon": ("reset", np.asarray(epsilon)),
    }, coords={"reset": reset})  # fmt: skip


def _worst_arm_of_loss(loss, reset: float, mu: float) -> np.ndarray:
    """q from the recorded losses −G of a gradient flow on `NegativeGain`: G = (μ/r)(1 − 2q)."""
    return 0.5 * (1.0 + reset * np.asarray(loss) / mu)


SETTLED = 0.01
"""A learned q has *settled* when it moved by less than 1 % over the last decade of flow time (the
plateau test of [`EndCriterion`][jamscope.end_state.EndCriterion], on q); fixed before any run."""


def _last_decade_change(time: np.ndarray, q: np.ndarray) -> float:
    """|q(t_end/10) − q(t_end)| / q(t_end), q interpolated in log t; inf when the run did not cover
    a decade of flow time."""
    end = time[-1]
    inside = time > 0
    if end <= 0 or time[inside][0] > end / 10:
        return math.inf
    earlier = np.interp(math.log(end / 10), np.log(time[inside]), q[inside])
    return float(abs(earlier - q[-1]) / q[-1])


def _learning_point(config: PomdpConfig, point: dict) -> xr.Dataset:
    """One Fig. 4 curve: q(t) per seed, the final q, and the landscape at the end of each run."""
    problem = TwoHypothesis(mu=config.mu, reset=point["reset"])
    start = initial_memories(config, point)
    trained, history = gradient_flow(start, NegativeGain(problem), None, steps=config.steps, ensemble=True,
                                     n_records=config.n_records, progress=False)  # fmt: skip
    r, mu = float(point["reset"]), config.mu
    q = _worst_arm_of_loss(history.loss, r, mu)
    members = q.shape[0]
    final = np.asarray(eqx.filter_vmap(lambda m: worst_arm_probability(problem, m))(trained))
    time = np.asarray(history.time)
    change = np.array([_last_decade_change(time[i], q[i]) for i in range(members)])
    n_negative, n_zero, n_params, grad_norm, lam_min, lam_max = (np.full(members, np.nan) for _ in range(6))
    gradient = eqx.filter_vmap(eqx.filter_grad(lambda m: NegativeGain(problem).value_and_outputs(m)[0]))
    grads = gradient(trained)
    for i in range(members):
        member = jax.tree.map(lambda a, i=i: a[i], trained)
        flat = jnp.concatenate([jnp.ravel(g[i]) for g in jax.tree.leaves(grads)])
        grad_norm[i] = float(jnp.linalg.norm(flat))
        if flat.size <= config.hessian_max_params:
            eigenvalues = spectrum(-gain_hessian(problem, member))
            stats = summarize(eigenvalues, rtol=_HESSIAN_RTOL)
            n_negative[i], n_zero[i], n_params[i] = int(stats.n_negative), int(stats.n_zero), stats.n
            lam_min[i], lam_max[i] = float(eigenvalues[0]), float(eigenvalues[-1])
    size = int(point["size"])
    if point["memory"] == "ram":  # the references at this r: the exact CCP, or the necklace policy and q*
        reference, bound = ccp_ram(problem, size, offset=0.0), np.nan
    else:
        reference, bound = necklace_policy(size, math.sqrt(r), r**0.25), necklace_bound(mu, size)
    return xr.Dataset({
        "reference_q": float(worst_arm_probability(problem, reference)),
        "bound_q": bound,
        "time": (("member", "record"), np.asarray(history.time)),
        "q": (("member", "record"), q),
        "final_q": ("member", final),
        "change": ("member", change),
        "n_negative": ("member", n_negative),
        "n_zero": ("member", n_zero),
        "n_params": ("member", n_params),
        "grad_norm": ("member", grad_norm),
        "lambda_min": ("member", lam_min),
        "lambda_max": ("member", lam_max),
    })  # fmt: skip


_HESSIAN_RTOL = 1e-9
"""Zero modes of the Hessian of −G: |λ| ≤ 10⁻⁹ max|λ| (the Hessian is assembled through a solve of
condition ~1/r, so its rounding is well above N ε; fixed before any run)."""


def _curve_name(point: dict) -> str:
    size = f"M = {point['size']}" if point["memory"] == "ram" else f"m = {point['size']}"
    return f"{point['panel']}: {point['memory']} {size}, {point['init']}, r = {point['reset']:g}"


def _assemble(config: PomdpConfig, pieces: list[xr.Dataset], points: list[dict]) -> xr.Dataset:
    ccp = [(p, d) for p, d in zip(points, pieces, strict=True) if p["kind"] == "ccp"]
    curves = [(p, d) for p, d in zip(points, pieces, strict=True) if p["kind"] == "learning"]
    out = xr.Dataset()
    if ccp:
        grid = {(p["mu"], p["size"]): d for p, d in ccp}
        for name in ("ccp_q", "ccp_learned_q", "ccp_learned_change", "ccp_epsilon"):
            values = np.stack([np.stack([grid[(mu, m)][name].values for m in config.ccp_sizes])
                               for mu in config.mus])  # fmt: skip
            out[name] = (("mu", "size", "reset"), values)
        out = out.assign_coords(mu=list(config.mus), size=list(config.ccp_sizes), reset=list(config.resets))
    if curves:
        width = max(d.sizes["member"] for _, d in curves)
        records = max(d.sizes["record"] for _, d in curves)

        def padded(d, name):
            values = d[name].values
            pad = [(0, width - values.shape[0])] + [(0, records - s) for s in values.shape[1:]]
            return np.pad(values.astype(float), pad, constant_values=np.nan)

        for name in ("time", "q", "final_q", "change", "n_negative", "n_zero", "n_params", "grad_norm",
                     "lambda_min", "lambda_max"):  # fmt: skip
            dims = ("curve", "member", "record") if name in ("time", "q") else ("curve", "member")
            out[name] = (dims, np.stack([padded(d, name) for _, d in curves]))
        for name in ("reference_q", "bound_q"):
            out[name] = ("curve", np.array([float(d[name]) for _, d in curves]))
        labels = {"curve_panel": "panel", "curve_memory": "memory", "curve_init": "init"}
        out = out.assign_coords(
            curve=[_curve_name(p) for p, _ in curves],
            curve_size=("curve", [int(p["size"]) for p, _ in curves]),
            curve_reset=("curve", [float(p["reset"]) for p, _ in curves]),
            **{k: ("curve", np.array([p[v] for p, _ in curves], dtype=object)) for k, v in labels.items()},
        )
    return out.assign_attrs(mu=config.mu)


@typechecked
def learning_summary(results: xr.Dataset) -> xr.Dataset:
    """Per Fig. 4 curve: the median final q over seeds, how many runs settled (q moved by less than
    `SETTLED` over the last decade of flow time) and the median over those alone, the references at
    that r (the exact CCP q at ε*(r) for the RAM's M, and for a Memento the necklace policy's q at
    ε₀ = √r, ε₁ = r^(1/4) and eq. 10's q*), and the landscape: the median count of negative and zero
    Hessian eigenvalues, N, and the median gradient norm."""
    names = ("median_q", "settled_q", "ccp_q", "necklace_q", "bound_q", "negative", "zero", "n", "grad_norm",
             "members", "settled")  # fmt: skip
    rows = {name: [] for name in names}
    for curve in results["curve"].values:
        c = results.sel(curve=curve)
        ram = str(c["curve_memory"].values) == "ram"
        rows["median_q"].append(float(np.nanmedian(c["final_q"])))
        rows["members"].append(int(np.isfinite(c["final_q"]).sum()))
        settled = c["change"].values < SETTLED
        rows["settled"].append(int(settled.sum()))
        rows["settled_q"].append(float(np.median(c["final_q"].values[settled])) if settled.any() else np.nan)
        rows["ccp_q"].append(float(c["reference_q"]) if ram else np.nan)
        rows["necklace_q"].append(np.nan if ram else float(c["reference_q"]))
        rows["bound_q"].append(float(c["bound_q"]))
        for name, variable in (("negative", "n_negative"), ("zero", "n_zero"), ("n", "n_params"),
                               ("grad_norm", "grad_norm")):  # fmt: skip
            values = c[variable].values
            rows[name].append(float(np.nanmedian(values)) if np.isfinite(values).any() else np.nan)
    return xr.Dataset({name: ("curve", np.asarray(v, float)) for name, v in rows.items()},
                      coords={"curve": results["curve"].values})  # fmt: skip


def _extrapolated_q(reset: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """q of the CCP as r → 0 from its three smallest resets: the intercept q₀ of q = q₀ + c√r + d r
    through them (eq. 7 plus its O(√r) and O(r) corrections), and of q = q₀ + c√r through the two
    smallest, whose difference estimates the error of the extrapolation."""
    order = np.argsort(reset)[:3]
    r, values = reset[order], q[order]
    three = np.linalg.solve(np.stack([np.ones(3), np.sqrt(r), r], axis=1), values)[0]
    two = np.linalg.solve(np.stack([np.ones(2), np.sqrt(r[:2])], axis=1), values[:2])[0]
    return float(three), float(two)


def _ccp_lines(results: xr.Dataset) -> list[str]:
    lines = ["Fig. 2: the column of confidence policy (CCP) at its exact optimal ε*(r), and learning from "
             "it:"]
    for mu in results["mu"].values:
        for size in results["size"].values:
            c = results.sel(mu=mu, size=size)
            r = c["reset"].values
            smallest = int(np.argmin(r))
            gain = float(np.max((c["ccp_q"] - c["ccp_learned_q"]) / c["ccp_q"]))
            settled = c["ccp_learned_change"].values < SETTLED
            ratio = (c["ccp_learned_q"] / c["ccp_q"]).values
            worst = float(np.max(ratio[settled])) if settled.any() else math.nan
            limit, _ = _extrapolated_q(r, c["ccp_q"].values)
            lines.append(
                f"  μ = {mu:g}, M = {size}: eq. 7 (r → 0) q = {ccp_q(float(mu), int(size)):.4g}; exact chain "
                f"extrapolated to r → 0: {limit:.4g}; at r = {r[smallest]:.3g}: q = "
                f"{float(c['ccp_q'][smallest]):.4g} (ε* = {float(c['ccp_epsilon'][smallest]):.3g}); learned "
                f"from CCP + 10⁻⁴: largest relative improvement over the CCP {gain:+.1e} (the paper: "
                f"learning never beats it); {int(settled.sum())} of {len(r)} learned runs settled (q moved "
                f"< 1 % over the last decade of t), the largest of their q / CCP q {worst:.4g}"
            )
    return lines


def _learning_lines(results: xr.Dataset) -> list[str]:
    summary = learning_summary(results)
    lines = [f"Fig. 4: gradient flow on G (eq. 3), μ = {float(results.attrs['mu']):g}; median final q over "
             "seeds, the references at the same r, and the Hessian of −G at the end (median counts of "
             "negative / zero eigenvalues of N):"]  # fmt: skip
    for curve in summary["curve"].values:
        s = summary.sel(curve=curve)
        reference = (f"CCP q = {float(s['ccp_q']):.4g}" if np.isfinite(s["ccp_q"]) else
                     f"necklace q = {float(s['necklace_q']):.4g}, eq. 10 q* = {float(s['bound_q']):.4g}")
        landscape = ("no Hessian" if not np.isfinite(s["n"]) else
                     f"Hessian: {float(s['negative']):.0f} negative, {float(s['zero']):.0f} zero of "
                     f"{float(s['n']):.0f}; |∇G| = {float(s['grad_norm']):.1e}")  # fmt: skip
        lines.append(f"  {curve} ({int(s['members'])} runs, {int(s['settled'])} settled): q = "
                     f"{float(s['median_q']):.4g}; {reference}; {landscape}")  # fmt: skip
    return lines


@typechecked
def summarize_pomdp(results: xr.Dataset) -> str:
    """The numbers of thesis ch. 7 measured on the experiment, each beside the paper's: Fig. 2's exact
    CCP q against eq. 7 and the gain of learning over the CCP; Fig. 4's median learned q per
    initialization against the CCP and necklace references, with the Hessian counts at the end."""
    lines = ["two-hypothesis POMDP (thesis ch. 7), exact chains in float64"]
    if "ccp_q" in results:
        lines += _ccp_lines(results)
    if "curve" in results.coords:
        lines += _learning_lines(results)
    return report_text(lines)


@typechecked
def ccp_figure(results: xr.Dataset) -> Figure:
    """Thesis ch. 7 Fig. 2 (left): q against r for each M, one panel per μ: the exact CCP at ε*(r)
    (lines), the policies learned from the CCP + 10⁻⁴ (circles when settled, crosses when q still moved
    by 1 % or more over the last decade of flow time) and eq. 7's r → 0 value (dotted)."""
    fig, axes = panels(len(results["mu"]))
    for ax, mu in zip(axes, results["mu"].values, strict=True):
        for i, size in enumerate(results["size"].values):
            c = results.sel(mu=mu, size=size)
            ax.loglog(c["reset"], c["ccp_q"], "-", color=f"C{i}", label=f"M = {size}: exact CCP")
            settled = c["ccp_learned_change"].values < SETTLED
            for keep, marker, label in ((settled, "o", "learned"), (~settled, "x", "learned, still moving")):
                if keep.any():
                    ax.loglog(c["reset"].values[keep], c["ccp_learned_q"].values[keep], marker, color=f"C{i}",
                              mfc="none", label=label)  # fmt: skip
            ax.axhline(ccp_q(float(mu), int(size)), color=f"C{i}", ls=":", lw=1)
        ax.set(xlabel="reset r", ylabel="q", title=f"μ = {mu:g} (dotted: eq. 7)")
        legend(ax, fontsize=7)
    return fig


@typechecked
def learning_figure(results: xr.Dataset) -> Figure:
    """Thesis ch. 7 Fig. 4: q against the flow time t (eq. 3) for every initialization, one panel per
    memory (and per equal-M_eff pair): seeds light, median solid; dashed: the CCP q (RAM) or the
    necklace policy's q (Memento) at the same r."""
    summary = learning_summary(results)
    groups = list(dict.fromkeys(str(p) for p in results["curve_panel"].values))
    fig, axes = panels(len(groups))
    for ax, panel in zip(axes, groups, strict=True):
        chosen = _panel_curves(results, panel)
        for i, curve in enumerate(chosen):
            c, color = results.sel(curve=curve), f"C{i}"
            t, q = c["time"].values, c["q"].values
            for member in range(t.shape[0]):
                keep = np.isfinite(t[member]) & (t[member] > 0)
                ax.semilogx(t[member][keep], q[member][keep], color=color, alpha=0.25, lw=0.8)
            grid, median = _median_curve(t, q)
            label = f"{c['curve_memory'].values} {c['curve_init'].values}"
            ax.semilogx(grid, median, color=color, lw=2, label=label)
            s = summary.sel(curve=curve)
            reference = s["ccp_q"] if np.isfinite(s["ccp_q"]) else s["necklace_q"]
            ax.axhline(float(reference), color=color, ls="--", lw=0.8)
        memories = {str(results["curve_memory"].sel(curve=c).values) for c in chosen}
        first = chosen[0].split(": ", 1)[1].split(",")[0]  # e.g. "ram M = 8"
        what = "RAM and Memento at equal M_eff" if len(memories) == 2 else first
        reset = float(results["curve_reset"].sel(curve=chosen[0]))
        ax.set(xlabel="t (eq. 3)", ylabel="q", title=f"{panel}: {what}, r = {reset:g}")
        legend(ax, fontsize=7)
    return fig


def _panel_curves(results: xr.Dataset, panel: str) -> list[str]:
    """The curves of one Fig. 4 panel, in plan order."""
    return [str(c) for c, p in zip(results["curve"].values, results["curve_panel"].values, strict=True)
            if str(p) == panel]  # fmt: skip


def _median_curve(t: np.ndarray, q: np.ndarray, points: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """The median over runs of q on a common log-spaced t grid (each run interpolated in log t; a run
    counts only up to its last recorded time)."""
    positive = t[np.isfinite(t) & (t > 0)]
    grid = np.geomspace(positive.min(), positive.max(), points)
    values = np.full((t.shape[0], points), np.nan)
    for i in range(t.shape[0]):
        keep = np.isfinite(t[i]) & (t[i] > 0)
        if keep.sum() >= 2:
            inside = grid <= t[i][keep].max()
            values[i, inside] = np.interp(np.log(grid[inside]), np.log(t[i][keep]), q[i][keep])
    with np.errstate(all="ignore"):
        return grid, np.nanmedian(values, axis=0)


@typechecked
def pomdp_targets(results: xr.Dataset) -> list[Target]:
    """The claims of thesis ch. 7 checked on the experiment: the exact CCP q extrapolated to r → 0 from
    its three smallest resets against eq. 7 (tolerance 2 % of eq. 7; interval: the two- and three-term
    extrapolations); learning from the CCP + 10⁻⁴ does not beat the CCP (Fig. 2: the largest relative
    improvement of q over the exact CCP, paper ≤ 0, tolerance 10⁻³); random RAM starts end
    far above the CCP (Fig. 4 A–B, "very poor": the median q over the CCP's, paper > 1); at equal M_eff a
    Memento ends below a RAM (Fig. 4 E–F: the ratio of median q, paper < 1). The Fig. 4 medians are over
    the settled runs only (not measured when none settled)."""
    targets = []
    if "ccp_q" in results:
        for mu in results["mu"].values:
            for size in results["size"].values:
                c = results.sel(mu=mu, size=size)
                r = float(np.min(c["reset"]))
                three, two = _extrapolated_q(c["reset"].values, c["ccp_q"].values)
                predicted = ccp_q(float(mu), int(size))
                size_text = f"μ = {mu:g}, M = {size}, from r = {r:.3g}"
                targets.append(compare("pomdp", f"CCP q as r → 0 (exact chain), μ = {mu:g}, M = {size}",
                                       "thesis ch. 7 eq. 7", predicted, three, tolerance=0.02 * predicted,
                                       interval=(min(three, two), max(three, two)),
                                       size=size_text))  # fmt: skip
                gain = float(np.max((c["ccp_q"] - c["ccp_learned_q"]) / c["ccp_q"]))
                targets.append(compare("pomdp", f"gain of learning over the CCP, μ = {mu:g}, M = {size}",
                                       "thesis ch. 7 Fig. 2", (-math.inf, 0.0), gain, tolerance=1e-3,
                                       size=f"{len(c['reset'])} resets ≥ {r:.3g}"))  # fmt: skip
    if "curve" in results.coords:
        summary = learning_summary(results)
        for curve in summary["curve"].values:
            c = results.sel(curve=curve)
            if str(c["curve_memory"].values) == "ram" and str(c["curve_init"].values) == "random":
                s = summary.sel(curve=curve)
                ratio = float(s["settled_q"] / s["ccp_q"])  # settled runs only: NaN, not measured, if none
                members, settled = int(s["members"]), int(s["settled"])
                targets.append(compare("pomdp", f"median q / CCP q, {curve}", "thesis ch. 7 Fig. 4 A–B, E–F",
                                       (1.0, math.inf), ratio, tolerance=0.0, size=f"{members} seeds",
                                       note=f"{settled} of {members} runs settled"))  # fmt: skip
        for panel in dict.fromkeys(str(p) for p in results["curve_panel"].values):
            chosen = _panel_curves(results, panel)
            memories = {str(results["curve_memory"].sel(curve=c).values): c for c in chosen}
            inits = {str(results["curve_init"].sel(curve=c).values) for c in chosen}
            if set(memories) == {"ram", "memento"} and inits == {"random"}:
                ratio = float(summary["settled_q"].sel(curve=memories["memento"])
                              / summary["settled_q"].sel(curve=memories["ram"]))  # fmt: skip
                settled = [f"{int(summary['settled'].sel(curve=c))}/{int(summary['members'].sel(curve=c))}"
                           for c in (memories["memento"], memories["ram"])]  # fmt: skip
                targets.append(compare("pomdp", f"median q, Memento / RAM at equal M_eff (panel {panel})",
                                       "thesis ch. 7 Fig. 4 E–F", (0.0, 1.0), ratio, tolerance=0.0,
                                       size=", ".join(chosen),
                                       note=f"settled: Memento {settled[0]}, RAM {settled[1]}"))  # fmt: skip
    return targets


@final
class PomdpExperiment(Experiment):
    """``jamscope pomdp``: memory architectures and policy learning in the two-hypothesis POMDP."""

    name = "pomdp"
    title = "memory and the landscape of a POMDP: CCP, necklaces, learning from each start (thesis ch. 7)"
    description = (
        "Solve the two-hypothesis POMDP exactly for RAM and Memento memories: the column of confidence "
        "policy against eq. 7 and learning from it (Fig. 2), gradient flow on G from every initialization "
        "of Fig. 4 with the Hessian of −G at the end; write pomdp.nc and the figures to --out."
    )
    config_type = PomdpConfig
    presets = {"quick": QUICK, "paper": PAPER, "smoke": SMOKE}
    preset_help = {
        "quick": "Fig. 2 for M ≤ 10, Fig. 4 A, C, E with 5 seeds (about 10 minutes on 2 cores)",
        "paper": "Fig. 2 for M = 5, 10, 20, r down to 2⁻²⁰; Fig. 4 A–F, 20 seeds, 10⁶ steps (hours)",
        "smoke": "seconds, for the tests",
    }
    trains_networks = False

    def points(self, config: PomdpConfig) -> list[dict]:
        return plan(config)

    def compute(self, config: PomdpConfig, point: dict, prepared: None, mesh: Mesh | None) -> xr.Dataset:
        if point["kind"] == "ccp":
            return _ccp_point(config, float(point["mu"]), int(point["size"]))
        return _learning_point(config, point)

    def assemble(self, config: PomdpConfig, pieces: list[xr.Dataset], points: list[dict]) -> dict:
        return {"pomdp": _assemble(config, pieces, points)}

    def report(self, config: PomdpConfig, results: dict, out: Path) -> tuple[str, list[Path]]:
        written = []
        if "ccp_q" in results["pomdp"]:
            written.append(out / "pomdp_ccp.png")
            ccp_figure(results["pomdp"]).savefig(written[-1], dpi=120)
        if "curve" in results["pomdp"].coords:
            written.append(out / "pomdp_learning.png")
            learning_figure(results["pomdp"]).savefig(written[-1], dpi=120)
        plt.close("all")
        return summarize_pomdp(results["pomdp"]), written

    def targets(self, config: PomdpConfig, results: dict) -> list[Target]:
        return pomdp_targets(results["pomdp"])


EXPERIMENT = PomdpExperiment()
"""The POMDP experiment (``jamscope pomdp``)."""
