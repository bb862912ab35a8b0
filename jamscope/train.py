"""Training: full-batch Adam, mini-batch SGD and the adaptive-step gradient flow, one engine.

`train(model, loss, data, method)` dispatches on the method module (`Adam`, `SGD`, `GradientFlow`);
[`adam`][jamscope.train.adam], [`sgd`][jamscope.train.sgd] and
[`gradient_flow`][jamscope.train.gradient_flow] are the same call with the method built for you.

The steps run inside `lax.while_loop` under `jit`, in segments between log-spaced record steps:
the host only sees the state at those steps (to record the [`History`][jamscope.train.History],
take parameter snapshots and advance the tqdm bar). Training stops when every pattern is
satisfied (N_Δ = 0: all Δ_μ < 0 for a hinge, 000 §II; for a `Centered` model with the soft hinge
of margin 1 this is the criterion α(f − f₀) y > 1 of thesis ch. 3 §2), or at `steps`.

With ``ensemble=True`` the model carries a leading ensemble axis (see
[`jamscope.nets.ensemble`][jamscope.nets.ensemble]) and the same engine runs vmapped: every member
trains on the same data, stops on its own criterion, and the history gains a leading axis K. With
a `mesh` the members are split over devices ([`jamscope.ensemble`][jamscope.ensemble]).
"""

import abc
import math
import time as _time
from typing import NamedTuple, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu
from jax.sharding import Mesh
from tqdm.auto import tqdm

from ._checks import check_int_at_least, check_positive, check_trailing_shape
from ._members import over_members, pad_members, padded_size, place_members, replicate, take_members
from .data import Dataset
from .end_state import FITTED, UNDECIDED, EndCriterion, can_freeze, frozen_patterns, judge, mark_frozen
from .ensemble import ensemble_map, gather
from .losses import AbstractLoss, AbstractMarginLoss, AbstractObjective, mean_loss
from .nets import AbstractNet, ensemble_size, flat_params, partition
from .typing import Array, Bool, Float, Int, PRNGKeyArray, PRNGKeys, PyTree, typechecked

__all__ = [
    "AbstractMethod",
    "Adam",
    "SGD",
    "GradientFlow",
    "History",
    "train",
    "adam",
    "sgd",
    "gradient_flow",
    "log_spaced_steps",
]


class _Step(NamedTuple):
    model: eqx.Module
    state: PyTree
    advanced: Bool[Array, ""]  # a step was taken (False: rejected attempt or fitted)
    fitted: Bool[Array, ""]  # every pattern satisfied at the current weights
    dt: Float[Array, ""]  # time increment of the step (learning rate or dt)
    stalled: Bool[Array, ""]  # the method cannot go on (adaptive step underflow)


def _value_grad_outputs(model, loss: AbstractLoss | AbstractObjective, x, y):
    """Objective (thesis ch. 3 eq. 7, or an `AbstractObjective`), its gradient w.r.t. the trainable
    leaves, and the outputs whose change the adaptive step bounds."""
    params, static = partition(model)

    def objective(p):
        m = eqx.combine(p, static)
        if isinstance(loss, AbstractObjective):
            return loss.value_and_outputs(m)
        f = jax.vmap(m)(x)
        return mean_loss(loss, f, y, m.output_scale), f

    (value, f), grads = jax.value_and_grad(objective, has_aux=True)(params)
    return value, grads, f


def _all_satisfied(loss: AbstractLoss | AbstractObjective, f, y) -> Bool[Array, ""]:
    if isinstance(loss, AbstractObjective):
        return jnp.array(False)
    return ~jnp.any(loss.unsatisfied(f, y))


class AbstractMethod(eqx.Module):
    """A training dynamics: `init` builds its state, `step` advances the weights once."""

    full_batch: eqx.AbstractClassVar[bool]
    # every step is taken and nothing stops inside a segment: an ensemble shares one step counter
    lockstep: eqx.AbstractClassVar[bool]

    @abc.abstractmethod
    def init(self, model: eqx.Module, loss: AbstractLoss | AbstractObjective, x, y, key) -> PyTree: ...

    @abc.abstractmethod
    def step(
        self, model: eqx.Module, state: PyTree, loss: AbstractLoss | AbstractObjective, x, y, i
    ) -> _Step: ...

    @abc.abstractmethod
    def check(self) -> None:
        """Validate the hyper-parameters (raise ``ValueError`` naming the bad one)."""

    def __check_init__(self):
        """A method with a bad hyper-parameter fails when it is built, not when it is used."""
        self.check()


@final
class Adam(AbstractMethod):
    """Full-batch Adam (000 §III: batch = P, lr 10⁻⁴ divided by 10 every `decay_every` steps).

    The learning rate is lr · `decay_factor`^⌊k / `decay_every`⌋, floored at `lr_floor` (optax's
    staircase exponential decay); no decay when `decay_every` is None.
    """

    full_batch = True
    lockstep = False
    lr: float = 1e-4
    decay_every: int | None = None
    decay_factor: float = 0.1
    lr_floor: float = 0.0
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def check(self) -> None:
        check_positive("lr", self.lr)
        check_positive("lr_floor", self.lr_floor, allow_zero=True)
        check_positive("decay_factor", self.decay_factor)
        for name in ("b1", "b2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"`{name}` must lie in [0, 1), got {getattr(self, name)!r}")
        check_positive("eps", self.eps)
        if self.decay_every is not None:
            check_int_at_least("decay_every", self.decay_every, 1)

    def schedule(self):
        """The learning rate as a function of the step count (a float, for strict dtype promotion)."""
        if self.decay_every is None:
            return optax.constant_schedule(self.lr)
        staircase = optax.exponential_decay(
            self.lr,
            self.decay_every,
            self.decay_factor,
            staircase=True,
            end_value=self.lr_floor if self.lr_floor > 0 else None,
        )
        return lambda count: staircase(jnp.asarray(count).astype(jnp.result_type(float)))

    def _optimizer(self):
        return optax.adam(self.schedule(), b1=self.b1, b2=self.b2, eps=self.eps)

    def init(self, model, loss, x, y, key):
        return self._optimizer().init(partition(model)[0])

    def step(self, model, state, loss, x, y, i):
        _, grads, f = _value_grad_outputs(model, loss, x, y)
        params, static = partition(model)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes int counts and float rates
            updates, new_state = self._optimizer().update(grads, state, params)
        new_model = eqx.combine(optax.apply_updates(params, updates), static)
        lr = jnp.asarray(self.schedule()(i), f.dtype)
        return _Step(new_model, new_state, jnp.array(True), _all_satisfied(loss, f, y), lr, jnp.array(False))


@final
class SGD(AbstractMethod):
    """Plain mini-batch SGD θ ← θ − lr ∇(L_batch + λ‖θ‖²) (003 §2: lr 0.05, batch 50–100, λ = 10⁻⁴).

    Batches are consecutive slices of a fresh random permutation of the P patterns each epoch
    (P // batch_size steps per epoch, the remainder dropped); `weight_decay` is λ.
    """

    full_batch = False
    lockstep = True
    lr: float = 0.05
    batch_size: int = 50
    weight_decay: float = 0.0

    def check(self) -> None:
        check_positive("lr", self.lr)
        check_int_at_least("batch_size", self.batch_size, 1)
        check_positive("weight_decay", self.weight_decay, allow_zero=True)

    def init(self, model, loss, x, y, key):
        return {"key": key, "perm": jax.random.permutation(jax.random.fold_in(key, 0), x.shape[0])}

    def step(self, model, state, loss, x, y, i):
        n_batches = x.shape[0] // self.batch_size
        epoch, b = i // n_batches, i % n_batches
        perm = jax.lax.cond(
            (b == 0) & (i > 0),
            lambda: jax.random.permutation(jax.random.fold_in(state["key"], epoch), x.shape[0]),
            lambda: state["perm"],
        )
        idx = jax.lax.dynamic_slice_in_dim(perm, b * self.batch_size, self.batch_size)
        params, static = partition(model)

        def objective(p):
            m = eqx.combine(p, static)
            f = jax.vmap(m)(x[idx])
            l2 = otu.tree_norm(p, squared=True)
            return mean_loss(loss, f, y[idx], m.output_scale) + self.weight_decay * l2

        grads = jax.grad(objective)(params)
        new_params = otu.tree_add_scale(params, -self.lr, grads)
        dtype = jax.tree.leaves(params)[0].dtype
        return _Step(
            eqx.combine(new_params, static),
            {"key": state["key"], "perm": perm},
            jnp.array(True),
            jnp.array(False),
            jnp.asarray(self.lr, dtype),
            jnp.array(False),
        )


@final
class GradientFlow(AbstractMethod):
    """Gradient descent ẇ = −∇L with the adaptive time step of thesis ch. 3 eqs. (8)–(9).

    A step w' = w − dt ∇L(w) is accepted only if max_μ |F(w', x_μ) − F(w, x_μ)| < `max_output_change`
    (eq. 8, 0.1; F is the model output, α(f − f₀) for a `Centered` model, or the outputs of an
    [`AbstractObjective`][jamscope.losses.AbstractObjective]) and
    ‖∇L(w') − ∇L(w)‖² / (‖∇L(w)‖ ‖∇L(w')‖) < `max_grad_change` (eq. 9, ε_∇ = 10⁻⁴). A rejected step
    divides dt by 10 and is retried; an accepted step with both ratios below half their bounds
    multiplies dt by 1.1. The grow/shrink factors and dt₀ = 1 are not in the paper: they follow the
    authors' public code (mariogeiger/feature_lazy). The step counter counts
    accepted steps; `History.time` is t = Σ dt. Training stops if dt falls below `dt_min`.
    """

    full_batch = True
    lockstep = False
    max_output_change: float = 0.1
    max_grad_change: float = 1e-4
    dt0: float = 1.0
    grow: float = 1.1
    shrink: float = 0.1
    dt_min: float = 1e-30

    def check(self) -> None:
        for name in ("max_output_change", "max_grad_change", "dt0", "dt_min"):
            check_positive(name, getattr(self, name))
        if not 1.0 <= self.grow < math.inf:
            raise ValueError(f"`grow` must be a finite number ≥ 1, got {self.grow}")
        if not 0.0 < self.shrink < 1.0:
            raise ValueError(f"`shrink` must lie in (0, 1), got {self.shrink}")

    def init(self, model, loss, x, y, key):
        _, grads, f = _value_grad_outputs(model, loss, x, y)
        return {"grads": grads, "f": f, "dt": jnp.asarray(self.dt0, f.dtype)}

    def step(self, model, state, loss, x, y, i):
        params, static = partition(model)
        dt = state["dt"]
        trial = eqx.combine(otu.tree_add_scale(params, -dt, state["grads"]), static)
        _, grads, f = _value_grad_outputs(trial, loss, x, y)
        dout = jnp.max(jnp.abs(f - state["f"]))
        g0, g1 = otu.tree_norm(state["grads"]), otu.tree_norm(grads)
        diff = otu.tree_norm(otu.tree_sub(grads, state["grads"]), squared=True)
        dgrad = diff / jnp.maximum(g0 * g1, jnp.finfo(f.dtype).tiny)
        accept = (dout < self.max_output_change) & (dgrad < self.max_grad_change)
        calm = (dout < self.max_output_change / 2) & (dgrad < self.max_grad_change / 2)
        new_dt = jnp.where(accept, jnp.where(calm, dt * self.grow, dt), dt * self.shrink)
        fitted = _all_satisfied(loss, state["f"], y)
        new_state = jax.tree.map(
            lambda new, old: jnp.where(accept, new, old),
            {"grads": grads, "f": f},
            {"grads": state["grads"], "f": state["f"]},
        )
        new_state["dt"] = new_dt
        new_model = jax.tree.map(lambda a, b: jnp.where(accept, a, b), trial, model)
        return _Step(new_model, new_state, accept, fitted, dt, new_dt < self.dt_min)


class _Counters(NamedTuple):
    step: Int[Array, ""]
    time: Float[Array, ""]
    dt: Float[Array, ""]
    done: Bool[Array, ""]


def _segment(
    method: AbstractMethod,
    loss: AbstractLoss | AbstractObjective,
    stop_when_fitted: bool,
    model,
    state,
    counters,
    x,
    y,
    target,
):
    """Advance one model until `counters.step == target` or it is done (fitted or stalled)."""

    def cond(carry):
        _, _, c = carry
        return (c.step < target) & ~c.done

    def body(carry):
        m, s, c = carry
        out = method.step(m, s, loss, x, y, c.step)
        stop = (out.fitted & stop_when_fitted) | out.stalled
        go = out.advanced & ~stop
        m = jax.tree.map(lambda a, b: jnp.where(stop, b, a), out.model, m)
        s = jax.tree.map(lambda a, b: jnp.where(stop, b, a), out.state, s)
        return (
            m,
            s,
            _Counters(c.step + go.astype(c.step.dtype), c.time + jnp.where(go, out.dt, 0.0), out.dt, stop),
        )

    return jax.lax.while_loop(cond, body, (model, state, counters))


def _lockstep_segment(
    method: AbstractMethod, loss: AbstractLoss | AbstractObjective, models, state, counters, x, y, target
):
    """Advance an ensemble of a lockstep method to `target` with one shared step counter.

    The members' steps are vmapped inside the loop, so the step index is not batched and a
    `lax.cond` on it in the method (SGD's new permutation each epoch) stays a real branch instead
    of a select that evaluates both sides at every step.
    """

    def cond(carry):
        return carry[2].step[0] < target

    def body(carry):
        m, s, c = carry
        i = c.step[0]
        out = eqx.filter_vmap(lambda mm, ss: method.step(mm, ss, loss, x, y, i))(m, s)
        return out.model, out.state, _Counters(c.step + 1, c.time + out.dt, out.dt, c.done)

    return jax.lax.while_loop(cond, body, (models, state, counters))


def _measure(loss: AbstractLoss | AbstractObjective, model, x, y):
    params, static = partition(model)
    m = eqx.combine(params, static)
    if isinstance(loss, AbstractObjective):
        return loss.value_and_outputs(m)[0], jnp.zeros((), jnp.int32), jnp.array(False)
    f = jax.vmap(m)(x)
    unsatisfied = loss.unsatisfied(f, y)
    return mean_loss(loss, f, y, m.output_scale), jnp.sum(unsatisfied), ~jnp.any(unsatisfied)


@typechecked
def log_spaced_steps(steps: int, n: int) -> Int[Array, " n_unique"]:
    """About `n` distinct integers from 0 to `steps`, log-spaced (0 and `steps` always included)."""
    check_int_at_least("steps", steps, 1)
    check_int_at_least("n", n, 2)
    grid = np.unique(np.round(np.logspace(0, np.log10(steps), n - 1)).astype(np.int64))
    return jnp.asarray(np.concatenate([[0], grid]))


class History(eqx.Module):
    """What was recorded at log-spaced steps (leading axis K for an ensemble).

    - `step`: number of steps taken (accepted steps for gradient flow) at each record.
    - `time`: t = Σ (learning rate or dt) up to the record.
    - `loss`: the objective (1/(α² P)) Σ ℓ (thesis ch. 3 eq. 7; no L2 term).
    - `n_unsatisfied`: N_Δ, number of unsatisfied patterns (000 §II).
    - `step_size`: the last learning rate or dt.
    - `wall_time`: seconds since the start of training (host clock, shared by the ensemble).
    - `snapshot_step`, `snapshots`: flattened parameters θ at log-spaced steps (``(S, N)``), empty
      when no snapshots were asked for; the input of the aging analysis (003).
    - `outcome`: how each run ended: [`FITTED`][jamscope.end_state.FITTED] (every pattern
      satisfied), [`JAMMED`][jamscope.end_state.JAMMED] (the plateau test of the `end` criterion
      passed), [`FROZEN`][jamscope.end_state.FROZEN] (passed, but every unsatisfied pattern sits
      on dead units: [`mark_frozen`][jamscope.end_state.mark_frozen]) or
      [`UNDECIDED`][jamscope.end_state.UNDECIDED]; see [`jamscope.end_state`][jamscope.end_state].
    - `n_frozen`: the unsatisfied patterns frozen at the end
      ([`frozen_patterns`][jamscope.end_state.frozen_patterns]); counted when training with an
      `end` criterion, a margin loss and a network with hidden layers, else 0.
    """

    step: Int[Array, "*K R"]
    time: Float[Array, "*K R"]
    loss: Float[Array, "*K R"]
    n_unsatisfied: Int[Array, "*K R"]
    step_size: Float[Array, "*K R"]
    wall_time: Float[Array, " R"]
    snapshot_step: Int[Array, "*K S"]
    snapshots: Float[Array, "*K S N"]
    outcome: Int[Array, "*K"]
    n_frozen: Int[Array, "*K"]

    @property
    def fitted(self) -> Bool[Array, "*K"]:
        """Whether every pattern was satisfied at the end (N_Δ = 0)."""
        return self.outcome == FITTED


def _check_inputs(model, loss: AbstractLoss | AbstractObjective, data: Dataset | None, steps: int) -> None:
    check_int_at_least("steps", steps, 1)
    if isinstance(loss, AbstractObjective):
        if data is not None:
            raise ValueError("`data` must be None when `loss` is an AbstractObjective (it holds its own)")
        return
    if data is None:
        raise ValueError("`data` is required with a loss per pattern (None only with an AbstractObjective)")
    if not isinstance(model, AbstractNet):
        raise TypeError(f"`model` must be an AbstractNet with a loss per pattern, got {type(model).__name__}")
    check_trailing_shape("data.x", data.x, model.input_shape)
    loss.check_labels(data.y, model.n_outputs)


def _is_one_key(key) -> bool:
    return key.ndim == (0 if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) else 1)


def _member_keys(key, n_members: int):
    """One key per member: `key` split K ways, or `key` itself when it is already a batch of K keys."""
    if _is_one_key(key):
        return jax.random.split(key, n_members)
    if key.shape[0] != n_members:
        raise ValueError(f"`key` must be one key or one per member ({n_members}), got {key.shape[0]} keys")
    return key


def _snapshot_steps(steps: int, n_snapshots: int, snapshot_steps) -> np.ndarray:
    """The sorted distinct snapshot steps: `snapshot_steps` if given, else about `n_snapshots` log-spaced."""
    if snapshot_steps is None:
        return np.asarray(log_spaced_steps(steps, n_snapshots)) if n_snapshots >= 2 else np.zeros(0, int)
    chosen = np.unique(np.asarray(snapshot_steps))
    if chosen.size == 0 or chosen[0] < 0 or chosen[-1] > steps:
        raise ValueError(f"`snapshot_steps` must be a non-empty set of steps in [0, {steps}] (`steps`)")
    return chosen


@typechecked
def train(
    model: AbstractNet | eqx.Module,
    loss: AbstractLoss | AbstractObjective,
    data: Dataset | None,
    method: AbstractMethod,
    *,
    steps: int,
    key: PRNGKeyArray | PRNGKeys | None = None,
    stop_when_fitted: bool = True,
    end: EndCriterion | None = None,
    n_records: int = 100,
    n_snapshots: int = 0,
    snapshot_steps: Int[Array, " S"] | None = None,
    ensemble: bool = False,
    mesh: Mesh | None = None,
    progress: bool = True,
) -> tuple[AbstractNet | eqx.Module, History]:
    """Train `model` on `data` with `method` for at most `steps` steps; return (model, history).

    **Arguments:**

    - `model`: a network, or an ensemble of networks (leading axis K) with ``ensemble=True``; with
      an [`AbstractObjective`][jamscope.losses.AbstractObjective], any Equinox module it reads
      (e.g. a [`pomdp`][jamscope.pomdp] memory).
    - `loss`: the loss per pattern; the objective is (1/(α² P)) Σ ℓ (thesis ch. 3 eq. 7). Or an
      `AbstractObjective`, minimized as it is (full-batch methods only; never "fitted").
    - `data`: the training set (`data.x`, `data.y`); None with an `AbstractObjective`.
    - `method`: [`Adam`][jamscope.train.Adam], [`SGD`][jamscope.train.SGD] or
      [`GradientFlow`][jamscope.train.GradientFlow].
    - `steps`: maximum number of (accepted) steps.
    - `key`: randomness of the method (SGD batches); one key, split over an ensemble, or one key per
      member (a batch of K keys) with ``ensemble=True``.
    - `stop_when_fitted`: stop a model once N_Δ = 0 (checked every step for full-batch methods,
      at record steps for SGD).
    - `end`: an [`EndCriterion`][jamscope.end_state.EndCriterion]: a run also stops as soon as its
      recorded trajectory passes the plateau test (jammed), and `History.outcome` says which runs
      ended fitted, jammed, frozen (with a margin loss and hidden layers) or undecided. Judged at
      the record steps, so records must be dense enough to resolve a decade (`n_records` ≥ 10
      per decade of steps is plenty). Full-batch methods only.
    - `n_records`: about how many log-spaced steps to record in the history.
    - `n_snapshots`: about how many log-spaced parameter snapshots to keep (0: none).
    - `snapshot_steps`: the exact steps (0 … `steps`) at which to keep snapshots instead, e.g. the
      t_w + t grid of [`aging.snapshot_schedule`][jamscope.aging.snapshot_schedule].
    - `mesh`: with ``ensemble=True``, split the members over the devices of this mesh (see
      [`jamscope.ensemble`][jamscope.ensemble]; e.g. [`ensemble_mesh()`][jamscope.ensemble.ensemble_mesh]).
      The results equal the vmapped ones (bit for bit for SGD and gradient flow in the tests, to
      ~10⁻¹⁴ relative for Adam in float64); None trains the whole ensemble vmapped on one device.
    - `progress`: show a tqdm bar.
    """
    method.check()
    _check_inputs(model, loss, data, steps)
    check_int_at_least("n_records", n_records, 2)
    if end is not None and method.lockstep:
        raise ValueError(f"`end` judges full-batch runs; {type(method).__name__} steps on mini-batches")
    if isinstance(loss, AbstractObjective) and (end is not None or not method.full_batch):
        raise ValueError("an AbstractObjective trains with a full-batch `method` and without `end`")
    check_int_at_least("n_snapshots", n_snapshots, 0)
    x, y = (data.x, data.y) if data is not None else (jnp.zeros(0), jnp.zeros(0))
    key = jax.random.PRNGKey(0) if key is None else key
    records = np.asarray(log_spaced_steps(steps, n_records))
    snaps = _snapshot_steps(steps, n_snapshots, snapshot_steps)
    boundaries = np.union1d(records[1:], snaps[snaps > 0])

    # the data are arguments of the compiled functions, not constants folded into them
    def init_one(m, k, x, y):
        state = method.init(m, loss, x, y, k)
        dtype = jax.tree.leaves(partition(m)[0])[0].dtype
        zero = jnp.zeros((), dtype)
        return state, _Counters(jnp.zeros((), jnp.int32), zero, zero, jnp.array(False))

    def segment_one(m, s, c, x, y, target):
        return _segment(method, loss, stop_when_fitted, m, s, c, x, y, target)

    def lockstep(m, s, c, x, y, target):
        return _lockstep_segment(method, loss, m, s, c, x, y, target)

    def measure_one(m, x, y):
        value, n_unsat, fitted = _measure(loss, m, x, y)
        return value, n_unsat, fitted, flat_params(m)

    if ensemble:
        n_members = ensemble_size(model)
        size = padded_size(n_members, mesh)
        model, keys = (pad_members(a, size) for a in (model, _member_keys(key, n_members)))
        if mesh is not None:
            model, keys, (x, y) = (
                place_members(model, mesh),
                place_members(keys, mesh),
                replicate((x, y), mesh),
            )
        shared = (False, False)  # x, y
        init = over_members(
            eqx.filter_vmap(init_one, in_axes=(0, 0, None, None)), mesh, (True, True, *shared)
        )
        if method.lockstep:
            segment = over_members(lockstep, mesh, (True, True, True, *shared, False))
        else:
            vmapped = eqx.filter_vmap(segment_one, in_axes=(0, 0, 0, None, None, None))
            segment = over_members(vmapped, mesh, (True, True, True, *shared, False))
        measure_members = over_members(
            eqx.filter_vmap(measure_one, in_axes=(0, None, None)), mesh, (True, *shared)
        )

        def measure(m, x, y):  # on the host, without the padding members
            return take_members(gather(measure_members(m, x, y)), n_members)

        state, counters = init(model, keys, x, y)
    else:
        if mesh is not None:
            raise ValueError("`mesh` splits an ensemble over devices: pass it with `ensemble=True`")
        if not _is_one_key(key):
            raise ValueError("`key` must be a single key when `ensemble` is False")
        init, segment, measure = (eqx.filter_jit(f) for f in (init_one, segment_one, measure_one))
        state, counters = init(model, key, x, y)

    rows: list[tuple] = []
    snapshots: list[tuple] = []
    start = _time.perf_counter()

    def record(m, c, at_snapshot):
        value, n_unsat, fitted, theta = measure(m, x, y)
        c = take_members(gather(c), n_members) if ensemble else c
        rows.append((c.step, c.time, value, n_unsat, c.dt, _time.perf_counter() - start))
        if at_snapshot:
            snapshots.append((c.step, theta))
        return np.all(np.asarray(fitted))

    def verdicts():
        stacked = [np.stack([np.asarray(r[i]) for r in rows], axis=-1) for i in (0, 1, 2, 3, 4)]
        return judge(*stacked, end)[0]

    def stop_decided(c):
        """Mark the members the end criterion has decided as done (padding copies follow member 0)."""
        decided = np.atleast_1d(verdicts() != UNDECIDED)
        if not ensemble:
            return c._replace(done=c.done | bool(decided[0]))
        padded = np.concatenate([decided, np.full(size - n_members, decided[0])])
        return c._replace(done=c.done | jax.device_put(jnp.asarray(padded), c.done.sharding))

    record(model, counters, 0 in snaps)
    bar = tqdm(total=steps, disable=not progress, desc=type(method).__name__, leave=False)
    last = 0
    for target in boundaries:
        model, state, counters = segment(model, state, counters, x, y, jnp.asarray(int(target), jnp.int32))
        all_fitted = record(model, counters, target in snaps)
        bar.update(int(target) - last)
        bar.set_postfix(loss=f"{float(np.max(np.asarray(rows[-1][2]))):.3g}")
        last = int(target)
        if end is not None:
            counters = stop_decided(counters)
        if np.all(gather(counters.done)) or (stop_when_fitted and all_fitted):
            break
    bar.close()
    final = measure(model, x, y)
    model = take_members(model, n_members) if ensemble else model
    n_frozen = np.zeros(np.shape(final[1]), np.int32)
    if end is None:
        outcome = np.where(np.asarray(final[2]), FITTED, UNDECIDED)
    else:
        outcome = verdicts()
        if isinstance(loss, AbstractMarginLoss) and can_freeze(model):
            def frozen(m, data):
                return frozen_patterns(loss, m, data)

            counted = ensemble_map(frozen, model, data, mesh=mesh) if ensemble else frozen(model, data)
            n_frozen = np.asarray(gather(counted), np.int32)
            outcome = mark_frozen(np.asarray(outcome, np.int32), np.asarray(final[1], np.int32), n_frozen)
    history = _history(rows, snapshots, ensemble, final, outcome, n_frozen)
    return model, history


def _history(rows, snapshots, ensemble: bool, final, outcome, n_frozen) -> History:
    axis = 1 if ensemble else 0

    def stack(i):
        return jnp.stack([jnp.asarray(r[i]) for r in rows], axis=-1)

    if snapshots:
        snap_step = jnp.stack([s[0] for s in snapshots], axis=-1)
        snap = jnp.stack([s[1] for s in snapshots], axis=axis)
    else:
        theta = final[3]
        snap_step = jnp.zeros(theta.shape[:-1] + (0,), jnp.int32)
        snap = jnp.zeros(theta.shape[:-1] + (0, theta.shape[-1]), theta.dtype)
    return History(
        step=stack(0),
        time=stack(1),
        loss=stack(2),
        n_unsatisfied=stack(3).astype(jnp.int32),
        step_size=stack(4),
        wall_time=jnp.asarray([r[5] for r in rows]),
        snapshot_step=snap_step,
        snapshots=snap,
        outcome=jnp.asarray(outcome, jnp.int32),
        n_frozen=jnp.asarray(n_frozen, jnp.int32),
    )


@typechecked
def adam(
    model: AbstractNet,
    loss: AbstractLoss,
    data: Dataset,
    *,
    steps: int,
    lr: float = 1e-4,
    decay_every: int | None = None,
    decay_factor: float = 0.1,
    lr_floor: float = 0.0,
    stop_when_fitted: bool = True,
    end: EndCriterion | None = None,
    n_records: int = 100,
    n_snapshots: int = 0,
    ensemble: bool = False,
    mesh: Mesh | None = None,
    progress: bool = True,
) -> tuple[AbstractNet, History]:
    """Full-batch Adam, lr divided by 10 every `decay_every` steps (000 §III).

    See [`train`][jamscope.train.train] for the arguments and the stopping rule."""
    method = Adam(lr=lr, decay_every=decay_every, decay_factor=decay_factor, lr_floor=lr_floor)
    return train(
        model, loss, data, method, steps=steps, stop_when_fitted=stop_when_fitted, end=end,
        n_records=n_records, n_snapshots=n_snapshots, ensemble=ensemble, mesh=mesh, progress=progress,
    )  # fmt: skip


@typechecked
def sgd(
    model: AbstractNet,
    loss: AbstractLoss,
    data: Dataset,
    *,
    steps: int,
    key: PRNGKeyArray | PRNGKeys,
    lr: float = 0.05,
    batch_size: int = 50,
    weight_decay: float = 0.0,
    stop_when_fitted: bool = False,
    n_records: int = 100,
    n_snapshots: int = 0,
    snapshot_steps: Int[Array, " S"] | None = None,
    ensemble: bool = False,
    mesh: Mesh | None = None,
    progress: bool = True,
) -> tuple[AbstractNet, History]:
    """Mini-batch SGD with L2 weight decay λ‖θ‖² (003 §2); see [`train`][jamscope.train.train]."""
    method = SGD(lr=lr, batch_size=batch_size, weight_decay=weight_decay)
    return train(
        model, loss, data, method, steps=steps, key=key, stop_when_fitted=stop_when_fitted,
        n_records=n_records, n_snapshots=n_snapshots, snapshot_steps=snapshot_steps, ensemble=ensemble,
        mesh=mesh, progress=progress,
    )  # fmt: skip


@typechecked
def gradient_flow(
    model: AbstractNet | eqx.Module,
    loss: AbstractLoss | AbstractObjective,
    data: Dataset | None,
    *,
    steps: int,
    max_output_change: float = 0.1,
    max_grad_change: float = 1e-4,
    dt0: float = 1.0,
    stop_when_fitted: bool = True,
    n_records: int = 100,
    n_snapshots: int = 0,
    ensemble: bool = False,
    mesh: Mesh | None = None,
    progress: bool = True,
) -> tuple[AbstractNet | eqx.Module, History]:
    """Adaptive-step gradient flow of thesis ch. 3 eqs. (8)–(9); see [`train`][jamscope.train.train]."""
    method = GradientFlow(max_output_change=max_output_change, max_grad_change=max_grad_change, dt0=dt0)
    return train(
        model, loss, data, method, steps=steps, stop_when_fitted=stop_when_fitted, n_records=n_records,
        n_snapshots=n_snapshots, ensemble=ensemble, mesh=mesh, progress=progress,
    )  # fmt: skip
