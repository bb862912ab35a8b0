"""Memory and learning in the two-hypothesis POMDP (thesis ch. 7; Geiger, Eloy & Wyart, arXiv:2106.08849).

An agent plays two arms paying ±1, the better one with probability (1 + μ)/2 (eq. 4), under a reset r
per step that stands for the discount γ = 1 − r (Lemma 2.1). Its memory, with the softmax policy it
carries, makes a Markov chain per hypothesis; this namespace solves that chain exactly, in float64:

- **problem and memories**: [`TwoHypothesis`][jamscope.pomdp.TwoHypothesis] (μ, r);
  [`RAM`][jamscope.pomdp.RAM] (Def. 2.5, M states, M_eff = 4M) and [`Memento`][jamscope.pomdp.Memento]
  (Def. 2.6, the last m plays, M_eff = 4^m), Equinox modules holding the logits, with
  [`history_index`][jamscope.pomdp.history_index] / [`history`][jamscope.pomdp.history] for Memento states;
- **the chain** (pure, differentiable in the logits, vmappable over a batch of memories):
  [`transition_matrix`][jamscope.pomdp.transition_matrix] (Def. 2.3 eq. 1),
  [`steady_state`][jamscope.pomdp.steady_state] (dense solve, p = r (I − γT_π)⁻¹ p0′),
  [`steady_state_power`][jamscope.pomdp.steady_state_power] (App. B Alg. 1),
  [`worst_arm_probability`][jamscope.pomdp.worst_arm_probability] q_π,
  [`mean_reward`][jamscope.pomdp.mean_reward] E_p[R] = μ(1 − 2q_π) and
  [`expected_gain`][jamscope.pomdp.expected_gain] G_π = E_p[R]/r (eq. 2; not the r/(1 − r)(1 − 2q) of
  §2.3);
- **policies**: [`column_of_confidence`][jamscope.pomdp.column_of_confidence] (Def. 3.1) and its exact
  optimal exit rate [`optimal_ccp_exit_rate`][jamscope.pomdp.optimal_ccp_exit_rate];
  [`necklace_policy`][jamscope.pomdp.necklace_policy] (Def. 4.1); the Fig. 4 initialisations
  [`RAM.random`][jamscope.pomdp.RAM.random], [`linear_ram`][jamscope.pomdp.linear_ram],
  [`columns_ram`][jamscope.pomdp.columns_ram], [`ccp_ram`][jamscope.pomdp.ccp_ram],
  [`Memento.random`][jamscope.pomdp.Memento.random], [`cycles_memento`][jamscope.pomdp.cycles_memento];
- **learning and its landscape**: [`NegativeGain`][jamscope.pomdp.NegativeGain], −G_π as an
  objective of [`jamscope.train`][jamscope.train] (gradient flow on it is eq. 3), and
  [`gain_hessian`][jamscope.pomdp.gain_hessian], ∂²G_π/∂w∂w for the curvature tools;
- **closed forms** (r → 0): [`hellman_cover_q`][jamscope.pomdp.hellman_cover_q],
  [`ccp_q`][jamscope.pomdp.ccp_q] (eq. 7) and [`ccp_q_general`][jamscope.pomdp.ccp_q_general] (eq. 41),
  [`ccp_exit_rate`][jamscope.pomdp.ccp_exit_rate] and
  [`ccp_exit_rate_printed`][jamscope.pomdp.ccp_exit_rate_printed] (eq. 6),
  [`necklace_bound`][jamscope.pomdp.necklace_bound] (Thm. 4.3 eq. 10),
  [`escape_probability`][jamscope.pomdp.escape_probability] (Lemma 4.1),
  [`end_occupation`][jamscope.pomdp.end_occupation] (Lemma 4.2); necklaces:
  [`necklace_of`][jamscope.pomdp.necklace_of], [`necklaces`][jamscope.pomdp.necklaces],
  [`necklace_count`][jamscope.pomdp.necklace_count], [`gray_chain`][jamscope.pomdp.gray_chain],
  [`is_gray_chain`][jamscope.pomdp.is_gray_chain], [`gray_step`][jamscope.pomdp.gray_step].

Example (float64, about a second):

    jax.config.update("jax_enable_x64", True)
    problem = js.pomdp.TwoHypothesis(mu=0.1, reset=1e-3)
    eps = js.pomdp.optimal_ccp_exit_rate(problem, 8)  # ≈ 0.0443
    ccp = js.pomdp.column_of_confidence(8, eps)
    js.pomdp.worst_arm_probability(problem, ccp)  # ≈ 0.1077
    ram = js.pomdp.RAM.random(key, 8)
    grad = eqx.filter_grad(lambda m: js.pomdp.expected_gain(problem, m))(ram)
"""

from ._chain import (
    expected_gain,
    mean_reward,
    steady_state,
    steady_state_power,
    transition_matrix,
    worst_arm_probability,
)
from ._closed_forms import (
    ccp_exit_rate,
    ccp_exit_rate_printed,
    ccp_q,
    ccp_q_general,
    end_occupation,
    escape_probability,
    hellman_cover_q,
    necklace_bound,
)
from ._landscape import NegativeGain, gain_hessian
from ._memories import RAM, AbstractMemory, Memento, history, history_index
from ._necklaces import (
    GRAY_CHAIN_MAX_M,
    NECKLACES_MAX_M,
    gray_chain,
    gray_step,
    is_gray_chain,
    necklace_count,
    necklace_of,
    necklaces,
)
from ._policies import (
    FORBIDDEN_LOGIT,
    ccp_exit_rate_profile,
    ccp_ram,
    column_of_confidence,
    columns_ram,
    cycles_memento,
    linear_ram,
    necklace_policy,
    optimal_ccp_exit_rate,
)
from ._problem import TwoHypothesis

__all__ = [
    "TwoHypothesis", "AbstractMemory", "RAM", "Memento", "history_index", "history",
    "transition_matrix", "steady_state", "steady_state_power", "worst_arm_probability", "mean_reward",
    "expected_gain",
    "column_of_confidence", "ccp_exit_rate_profile", "optimal_ccp_exit_rate", "ccp_ram", "linear_ram",
    "columns_ram", "cycles_memento", "necklace_policy", "FORBIDDEN_LOGIT",
    "NegativeGain", "gain_hessian",
    "hellman_cover_q", "ccp_q", "ccp_q_general", "ccp_exit_rate", "ccp_exit_rate_printed", "necklace_bound",
    "escape_probability", "end_occupation",
    "necklace_of", "necklaces", "necklace_count", "gray_chain", "is_gray_chain", "gray_step",
    "NECKLACES_MAX_M", "GRAY_CHAIN_MAX_M",
]  # fmt: skip
