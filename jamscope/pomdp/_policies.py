"""Hand-built policies of thesis ch. 7: the column of confidence (Def. 3.1), the necklace policy (Def. 4.1),
and the initialisations of Fig. 4.

A policy is returned as a memory ([`RAM`][jamscope.pomdp.RAM] or [`Memento`][jamscope.pomdp.Memento]) whose
logits are log(π + `offset`): `offset` = 10⁻⁴ is the "π_CCP + 10⁻⁴" start of Figs. 2 and 4 (the softmax then
gives (π + offset)/(1 + |A| offset)); with `offset` = 0 a zero probability becomes the logit −10⁴, whose
softmax weight e^(−10⁴) is exactly 0 in float64 (any logit below ≈ −745 would do), so the memory carries
the policy exactly and stays finite for autodiff.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from .._checks import check_in_range, check_int_at_least, check_positive
from ..typing import Array, Float, PRNGKeyArray, typechecked
from ._chain import worst_arm_probability
from ._memories import RAM, Memento, _memento_lengths_codes
from ._necklaces import gray_chain, necklaces
from ._problem import TwoHypothesis

__all__ = [
    "FORBIDDEN_LOGIT",
    "column_of_confidence",
    "ccp_exit_rate_profile",
    "optimal_ccp_exit_rate",
    "ccp_ram",
    "linear_ram",
    "columns_ram",
    "cycles_memento",
    "necklace_policy",
]

FORBIDDEN_LOGIT = -1e4
"""The logit of a probability 0 when `offset` = 0: softmax weight e^(−10⁴) = 0 exactly in float64."""


def _log(pi, offset: float):
    if offset > 0:
        return jnp.log(pi + offset)
    positive = pi > 0
    return jnp.where(positive, jnp.log(jnp.where(positive, pi, 1.0)), FORBIDDEN_LOGIT)


def _check_offset(offset: float) -> None:
    check_positive("offset", offset, allow_zero=True)


# ----------------------------------------------------------------------------------------------
# Column of confidence (Def. 3.1, Fig. 1C)


def _ccp_parts(size: int) -> tuple[np.ndarray, np.ndarray]:
    """π_CCP(ε) = base + ε · slope, (5M, 2M) in the RAM layout."""
    base = np.zeros((5 * size, 2 * size))
    slope = np.zeros_like(base)
    action = lambda level, arm: 2 * level + arm  # noqa: E731
    top = size - 1
    for i in range(size):
        for a in range(2):
            down = action(i - 1, a) if i > 0 else action(0, 1 - a)  # level 1: a − switches column
            base[4 * i + 2 * a + 1, action(min(i + 1, top), a)] = 1.0  # +: up (stay at the top)
            if i < top:
                base[4 * i + 2 * a, down] = 1.0  # −: down
            else:  # −, top: down with probability ε
                base[4 * i + 2 * a, action(top, a)] += 1.0
                slope[4 * i + 2 * a, action(top, a)] -= 1.0
                slope[4 * i + 2 * a, down] += 1.0
    base[4 * size :, action(0, 0)] = 0.5  # after a reset: level 1, arm A or B with equal chance
    base[4 * size :, action(0, 1)] = 0.5
    return base, slope


def _ccp_memory(size: int, epsilon, offset: float) -> RAM:
    base, slope = _ccp_parts(size)
    pi = jnp.asarray(base) + epsilon * jnp.asarray(slope)
    return RAM(_log(pi, offset), _log(jnp.asarray(np.eye(size)[0]), offset))


@typechecked
def column_of_confidence(size: int, epsilon: float, *, offset: float = 0.0) -> RAM:
    """The column of confidence policy (Def. 3.1, Fig. 1C) as a RAM of `size` M memory states.

    The RAM memory stores the level i = 1..M of the column, the last arm (part of the observation) says
    which column, A or B: 2M sites from M memory states (hence M_eff = 4M and q_CCP(M) =
    α^(2M−1)/(α^(2M−1) + 1) as r → 0, eq. 7). Keep the arm; after +1 move up (stay at the top M),
    after −1 move down, except at level 1, where −1 switches to level 1 of the other arm, and at the top,
    where −1 steps down with probability `epsilon` ε (otherwise stays). A reset puts the memory at level
    1 (memory state 0), which plays A or B with probability ½ each.
    """
    check_int_at_least("size", size, 1)
    check_in_range("epsilon", epsilon, 0.0, 1.0)
    _check_offset(offset)
    return _ccp_memory(size, float(epsilon), float(offset))


@functools.partial(jax.jit, static_argnums=(1,))
def _ccp_q(problem, size, log_eps):
    return jax.vmap(lambda le: worst_arm_probability(problem, _ccp_memory(size, jnp.exp(le), 0.0)))(log_eps)


@typechecked
def ccp_exit_rate_profile(
    problem: TwoHypothesis, size: int, epsilon: Float[Array, " n"]
) -> Float[Array, " n"]:
    """The exact q of the column of confidence policy of `size` M at each exit rate ε of `epsilon` (the
    q(ε) of App. C, from the 4M-state chain, vectorised over ε)."""
    check_int_at_least("size", size, 1)
    eps = np.asarray(epsilon, dtype=np.float64)
    if eps.size and not (np.all(eps > 0) and np.all(eps <= 1)):
        raise ValueError("`epsilon` must hold exit rates in (0, 1]")
    return _ccp_q(problem, size, jnp.log(jnp.asarray(eps)))


@typechecked
def optimal_ccp_exit_rate(problem: TwoHypothesis, size: int, *, xatol: float = 1e-10) -> float:
    """ε*, the exit rate minimising the exact q of the column of confidence policy of `size` M at the
    problem's μ and r (App. C; minimised numerically: a grid of log ε, then bounded Brent on log ε to
    `xatol`).

    As r → 0, ε*²/(2r) tends to [α − α^(3M−1) + α^M(2μ − 3) + α^(2M)(2μ + 3)] /
    [α(1 − μ²)(1 − α^M)(1 − α^(M−1))²], not to the printed eq. 6 (whose numerator it shares); both tend
    to eq. 23, ε ≈ √(2r/(1 − μ²)), only the former for every M (jamscope's check of App. C).
    """
    check_int_at_least("size", size, 1)
    check_positive("xatol", xatol)
    grid = np.linspace(math.log(1e-9), 0.0, 91)
    q = np.asarray(_ccp_q(problem, size, jnp.asarray(grid)))
    k = int(np.argmin(q))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    if lo == hi:
        return float(math.exp(lo))
    result = scipy.optimize.minimize_scalar(
        lambda le: float(_ccp_q(problem, size, jnp.asarray([le]))[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": xatol},
    )
    return float(math.exp(result.x))


@typechecked
def ccp_ram(problem: TwoHypothesis, size: int, *, offset: float = 1e-4) -> RAM:
    """The *CCP* initialisation of Figs. 2 and 4: the column of confidence policy at the exact optimal ε
    for the problem's μ and r ([`optimal_ccp_exit_rate`][jamscope.pomdp.optimal_ccp_exit_rate]), logits
    log(π_CCP + `offset`)."""
    _check_offset(offset)
    return column_of_confidence(size, optimal_ccp_exit_rate(problem, size), offset=offset)


# ----------------------------------------------------------------------------------------------
# Fig. 4 initialisations of a RAM


def _ram_masked(key, size: int, mask: np.ndarray, offset: float) -> RAM:
    k1, k2 = jax.random.split(key)
    pi = jax.nn.softmax(jax.random.normal(k1, (5 * size, 2 * size)), axis=-1)
    pi = jnp.where(jnp.asarray(mask), pi, 0.0)
    pi = pi / jnp.sum(pi, axis=-1, keepdims=True)
    return RAM(_log(pi, offset), jax.random.normal(k2, (size,)))


def _ram_memories(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Memory state of every observation (row) and written by every action (column)."""
    rows = np.concatenate([np.arange(4 * size) // 4, np.arange(size)])
    return rows, np.arange(2 * size) // 2


def _linear_mask(size: int) -> np.ndarray:
    rows, cols = _ram_memories(size)
    return np.abs(cols[None, :] - rows[:, None]) <= 1


@typechecked
def linear_ram(key: PRNGKeyArray, size: int, *, offset: float = 1e-4) -> RAM:
    """The *linear* initialisation of Fig. 4: a random policy (softmax of N(0, 1) logits) restricted to
    contiguous memory jumps |i′ − i| ≤ 1 and renormalised, logits log(π + `offset`); the reset logits
    are N(0, 1)."""
    check_int_at_least("size", size, 1)
    _check_offset(offset)
    return _ram_masked(key, size, _linear_mask(size), float(offset))


@typechecked
def columns_ram(key: PRNGKeyArray, size: int, *, offset: float = 1e-4) -> RAM:
    """The *columns* initialisation of Fig. 4: [`linear_ram`][jamscope.pomdp.linear_ram] where, in
    addition, the last arm is repeated unless the memory state is the first one (index 0); after a reset
    (no last arm) both arms stay allowed."""
    check_int_at_least("size", size, 1)
    _check_offset(offset)
    rows, _ = _ram_memories(size)
    last_arm = np.concatenate([(np.arange(4 * size) // 2) % 2, np.full(size, -1)])
    arm = np.arange(2 * size) % 2
    keep_arm = (last_arm[:, None] == arm[None, :]) | (last_arm[:, None] < 0) | (rows[:, None] == 0)
    return _ram_masked(key, size, _linear_mask(size) & keep_arm, float(offset))


# ----------------------------------------------------------------------------------------------
# Memento: cycles (Fig. 4) and the necklace policy (Def. 4.1)


def _full_histories(length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the full histories and their arms, rewards (0: −1, 1: +1), (4^m, m) each, oldest first."""
    ell, code = _memento_lengths_codes(length)
    rows = np.flatnonzero(ell == length)
    shifts = 2 * np.arange(length - 1, -1, -1)
    plays = (code[rows][:, None] >> shifts[None, :]) & 3
    return rows, plays // 2, plays % 2


def _informative(arms: np.ndarray, rewards: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximally informative for H_A (every A won, every B lost) and for H_B (the opposite), per row."""
    toward_a = np.all(rewards == (arms == 0), axis=-1)
    toward_b = np.all(rewards == (arms == 1), axis=-1)
    return toward_a, toward_b


@typechecked
def cycles_memento(key: PRNGKeyArray, length: int, *, offset: float = 1e-4) -> Memento:
    """The *cycles* initialisation of Fig. 4: on a full history, play the oldest remembered arm (the
    actions cycle inside a necklace), except on the maximally informative histories (every A won and
    every B lost, or the opposite), which keep a random policy (softmax of N(0, 1) logits), as do the
    partial histories and the empty one; logits log(π + `offset`)."""
    check_int_at_least("length", length, 1)
    _check_offset(offset)
    n_obs = (4 ** (length + 1) - 1) // 3
    pi = np.array(jax.nn.softmax(jax.random.normal(key, (n_obs, 2)), axis=-1), dtype=np.float64)
    rows, arms, rewards = _full_histories(length)
    toward_a, toward_b = _informative(arms, rewards)
    cycle = ~(toward_a | toward_b)
    pi[rows[cycle]] = np.eye(2)[arms[cycle, 0]]
    return Memento(_log(jnp.asarray(pi), float(offset)))


def _canonical(word: tuple[int, ...]) -> tuple[int, ...]:
    return min(word[k:] + word[:k] for k in range(len(word)))


def _flip_oldest(word: tuple[int, ...]) -> tuple[int, ...]:
    """The word after playing the opposite of the oldest letter: w₂ … w_m (1 − w₁)."""
    return word[1:] + (1 - word[0],)


def _necklace_exits(length: int) -> dict[tuple[int, ...], tuple[str, str]]:
    """{word: (direction, rate)}: the exit states of the necklace policy, direction "A" (toward the all-A
    end: needs every A won and every B lost) or "B"; rate "eps0" or "eps1"."""
    chain = [_canonical(tuple(int(c) for c in n)) for n in gray_chain(length)]
    position = {n: i for i, n in enumerate(chain)}
    everything = {_canonical(tuple(int(c) for c in n)) for n in necklaces(length)}
    # distance of every necklace to the chain in the one-letter graph (off-chain necklaces escape down it)
    distance = {n: 0 for n in chain}
    frontier = list(chain)
    while frontier:
        nxt = []
        for n in frontier:
            for k in range(length):
                m = _canonical(n[:k] + (1 - n[k],) + n[k + 1 :])
                if m in everything and m not in distance:
                    distance[m] = distance[n] + 1
                    nxt.append(m)
        frontier = nxt
    exits = {}
    last = len(chain) - 1
    for n in everything:
        rotations = sorted({n[k:] + n[:k] for k in range(length)})
        for direction in "AB":
            if n in position:
                i = position[n]
                if (i == 0 and direction == "A") or (i == last and direction == "B"):
                    continue
                target = chain[i - 1] if direction == "A" else chain[i + 1]
                ok = [w for w in rotations if _canonical(_flip_oldest(w)) == target]
                rate = "eps0" if i in (0, last) else "eps1"
            else:
                new_letter = 0 if direction == "A" else 1
                ok = [
                    w
                    for w in rotations
                    if w[0] != new_letter and distance.get(_canonical(_flip_oldest(w)), -1) == distance[n] - 1
                ]
                rate = "eps1"
            if ok:  # one output per direction: toward B the largest rotation (A < B), toward A the smallest
                exits[max(ok) if direction == "B" else min(ok)] = (direction, rate)
    return exits


@typechecked
def necklace_policy(length: int, epsilon0: float, epsilon1: float, *, offset: float = 0.0) -> Memento:
    """The necklace policy of Def. 4.1 as a Memento of `length` m.

    On a full history, play the oldest remembered arm, so that the words of arms cycle inside a binary
    necklace (i), except at the exit states, which play the other arm with a small probability (iii)–(iv):

    - the necklaces of the Gray chain ``gray_chain(m)`` are numbered from all-A (i = 1) to all-B
      (i = n(m)) (ii); from necklace i toward i ∓ 1 one exit state each: the rotation w whose new
      word w₂ … w_m (1 − w₁) lies in necklace i ∓ 1, the largest such rotation (in the order A < B) toward
      i − 1 and the smallest toward i + 1 (the choice commutes with A ↔ B); it exits with probability
      `epsilon1` ε₁ when its rewards are maximally informative for the direction: every A won and every
      B lost toward i − 1 (confidence in H_A), the opposite toward i + 1;
    - the two ends (all-A, all-B) exit with probability `epsilon0` ε₀ when all their rewards are −1 (iv);
    - necklaces off the chain (e.g. ABAB at m = 4) are not in Def. 4.1 and would trap the agent; here they
      escape with probability ε₁ toward the chain (to a necklace one letter closer to it, one exit state
      per direction, the same rule for the rewards: a letter A played needs every A won and every B lost);
    - partial histories (after a reset) and the empty history play A and B with probability ½.

    Thm. 4.3: $q → q^* = (1 + α^{m(1 − n(m))})^{-1}$ for r ≪ ε₀ ≪ ε₁ ≪ 1. Logits log(π + `offset`).
    """
    check_int_at_least("length", length, 1)
    check_in_range("epsilon0", epsilon0, 0.0, 1.0)
    check_in_range("epsilon1", epsilon1, 0.0, 1.0)
    _check_offset(offset)
    rates = {"eps0": float(epsilon0), "eps1": float(epsilon1)}
    n_obs = (4 ** (length + 1) - 1) // 3
    pi = np.full((n_obs, 2), 0.5)
    rows, arms, rewards = _full_histories(length)
    toward = dict(zip("AB", _informative(arms, rewards), strict=True))
    exits = _necklace_exits(length)
    for k, row in enumerate(rows):
        word = tuple(int(a) for a in arms[k])
        oldest = word[0]
        exit_rate = 0.0
        if word in exits:
            direction, rate = exits[word]
            if toward[direction][k]:
                exit_rate = rates[rate]
        pi[row, oldest] = 1.0 - exit_rate
        pi[row, 1 - oldest] = exit_rate
    return Memento(_log(jnp.asarray(pi), float(offset)))
