"""The two-hypothesis testing problem (thesis ch. 7 §2.3, eq. 4) and its reset r = 1 − γ (Lemma 2.1)."""

import math
from typing import final

import equinox as eqx
import jax.numpy as jnp

from ..typing import Array, Float, typechecked

__all__ = ["TwoHypothesis"]


def _check_open_unit(name: str, value: float | int, what: str, *, allow_zero: bool = False) -> float:
    low_ok = value >= 0 if allow_zero else value > 0
    if isinstance(value, bool) or not (math.isfinite(value) and low_ok and value < 1):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"`{name}` ({what}) must lie in {interval}, got {value!r}")
    return float(value)


@final
class TwoHypothesis(eqx.Module):
    """Two arms A (index 0) and B (index 1) paying ±1; with probability ½ each the world is (eq. 4)

        H_A: k_A = (1 + μ)/2, k_B = (1 − μ)/2        H_B: k_A = (1 − μ)/2, k_B = (1 + μ)/2

    with k the probability of the reward +1. The discount γ is traded for a reset probability
    r = 1 − γ per step (Lemma 2.1): G_π = E_p[R]/r with p the steady state with resets.

    - `mu`: the gap μ ∈ [0, 1) (μ = 0, no information, is allowed as a limit);
    - `reset`: r ∈ (0, 1).

    Both are stored as 0-d arrays (one compiled program serves every μ and r).
    """

    mu: Float[Array, ""]
    reset: Float[Array, ""]

    @typechecked
    def __init__(self, mu: float | int, reset: float | int):
        dtype = jnp.zeros(()).dtype
        self.mu = jnp.asarray(_check_open_unit("mu", mu, "the arm gap", allow_zero=True), dtype=dtype)
        self.reset = jnp.asarray(_check_open_unit("reset", reset, "the reset probability r = 1 − γ"), dtype)

    @property
    def gamma(self) -> Float[Array, ""]:
        """The discount γ = 1 − r."""
        return 1.0 - self.reset

    @property
    def alpha(self) -> Float[Array, ""]:
        """α = (1 − μ)/(1 + μ), the likelihood ratio carried by one reward (thesis ch. 7 §3)."""
        return (1.0 - self.mu) / (1.0 + self.mu)

    def success_probabilities(self) -> Float[Array, "2 2"]:
        """k[h, a]: the probability of the reward +1 for arm a (0 = A, 1 = B) under hypothesis h
        (0 = H_A, 1 = H_B), eq. 4."""
        good, bad = 0.5 * (1.0 + self.mu), 0.5 * (1.0 - self.mu)
        return jnp.stack([jnp.stack([good, bad]), jnp.stack([bad, good])])
