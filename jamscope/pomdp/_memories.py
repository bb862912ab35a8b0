"""The agent's memories of thesis ch. 7 §2.4: RAM (Def. 2.5) and Memento (Def. 2.6), as softmax policies.

A memory holds the logits w of its policy $π_w(a|o) = \\exp(w_{oa}) / \\sum_b \\exp(w_{ob})$ (§2.2), one
softmax per observation o. **Layout: rows are observations, columns actions** (the transpose of the
paper's $w ∈ ℝ^{|A|×|Ω|}$). The chain states of one hypothesis are the observations that carry a last
play; the observations that follow a reset carry none (*blank*) and come last:

- **RAM** with M memory states (Def. 2.5): chain state s = 4i + 2a + y (memory i, last arm a ∈ {0 = A,
  1 = B}, last reward y ∈ {0: −1, 1: +1}), 4M states (M_eff = 4M); observation 4M + i is the blank of
  memory i. Action k = 2j + b writes memory j and plays arm b: one joint softmax over the 2M pairs.
  `policy_logits` is (5M, 2M) and `reset_logits` (M,) gives the reset distribution p0 = softmax over the
  blank memories (App. B: a learnable p0).
- **Memento** with length m (Def. 2.6): a chain state is a history of 1..m plays (arm, reward), oldest
  first; a play c = 2a + y is one base-4 digit, the most recent the least significant, and the histories
  of length ℓ take the indices (4^ℓ − 4)/3 + code, (4^(m+1) − 4)/3 states in all (M_eff = 4^m counts the
  full ones). A new play is appended on the right and drops the oldest once m plays are remembered. The
  last observation, index (4^(m+1) − 4)/3, is the empty history of a reset. `policy_logits` is
  ((4^(m+1) − 1)/3, 2); the action is the arm.

In both layouts the last play of chain state s is s mod 4 = 2a + y.
"""

import abc
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_finite, check_int_at_least
from ..typing import Array, Float, PRNGKeyArray, typechecked

__all__ = ["AbstractMemory", "RAM", "Memento", "history_index", "history"]

_ARMS = "AB"
_REWARDS = "-+"


def _ram_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """next[o, k, y] = 2k + y (action k = 2j + b leads to state 4j + 2b + y) and arm[o, k] = k mod 2."""
    n_obs, n_act = 5 * size, 2 * size
    k = np.arange(n_act)
    nxt = np.broadcast_to(2 * k[None, :, None] + np.arange(2)[None, None, :], (n_obs, n_act, 2)).copy()
    arm = np.broadcast_to(k % 2, (n_obs, n_act)).copy()
    return nxt, arm


def _offset(length):
    """First index of the histories of `length` ≥ 1 plays: (4^ℓ − 4)/3."""
    return (4**length - 4) // 3


def _memento_lengths_codes(length: int) -> tuple[np.ndarray, np.ndarray]:
    """(ℓ, code) of every observation of a Memento of `length` m; the last one is the empty history."""
    lengths, codes = [], []
    for ell in range(1, length + 1):
        lengths.append(np.full(4**ell, ell))
        codes.append(np.arange(4**ell))
    return np.concatenate(lengths + [np.zeros(1, int)]), np.concatenate(codes + [np.zeros(1, int)])


def _memento_tables(length: int) -> tuple[np.ndarray, np.ndarray]:
    ell, code = _memento_lengths_codes(length)
    kept = code % 4 ** np.minimum(ell, length - 1)  # drop the oldest play when m are remembered
    play = 2 * np.arange(2)[None, :, None] + np.arange(2)[None, None, :]  # (1, arm, reward)
    new_len = np.minimum(ell + 1, length)
    nxt = _offset(new_len)[:, None, None] + 4 * kept[:, None, None] + play
    arm = np.broadcast_to(np.arange(2), (ell.size, 2)).copy()
    return nxt, arm


def _memento_length(n_obs: int) -> int | None:
    """m with (4^(m+1) − 1)/3 = n_obs, or None."""
    m = 1
    while (4 ** (m + 1) - 1) // 3 < n_obs:
        m += 1
    return m if (4 ** (m + 1) - 1) // 3 == n_obs else None


class AbstractMemory(eqx.Module):
    """A memory architecture with its softmax policy (see the module docstring for the layouts).

    The structure (which chain state an action and a reward lead to, which arm an action plays) is fixed
    by the shapes; the values are the logits. A batch of memories stacked along a leading axis (e.g. built
    with ``eqx.filter_vmap``) goes through every function of `jamscope.pomdp` under ``eqx.filter_vmap``.
    """

    policy_logits: eqx.AbstractVar[Float[Array, "*batch O A"]]

    @property
    @abc.abstractmethod
    def n_states(self) -> int:
        """Chain states per hypothesis (observations with a last play)."""

    @property
    @abc.abstractmethod
    def effective_size(self) -> int:
        """M_eff, the memory states counting the last arm and reward (4M for RAM, 4^m for Memento)."""

    @abc.abstractmethod
    def reset_distribution(self) -> Float[Array, "*batch n_blank"]:
        """p0 over the blank observations (the last rows of `policy_logits`)."""

    @abc.abstractmethod
    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """``(next_state, arm)``: next_state[o, a, y] is the chain state reached from observation o by
        action a and reward y (0: −1, 1: +1); arm[o, a] the arm (0 = A, 1 = B) action a plays."""

    @property
    def n_observations(self) -> int:
        return self.policy_logits.shape[-2]

    @property
    def n_actions(self) -> int:
        return self.policy_logits.shape[-1]

    def policy(self) -> Float[Array, "*batch O A"]:
        """π(a|o), the softmax of each row of `policy_logits`."""
        return jax.nn.softmax(self.policy_logits, axis=-1)

    def last_arms(self) -> np.ndarray:
        """The last arm (0 = A, 1 = B) of every chain state: ⌊s/2⌋ mod 2."""
        return (np.arange(self.n_states) // 2) % 2

    def last_rewards(self) -> np.ndarray:
        """The last reward (±1) of every chain state, R(s) of Def. 2.1: 2 (s mod 2) − 1."""
        return 2 * (np.arange(self.n_states) % 2) - 1


def _check_logits(name: str, logits, shape: tuple[int, ...]) -> None:
    if tuple(logits.shape) != shape:
        raise ValueError(f"`{name}` must have shape {shape}, got {tuple(logits.shape)}")
    check_finite(name, logits)


@final
class RAM(AbstractMemory):
    """A random-access memory of M states (Def. 2.5): the action picks the next memory state and the arm.

    - `policy_logits`: (5M, 2M), row o = 4i + 2a + y (memory i, last arm a, last reward y ∈ {0: −1,
      1: +1}) or 4M + i (memory i after a reset), column 2j + b (write memory j, play arm b);
    - `reset_logits`: (M,), p0 = softmax(`reset_logits`) over the memory a reset starts from.

    Logits must be finite: write a forbidden action as a large negative logit (e.g. −10⁴, whose softmax
    weight e^(−10⁴) is exactly 0 in float64). M_eff = 4M; permuting the memory labels leaves q unchanged.
    """

    policy_logits: Float[Array, "*batch O A"]
    reset_logits: Float[Array, "*batch M"]

    @typechecked
    def __init__(self, policy_logits: Float[Array, "O A"], reset_logits: Float[Array, " M"]):
        size = reset_logits.shape[0]
        check_int_at_least("len(reset_logits)", size, 1)
        _check_logits("policy_logits", policy_logits, (5 * size, 2 * size))
        check_finite("reset_logits", reset_logits)
        self.policy_logits = policy_logits
        self.reset_logits = reset_logits

    @classmethod
    @typechecked
    def random(cls, key: PRNGKeyArray, size: int) -> "RAM":
        """Logits drawn from N(0, 1), policy and reset alike (the *random* initialisation of Fig. 4)."""
        check_int_at_least("size", size, 1)
        k1, k2 = jax.random.split(key)
        return cls(jax.random.normal(k1, (5 * size, 2 * size)), jax.random.normal(k2, (size,)))

    @property
    def size(self) -> int:
        """M, the number of memory states."""
        return self.reset_logits.shape[-1]

    @property
    def n_states(self) -> int:
        return 4 * self.size

    @property
    def effective_size(self) -> int:
        return 4 * self.size

    def reset_distribution(self):
        return jax.nn.softmax(self.reset_logits, axis=-1)

    def tables(self):
        return _ram_tables(self.size)


@final
class Memento(AbstractMemory):
    """The memory of the last m arms played and rewards obtained (Def. 2.6); the action is the arm.

    - `policy_logits`: ((4^(m+1) − 1)/3, 2): one row per history of 1..m plays (index (4^ℓ − 4)/3 +
      Σ_k (2a_k + y_k) 4^(ℓ−1−k), k = 0 the oldest; see [`history_index`][jamscope.pomdp.history_index]),
      then the empty history after a reset; column b plays arm b.

    The history shifts deterministically: playing a and receiving y appends (a, y) on the right (the
    most recent) and drops the oldest play once m are remembered, arms and rewards together (Def. 2.6's
    example shifts the arms only; see [`history_index`][jamscope.pomdp.history_index]). M_eff = 4^m.
    """

    policy_logits: Float[Array, "*batch O 2"]

    @typechecked
    def __init__(self, policy_logits: Float[Array, "O 2"]):
        n_obs = policy_logits.shape[0]
        if _memento_length(n_obs) is None:
            raise ValueError(
                "`policy_logits` must have (4^(m+1) − 1)/3 rows for a memory length m ≥ 1 (5, 21, 85, "
                f"341, …), got {n_obs}"
            )
        check_finite("policy_logits", policy_logits)
        self.policy_logits = policy_logits

    @classmethod
    @typechecked
    def random(cls, key: PRNGKeyArray, length: int) -> "Memento":
        """Logits drawn from N(0, 1) (the *random* initialisation of Fig. 4)."""
        check_int_at_least("length", length, 1)
        return cls(jax.random.normal(key, ((4 ** (length + 1) - 1) // 3, 2)))

    @property
    def length(self) -> int:
        """m, the number of plays remembered."""
        return _memento_length(self.n_observations)

    @property
    def n_states(self) -> int:
        return self.n_observations - 1

    @property
    def effective_size(self) -> int:
        return 4**self.length

    def reset_distribution(self):
        return jnp.ones(self.policy_logits.shape[:-2] + (1,), self.policy_logits.dtype)

    def tables(self):
        return _memento_tables(self.length)


@typechecked
def history_index(arms: str, rewards: str) -> int:
    """The chain state (row of a Memento's `policy_logits`) of a history, oldest play first, e.g.
    ``history_index("AABB", "++--")``: arms in ``"AB"``, rewards in ``"+-"``, 1 to m plays.

    The index does not depend on m; the empty history (a reset) is the last row, index
    `Memento.n_states`. Def. 2.6's example with its rewards shifted along with the arms: from AABB ++−−,
    playing A and receiving +1 leads to ABBA +−−+.
    """
    if len(arms) != len(rewards) or not arms:
        raise ValueError(
            f"`arms` and `rewards` must be non-empty and of the same length, got {arms!r} and {rewards!r}"
        )
    if set(arms) - set(_ARMS) or set(rewards) - set(_REWARDS):
        raise ValueError(f"`arms` must use the letters A, B and `rewards` + and -, got {arms!r}, {rewards!r}")
    code = 0
    for a, y in zip(arms, rewards, strict=True):
        code = 4 * code + 2 * _ARMS.index(a) + _REWARDS.index(y)
    return _offset(len(arms)) + code


@typechecked
def history(index: int) -> tuple[str, str]:
    """The inverse of [`history_index`][jamscope.pomdp.history_index]: ``(arms, rewards)`` of chain state
    `index` ≥ 0 of a Memento, oldest play first."""
    check_int_at_least("index", index, 0)
    ell = 1
    while _offset(ell + 1) <= index:
        ell += 1
    code = index - _offset(ell)
    digits = [(code >> (2 * (ell - 1 - k))) & 3 for k in range(ell)]
    return "".join(_ARMS[d // 2] for d in digits), "".join(_REWARDS[d % 2] for d in digits)
