"""How a training run ends: fitted, jammed, frozen or undecided (000 §III; thesis ch. 2 App. B).

A run on the quadratic hinge ends in exactly one stated state, and only the first two feed a
physical observable (N*, N_Δ/N at the jump, spectra and gaps near jamming):

- **fitted**: every pattern satisfied, N_Δ = 0: every Δ_μ = ε − y_μ f(x_μ) < 0 in the run's dtype
  (use float64). The smallest margin −max_μ Δ_μ > 0 is kept with the run.
- **jammed**: N_Δ > 0 at the end of the dynamics, certified by one of two tests:
  - the *plateau test* ([`EndCriterion`][jamscope.end_state.EndCriterion]), for any activation: over
    the last decade of training time [τ/10, τ], τ = Σ (learning rate) the time of the dynamics, all
    run at one constant learning rate, the loss fell by less than a fraction `plateau` of its value,
    (L(τ/10) − L(τ)) ≤ `plateau` · L(τ), after at least `min_steps` steps. Time, not steps, and a
    constant rate: a decaying learning rate slows the clock and flattens any loss, including that of
    runs which go on to fit (measured on 000's protocol: a ReLU run whose loss was flat at
    1.2·10⁻² after lr 10⁻³ → 10⁻⁶ fell to 4·10⁻⁴ in 4·10⁵ more steps at lr 10⁻⁴). For ReLU
    networks the dynamics itself is the test: the loss has kinks wherever a preactivation of an
    unsatisfied pattern crosses zero (000 App. C), and near the end of training they lie within
    10⁻⁴ of the weights, so Newton steps fail (measured: the trust radius falls to 10⁻¹³ with
    ‖∇L‖ unchanged) and descent methods stall at kink points that Adam leaves (FIRE stops at
    L = 0.071 where Adam goes on to 0.05).
  - the *Newton test* ([`newton_minimum`][jamscope.end_state.newton_minimum]), for smooth
    activations: trust-region Newton steps on the dense Hessian polish the weights to a point with
    ‖∇L‖ ≤ `gradient_tol` · F, $F = \\frac{1}{P} \\sum_{μ∈m} Δ_μ ‖∇Δ_μ‖$ the sum of the forces (the net
    force is
    a vanishing fraction of the forces: force balance), and no Hessian eigenvalue below
    −`curvature_tol` · λ_max (a minimum, not a saddle; thesis ch. 2: for smooth ρ the stable states
    have H ⪰ 0).
- **frozen**: jammed by the plateau test, but every unsatisfied pattern is *frozen*: some hidden
  layer is entirely off on it ([`frozen_patterns`][jamscope.end_state.frozen_patterns]), so f
  there does not depend on the input and no weight can move it pattern by pattern (the output
  bias alone when the last layer is off). The network satisfies every pattern it can still
  move, and the loss is held by dead units, not by more constraints than degrees of freedom: 000's
  counting needs "the network output to remain sensitive to all its weights" (§I), and frozen
  patterns are the analogue of the rattlers it excludes from N (§II). Measured on the CPU presets
  (N ≈ 100–400, d = h ≤ 14, with the test of the last layer alone): such runs end at N_Δ/N =
  0.03–0.28 with N_Δ equal to the number of frozen patterns, below the jump, while the other
  plateau-jammed runs with frozen patterns keep tens to hundreds of unsatisfied patterns that do
  move. Runs held by a dead first layer end at L = ab/(2nP) exactly, n = a + b patterns of the
  two labels sharing one output, and stay there (measured: 2·10⁶ more steps at h = 8, P = 300).
  Frozen runs never count as jammed.
  [`mark_frozen`][jamscope.end_state.mark_frozen] assigns this state; `train(..., end=)` applies it
  to every network with hidden layers ([`can_freeze`][jamscope.end_state.can_freeze]).
- **undecided**: neither when the budget ran out. It is reported, never counted as fitted or jammed.

[`train`][jamscope.train.train] takes an `EndCriterion` as `end=`: each member of an ensemble stops
as soon as it is fitted or jammed, and `History.outcome` holds the verdict: a pure function of the
recorded trajectory ([`judge`][jamscope.end_state.judge]), then the frozen test on the final
network ([`mark_frozen`][jamscope.end_state.mark_frozen]; `History.n_frozen` keeps the count).
"""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._checks import check_finite, check_int_at_least, check_positive, check_trailing_shape
from .curvature import hessian
from .data import Dataset
from .losses import AbstractMarginLoss, mean_loss
from .nets import AbstractNet, activation_function, partition
from .typing import Array, Float, Int, typechecked

__all__ = [
    "UNDECIDED",
    "FITTED",
    "JAMMED",
    "FROZEN",
    "OUTCOMES",
    "EndCriterion",
    "judge",
    "force_balance",
    "can_freeze",
    "frozen_patterns",
    "mark_frozen",
    "NewtonMinimum",
    "newton_minimum",
]

UNDECIDED = 0
"""Outcome code: the budget ran out before the run was fitted or jammed."""
FITTED = 1
"""Outcome code: every pattern satisfied, N_Δ = 0."""
JAMMED = 2
"""Outcome code: N_Δ > 0 and the loss passed the plateau test of an
[`EndCriterion`][jamscope.end_state.EndCriterion]."""
FROZEN = 3
"""Outcome code: the plateau test passed, but every unsatisfied pattern is frozen (dead units):
[`mark_frozen`][jamscope.end_state.mark_frozen]."""
OUTCOMES = ("undecided", "fitted", "jammed", "frozen")
"""Names of the outcome codes: ``OUTCOMES[code]``."""


class EndCriterion(eqx.Module):
    """The plateau test that ends a run as jammed (see the module docstring).

    - `plateau`: largest relative loss decrease over the last decade of training time,
      (L(τ/10) − L(τ))/L(τ), for a run to count as jammed (default 1 %).
    - `min_steps`: no run is judged jammed before this step.

    The window [τ/10, τ] must lie at one learning rate (the schedule is constant from τ/10 on);
    a run can also end fitted (N_Δ = 0) at any step.
    """

    plateau: float = 1e-2
    min_steps: int = 1000

    def __check_init__(self):
        if isinstance(self.plateau, bool) or not isinstance(self.plateau, int | float):
            raise TypeError(f"`plateau` must be a number, got {type(self.plateau).__name__}")
        if not 0.0 < self.plateau < 1.0:
            raise ValueError(f"`plateau` must lie in (0, 1), got {self.plateau!r}")
        if isinstance(self.min_steps, bool) or not isinstance(self.min_steps, int):
            raise TypeError(f"`min_steps` must be an integer, got {self.min_steps!r}")
        check_int_at_least("min_steps", self.min_steps, 1)


def _judge_one(step, time, loss, n_unsat, lr, criterion: EndCriterion) -> tuple[int, int, float]:
    decrease = math.nan
    for r in range(step.size):
        if n_unsat[r] == 0:
            return FITTED, r, decrease
        if step[r] < criterion.min_steps:
            continue
        j = int(np.searchsorted(time, time[r] / 10.0, side="right")) - 1
        if j < 0 or j == r or not lr[j] == lr[r]:  # the schedule is monotone: equal ends, constant
            continue
        decrease = (loss[j] - loss[r]) / loss[r]
        if decrease <= criterion.plateau:
            return JAMMED, r, decrease
    return UNDECIDED, step.size - 1, decrease


@typechecked
def judge(
    step: Int[np.ndarray, "*K R"] | Int[Array, "*K R"],
    time: Float[np.ndarray, "*K R"] | Float[Array, "*K R"],
    loss: Float[np.ndarray, "*K R"] | Float[Array, "*K R"],
    n_unsatisfied: Int[np.ndarray, "*K R"] | Int[Array, "*K R"],
    learning_rate: Float[np.ndarray, "*K R"] | Float[Array, "*K R"],
    criterion: EndCriterion,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome of runs from their recorded trajectories (the records of a
    [`History`][jamscope.train.History]: `step`, `time` = Σ lr, `loss`, `n_unsatisfied` and
    `step_size` as `learning_rate`): returns ``(outcome, record, decrease)`` per run.

    `outcome` is [`FITTED`][jamscope.end_state.FITTED] at the first record with N_Δ = 0,
    [`JAMMED`][jamscope.end_state.JAMMED] at the first record after `min_steps` steps whose last
    decade of time (from the last record at or before τ/10) ran at one learning rate and lost less
    than `criterion.plateau` of the loss, else [`UNDECIDED`][jamscope.end_state.UNDECIDED];
    `record` is the index of that record (the last one when undecided); `decrease` the relative
    decrease of the last window examined (NaN if none was). Learning rates are taken as
    non-increasing in time (Adam's staircase), so equal values at both ends of a window mean a
    constant rate on it.
    """
    names = ("step", "time", "loss", "n_unsatisfied", "learning_rate")
    arrays = [np.asarray(a) for a in (step, time, loss, n_unsatisfied, learning_rate)]
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays) or shape[-1] == 0:
        raise ValueError(f"`{'`, `'.join(names)}` must share one non-empty shape, got "
                         f"{[a.shape for a in arrays]}")  # fmt: skip
    for name, values in zip(names, arrays, strict=True):
        check_finite(name, values)
        if np.any(values < 0):
            raise ValueError(f"`{name}` must be ≥ 0, got a minimum of {values.min()}")
    flat = [a.reshape(-1, shape[-1]) for a in arrays]
    verdicts = [_judge_one(*(a[k] for a in flat), criterion) for k in range(flat[0].shape[0])]
    outcome, record, decrease = (np.array([v[i] for v in verdicts]).reshape(shape[:-1]) for i in range(3))
    return outcome.astype(np.int32), record.astype(np.int64), decrease.astype(float)


# ----------------------------------------------------------------------------------------------
# Forces and the Newton test


def _flat_problem(loss: AbstractMarginLoss, model: AbstractNet, x, y):
    """θ, the model as a function of θ, the objective L(θ) = (1/P) Σ ℓ and the gaps Δ(θ)."""
    params, static = partition(model)
    theta, unravel = ravel_pytree(params)

    def rebuild(th):
        return eqx.combine(unravel(th), static)

    def gaps(th):
        return loss.gaps(jax.vmap(rebuild(th))(x), y)

    def objective(th):
        return mean_loss(loss, jax.vmap(rebuild(th))(x), y)

    return theta, rebuild, objective, gaps


@eqx.filter_jit
def _forces(loss, model, x, y):
    theta, _, objective, gaps = _flat_problem(loss, model, x, y)
    delta = gaps(theta)
    gradients = jax.jacrev(gaps)(theta)  # ∇Δ_μ, (P, N)
    push = jnp.abs(loss.phi_prime(delta))
    total = jnp.sum(push * jnp.linalg.norm(gradients, axis=1)) / delta.shape[0]
    return jnp.linalg.norm(jax.grad(objective)(theta)), total


@typechecked
def force_balance(loss: AbstractMarginLoss, model: AbstractNet, data: Dataset) -> Float[Array, ""]:
    """‖∇L‖ / F, F = (1/P) Σ_μ |φ′(Δ_μ)| ‖∇Δ_μ‖: the net force as a fraction of the sum of the forces.

    With L = (1/P) Σ φ(Δ_μ), ∇L = (1/P) Σ_μ φ′(Δ_μ) ∇Δ_μ is a sum of forces, one per pattern; for the
    quadratic hinge φ′(Δ) = Δ₊ and only the unsatisfied patterns push (000 eq. 3). The ratio lies in
    [0, 1]: 1 when every pattern pulls the same way, 0 at force balance (a stationary point with
    L > 0, the jammed state of 000 §II). NaN when no pattern pushes (a fitted network).
    """
    _check_problem(loss, model, data)
    net, total = _forces(loss, model, data.x, data.y)
    return jnp.where(total > 0, net / jnp.where(total > 0, total, 1.0), jnp.nan)


@typechecked
def can_freeze(model: AbstractNet) -> bool:
    """Whether [`frozen_patterns`][jamscope.end_state.frozen_patterns] applies to `model`: a network
    with hidden layers, exposing their `preactivations` and its `activation` name
    ([`MLP`][jamscope.nets.MLP], [`FCNet`][jamscope.nets.FCNet]; not a linear model or a CNN)."""
    return hasattr(model, "preactivations") and hasattr(model, "activation")


@typechecked
def frozen_patterns(loss: AbstractMarginLoss, model: AbstractNet, data: Dataset) -> Int[Array, ""]:
    """#{μ : Δ_μ > 0 and every unit of some hidden layer ℓ is off on x_μ}, a unit being off when
    ρ(z) = 0 and ρ′(z) = 0 at its preactivation z (a ReLU unit with z ≤ 0; never tanh or softplus).
    Above a dead layer the network sees only biases, so f(x_μ) and ∇_θ f(x_μ) do not depend on
    x_μ: every pattern dead at layer ℓ has the same output and the same gradient, which vanishes
    along every weight and bias up to layer ℓ ($f = B^{(L+1)}$, the output bias, when ℓ = L). Such
    patterns cannot be satisfied one by one: patterns of both labels dead at one layer share one
    output, and no weight can tell them apart (000 §I: the counting needs the output sensitive to
    the weights).

    Needs a network for which [`can_freeze`][jamscope.end_state.can_freeze] holds; the tests are
    exact zeros, ReLU's value and derivative below 0, in any dtype.
    """
    _check_problem(loss, model, data)
    if not can_freeze(model):
        raise TypeError(f"`model` must expose its hidden `preactivations` and `activation`, got "
                        f"{type(model).__name__}")  # fmt: skip
    rho = activation_function(model.activation, getattr(model, "softplus_beta", 1.0), normalize=False)
    slope = jax.vmap(jax.grad(rho))

    def off(x):
        dead = [jnp.all((rho(z) == 0) & (slope(z) == 0)) for z in model.preactivations(x)]
        return jnp.any(jnp.stack(dead))

    unsatisfied = loss.gaps(jax.vmap(model)(data.x), data.y) > 0
    return jnp.sum(unsatisfied & jax.vmap(off)(data.x))


@typechecked
def mark_frozen(
    outcome: Int[np.ndarray, " *K"], n_unsatisfied: Int[np.ndarray, " *K"], n_frozen: Int[np.ndarray, " *K"]
) -> Int[np.ndarray, " *K"]:
    """[`FROZEN`][jamscope.end_state.FROZEN] where a run is [`JAMMED`][jamscope.end_state.JAMMED]
    with every one of its N_Δ unsatisfied patterns frozen (n_frozen ≥ N_Δ, from
    [`frozen_patterns`][jamscope.end_state.frozen_patterns] on the final network); the other
    outcomes unchanged. A run that is jammed with some frozen patterns stays jammed: its other
    unsatisfied patterns hold the loss. 000 §I counts N_Δ against the weights the output is
    sensitive to, and §II takes the rattlers (particles that no contact holds) out of the count;
    a frozen run holds its loss with no weight that can move it, so it is not a jammed packing."""
    held = (outcome == JAMMED) & (n_frozen >= n_unsatisfied)
    return np.where(held, FROZEN, outcome).astype(np.int32)


def _check_problem(loss: AbstractMarginLoss, model: AbstractNet, data: Dataset) -> None:
    check_trailing_shape("data.x", data.x, model.input_shape)
    loss.check_labels(data.y, model.n_outputs)


class NewtonMinimum(eqx.Module):
    """The outcome of [`newton_minimum`][jamscope.end_state.newton_minimum].

    - `model`: the polished network. `loss`, `n_delta`: L and N_Δ there.
    - `force_balance`: ‖∇L‖/F ([`force_balance`][jamscope.end_state.force_balance]).
    - `curvature`: λ_min(H)/λ_max(H), the most negative Hessian eigenvalue relative to the largest.
    - `iterations`: Newton steps taken. `certified`: the Newton test passed (a jammed minimum).
    """

    model: AbstractNet
    loss: float
    n_delta: int
    force_balance: float
    curvature: float
    iterations: int
    certified: bool


@eqx.filter_jit
def _newton_terms(loss, model, x, y):
    """L, ∇L, H (dense, by the layer-block route of `curvature.hessian`), N_Δ, ‖∇L‖ and F."""
    theta, _, objective, gaps = _flat_problem(loss, model, x, y)
    value, grad = jax.value_and_grad(objective)(theta)
    h = hessian(loss, model, Dataset(x, y))
    net, total = _forces(loss, model, x, y)
    return value, grad, h, jnp.sum(gaps(theta) > 0), net, total


@eqx.filter_jit
def _objective_at(loss, model, x, y, theta):
    _, rebuild, objective, _ = _flat_problem(loss, model, x, y)
    return objective(theta), rebuild(theta)


def _trust_region_step(grad: np.ndarray, eigenvalues: np.ndarray, vectors: np.ndarray, radius: float):
    """argmin gᵀs + ½ sᵀHs over ‖s‖ ≤ radius in the eigenbasis of H (Moré–Sorensen, without the
    'hard case': a shift μ ≥ max(0, −λ_min) with ‖(Λ + μ)⁻¹ Qᵀg‖ = radius, found by bisection)."""
    g = vectors.T @ grad
    lowest = eigenvalues[0]

    def length(mu):
        return np.linalg.norm(g / (eigenvalues + mu))

    if lowest > 0 and length(0.0) <= radius:
        return -(vectors @ (g / eigenvalues))
    low = max(0.0, -lowest) * (1 + 1e-12) + 1e-300
    high = low + np.linalg.norm(g) / radius + abs(lowest) + 1e-300
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if length(middle) > radius else (low, middle)
    return -(vectors @ (g / (eigenvalues + high)))


@typechecked
def newton_minimum(
    loss: AbstractMarginLoss,
    model: AbstractNet,
    data: Dataset,
    *,
    max_iterations: int = 100,
    gradient_tol: float = 1e-9,
    curvature_tol: float = 1e-9,
    zero_loss: float = 1e-24,
) -> NewtonMinimum:
    """Polish `model` to the local minimum of L nearby with trust-region Newton steps, and test it.

    Each step minimizes the quadratic model gᵀs + ½ sᵀHs within a trust radius (dense H from
    [`curvature.hessian`][jamscope.curvature.hessian], float64); a step is kept when L falls by at
    least 10⁻⁴ of the predicted decrease, and the radius doubles or quarters with the agreement
    (Nocedal & Wright, Algorithm 4.1). The loop stops when the Newton test holds: L > 0, force
    balance ‖∇L‖ ≤ `gradient_tol` · F and λ_min(H) ≥ −`curvature_tol` · λ_max(H), or when
    L ≤ `zero_loss` (the run is on its way to fit: not jammed), or after `max_iterations`.

    Meant for smooth activations (tanh, softplus): at the kinks of a ReLU network the gradient
    does not vanish at a minimum and this test fails (use the plateau test of
    [`EndCriterion`][jamscope.end_state.EndCriterion]). A tanh network can also lower L by letting
    its weights grow: once its units saturate, the forces on their weights are exponentially small
    and the test can pass at no minimum at finite weights (measured: P = 50, N = 13, certified after
    ‖θ‖ grew ×132). Compare the weights' norm before and after (the jamming sweep records it as
    ``newton_growth``). Cost per step: one dense Hessian and one
    N × N `eigh` (N up to a few thousand on a CPU).
    """
    _check_problem(loss, model, data)
    check_int_at_least("max_iterations", max_iterations, 1)
    for name, value in [("gradient_tol", gradient_tol), ("curvature_tol", curvature_tol)]:
        check_positive(name, value)
    check_positive("zero_loss", zero_loss)
    x, y = data.x, data.y
    theta = np.asarray(ravel_pytree(partition(model)[0])[0])
    radius = 1e-2 * max(float(np.linalg.norm(theta)), 1.0)
    iterations = 0
    while True:
        value, grad, h, n_delta, net, total = (np.asarray(a) for a in _newton_terms(loss, model, x, y))
        eigenvalues, vectors = np.linalg.eigh(h)
        top = max(float(eigenvalues[-1]), np.finfo(float).tiny)
        balance = float(net / total) if total > 0 else math.nan
        curvature = float(eigenvalues[0] / top)
        certified = bool(value > 0 and balance <= gradient_tol and curvature >= -curvature_tol)
        if certified or value <= zero_loss or iterations == max_iterations or radius < 1e-15:
            break
        step = _trust_region_step(grad, eigenvalues, vectors, radius)
        predicted = -(grad @ step + 0.5 * step @ h @ step)
        trial_value, trial = _objective_at(loss, model, x, y, jnp.asarray(theta + step))
        ratio = (value - float(trial_value)) / predicted if predicted > 0 else -1.0
        if ratio > 1e-4:
            theta, model = theta + step, trial
        if ratio > 0.75 and np.linalg.norm(step) > 0.99 * radius:
            radius *= 2.0
        elif ratio < 0.25:
            radius *= 0.25
        iterations += 1
    return NewtonMinimum(
        model=model, loss=float(value), n_delta=int(n_delta), force_balance=balance,
        curvature=curvature, iterations=iterations, certified=certified,
    )  # fmt: skip
