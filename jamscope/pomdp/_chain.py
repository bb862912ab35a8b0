"""The Markov chain of a memory's policy on the two-hypothesis problem, solved exactly.

Per hypothesis h (App. B: the two environments are independent, each of weight ½), the chain states s
are the observations with a last play (see `jamscope.pomdp` for the layouts), and

    T_π(s'|s) = Σ_a Σ_y π(a|o(s)) P_h(y | arm(a)) [s' = next(o(s), a, y)]      (thesis ch. 7 Def. 2.3 eq. 1)

is column-stochastic: p(s') = Σ_s T_π(s'|s) p(s). A reset (probability r per step) puts the agent in a
blank observation, drawn from p0, from which it acts at once: the state right after a reset is drawn from
p0′ = Σ_b p0(b) T_π(·|b). The chain with resets T̃ = r p0′ 1ᵀ + γ T_π (App. A eq. 11 with p0 → p0′, γ = 1 − r)
has the steady state (the limit of App. A eq. 12)

    p = r (I − γ T_π)⁻¹ p0′,        G_π = E_p[R]/r = Rᵀ (I − γ T_π)⁻¹ p0′        (Lemma 2.1)

with R(s) = ±1 the last reward and G_π the discounted return of eq. 2 started at s_0 ∼ p0′. Every chain
state has played an arm, so q(s) ∈ {0, 1} and E_p[R] = μ (1 − 2 q_π) exactly, i.e.
**G_π = (μ/r)(1 − 2 q_π)**; the relation G_π = r/(1 − r) (1 − 2 q_π) printed in §2.3 has neither the μ
nor the horizon 1/r and is wrong.

Everything is computed in float64 (q reaches 10⁻¹², and I − γ T_π has a condition number ∼ 1/r): the
functions raise ``ValueError`` when float64 is off and cast float32 logits up. Derivatives in the logits
come from autodiff through the dense solve.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_float64, check_int_at_least, check_positive
from ..typing import Array, Float, typechecked
from ._memories import AbstractMemory
from ._problem import TwoHypothesis

__all__ = [
    "transition_matrix",
    "steady_state",
    "steady_state_power",
    "worst_arm_probability",
    "mean_reward",
    "expected_gain",
]

_HIGHEST = jax.lax.Precision.HIGHEST


def _float64(problem: TwoHypothesis, memory: AbstractMemory):
    why = "q and G are computed in float64 (q reaches 1e-12 and I − γT_π has a condition number ~1/r)"
    return as_float64("memory", (problem, memory), why)


def _chain(problem, memory):
    """T_π (2, S, S) and p0′ (2, S), per hypothesis, in float64."""
    nxt, arm = memory.tables()
    n_obs = arm.shape[0]
    s = memory.n_states
    pi = memory.policy()  # (O, A)
    win = problem.success_probabilities()[:, arm]  # (2, O, A): P_h(+1 | arm(a))
    weights = pi[None, :, :, None] * jnp.stack([1.0 - win, win], axis=-1)  # (2, O, A, y)
    obs = np.broadcast_to(np.arange(n_obs)[:, None, None], nxt.shape)
    kernel = jnp.zeros((2, s, n_obs), jnp.float64).at[:, nxt, obs].add(weights)  # (2, S', O)
    p0 = memory.reset_distribution()
    return kernel[:, :, :s], jnp.einsum("hsb,b->hs", kernel[:, :, s:], p0, precision=_HIGHEST)


def _solve(problem, memory):
    t, p0 = _chain(problem, memory)
    n = t.shape[-1]
    diagonal = jnp.diagonal(t, axis1=-2, axis2=-1)
    # 1 − γ T(s|s) written r + γ Σ_{s′≠s} T(s′|s): no cancellation when the chain lingers in s
    exact = problem.reset + problem.gamma * (jnp.sum(t, axis=-2) - diagonal)
    a = (-problem.gamma * t).at[..., jnp.arange(n), jnp.arange(n)].set(exact)
    return problem.reset * jnp.linalg.solve(a, p0[..., None])[..., 0]


def _wrong_arm(memory):
    """[h, s]: 1 where the last arm of s is the worst arm under h (B under H_A, A under H_B)."""
    arms = memory.last_arms()
    return np.stack([arms == 1, arms == 0]).astype(np.float64)


def _rewards(memory):
    return memory.last_rewards().astype(np.float64)


@eqx.filter_jit
def _transition(problem, memory):
    return _chain(*_float64(problem, memory))


@eqx.filter_jit
def _steady(problem, memory):
    """p (2, S), q per hypothesis (2,) and E_p[R]: one program per memory shape."""
    problem, memory = _float64(problem, memory)
    p = _solve(problem, memory)
    q = jnp.sum(p * _wrong_arm(memory), axis=-1)
    return p, q, 0.5 * jnp.sum(p @ _rewards(memory))


@eqx.filter_jit
def _power(problem, memory, tol, max_squarings):
    problem, memory = _float64(problem, memory)
    t, p0 = _chain(problem, memory)
    m = problem.reset * p0[:, :, None] + problem.gamma * t  # T̃(s'|s) = r p0′(s') + γ T_π(s'|s)

    def spread(m):
        return jnp.max(jnp.abs(m - m[..., :1]))

    def cond(carry):
        m, k = carry
        return (k < max_squarings) & (spread(m) > tol)

    def body(carry):
        m, k = carry
        return jnp.matmul(m, m, precision=_HIGHEST), k + 1

    m, _ = jax.lax.while_loop(cond, body, (m, jnp.asarray(0)))
    return m[..., 0]


@typechecked
def transition_matrix(
    problem: TwoHypothesis, memory: AbstractMemory
) -> tuple[Float[Array, "2 S S"], Float[Array, "2 S"]]:
    """``(T_π, p0′)`` per hypothesis (index 0 = H_A, 1 = H_B): T_π[h, s', s] = T_π(s'|s) (Def. 2.3 eq. 1,
    column-stochastic) and p0′[h] the distribution of the state right after a reset (the blank
    observations acted on once, with p0 from the memory)."""
    return _transition(problem, memory)


@typechecked
def steady_state(problem: TwoHypothesis, memory: AbstractMemory) -> Float[Array, "2 S"]:
    """p[h] = r (I − γ T_π)⁻¹ p0′, the steady state with resets under each hypothesis (Lemma 2.1, App. A;
    each row sums to 1), by a dense LU solve (differentiable).

    The diagonal 1 − γ T_π(s|s) is formed as $r + γ \\sum_{s′≠s} T_π(s′|s)$, exact for a chain that lingers in
    s; the rounding left in q is ≈ 10⁻⁹ at r = 10⁻⁸ (it grows as 1/r), enough to minimise q over a
    parameter down to r ≈ 10⁻⁶ but not below."""
    return _steady(problem, memory)[0]


@typechecked
def steady_state_power(
    problem: TwoHypothesis, memory: AbstractMemory, *, tol: float = 1e-13, max_squarings: int = 64
) -> Float[Array, "2 S"]:
    """The steady state by App. B Alg. 1: square T̃ = r p0′ 1ᵀ + γ T_π until its columns agree to `tol`
    (max-norm) or after `max_squarings`, and return its first column. Each squaring doubles the time
    covered: the columns agree to $2(1 − r)^{2^j}$ after j squarings, so j ≈ log₂(ln(2/tol)/r) at worst.
    For comparison with [`steady_state`][jamscope.pomdp.steady_state]; forward mode only (a while loop).
    """
    check_positive("tol", tol)
    check_int_at_least("max_squarings", max_squarings, 1)
    return _power(problem, memory, float(tol), int(max_squarings))


@typechecked
def worst_arm_probability(
    problem: TwoHypothesis, memory: AbstractMemory, *, per_hypothesis: bool = False
) -> Float[Array, ""] | Float[Array, "2"]:
    """q_π = E_p[q(s)], the probability to have just played the worst arm in the steady state (§2.3),
    averaged over the two hypotheses, $q_π = ½ (q_{H_A} + q_{H_B})$ (App. B); the pair ($q_{H_A}$, $q_{H_B}$)
    with `per_hypothesis`."""
    q = _steady(problem, memory)[1]
    return q if per_hypothesis else 0.5 * (q[0] + q[1])


@typechecked
def mean_reward(problem: TwoHypothesis, memory: AbstractMemory) -> Float[Array, ""]:
    """E_p[R] = r G_π = μ (1 − 2 q_π), the mean reward per step in the steady state (Lemma 2.1)."""
    return _steady(problem, memory)[2]


@typechecked
def expected_gain(problem: TwoHypothesis, memory: AbstractMemory) -> Float[Array, ""]:
    """G_π = E_p[R]/r = (μ/r)(1 − 2 q_π), the expected discounted return of eq. 2 (Lemma 2.1; the
    r/(1 − r)(1 − 2q_π) printed in §2.3 is wrong, see the module docstring)."""
    return _steady(problem, memory)[2] / problem.reset.astype(jnp.float64)
