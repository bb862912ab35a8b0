"""Closed forms of the two-hypothesis problem at small reset r (thesis ch. 7 §3–4, App. C–D).

Arm A pays +1 with probability k_A, arm B with k_B; under H_A, k_A = (1 + μ)/2 and k_B = (1 − μ)/2
(eq. 4), and α = (1 − μ)/(1 + μ) is the likelihood ratio of one observation. q is the probability to
play the worse arm in the stationary state; every q below is its r → 0 limit.

- Random access memory: the Hellman–Cover bound [`hellman_cover_q`][jamscope.pomdp.hellman_cover_q], the
  column of confidence policy (CCP) [`ccp_q`][jamscope.pomdp.ccp_q] (eq. 7) and
  [`ccp_q_general`][jamscope.pomdp.ccp_q_general] (eq. 41), its optimal exit rate
  [`ccp_exit_rate`][jamscope.pomdp.ccp_exit_rate] (eq. 6 corrected) and eq. 6 as printed,
  [`ccp_exit_rate_printed`][jamscope.pomdp.ccp_exit_rate_printed].
- Memento memory: the necklace bound q* of Theorem 4.3, [`necklace_bound`][jamscope.pomdp.necklace_bound]
  (eq. 10), from the random-walk Lemmas 4.1 and 4.2,
  [`escape_probability`][jamscope.pomdp.escape_probability] (eq. 8) and
  [`end_occupation`][jamscope.pomdp.end_occupation] (eq. 9).
"""

import math
from collections.abc import Sequence

import numpy as np

from .._checks import check_int_at_least, check_positive
from ..typing import Array, Float, typechecked
from ._necklaces import GRAY_CHAIN_MAX_M, gray_chain, necklace_count

__all__ = [
    "hellman_cover_q",
    "ccp_q",
    "ccp_q_general",
    "ccp_exit_rate",
    "ccp_exit_rate_printed",
    "necklace_bound",
    "escape_probability",
    "end_occupation",
]

Rates = Float[np.ndarray, " n"] | Float[Array, " n"] | Sequence[float | int]
"""Step probabilities (or rates) of the sites of a chain, one per site."""


def _check_mu(mu: float | int, *, allow_zero: bool) -> None:
    ok = (0 <= mu < 1) if allow_zero else (0 < mu < 1)
    if not ok:
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(f"`mu` must lie in {interval}, got {mu!r}")


def _check_open_unit(name: str, value: float | int) -> None:
    if not 0 < value < 1:
        raise ValueError(f"`{name}` must lie in (0, 1), got {value!r}")


def _log_alpha(mu: float | int) -> float:
    """log α = log((1 − μ)/(1 + μ)), accurate for small μ."""
    return math.log1p(-mu) - math.log1p(mu)


def _q_from_log_odds(x: float) -> float:
    """q = 1/(1 + eˣ), x = log(q⁻¹ − 1), without overflow."""
    if x > 0:
        e = math.exp(-x)
        return e / (1 + e)
    return 1 / (1 + math.exp(x))


@typechecked
def hellman_cover_q(mu: float | int, M: int) -> float:
    """q_HC(M) = α^(M−1)/(α^(M−1) + 1): the best q of M memory states that see only the last reward
    (Hellman & Cover 1970; thesis ch. 7 §3). μ ∈ [0, 1), M ≥ 1; q_HC(2M) = q_CCP(M)."""
    _check_mu(mu, allow_zero=True)
    check_int_at_least("M", M, 1)
    return _q_from_log_odds(-(M - 1) * _log_alpha(mu))


@typechecked
def ccp_q(mu: float | int, M: int) -> float:
    """q_CCP(M) = α^(2M−1)/(α^(2M−1) + 1): the column of confidence policy with M memory states at
    r → 0 (thesis ch. 7 eq. 7). μ ∈ [0, 1), M ≥ 1; M = 1 is win-stay lose-shift, q = (1 − μ)/2."""
    _check_mu(mu, allow_zero=True)
    check_int_at_least("M", M, 1)
    return _q_from_log_odds(-(2 * M - 1) * _log_alpha(mu))


@typechecked
def ccp_q_general(k_a: float | int, k_b: float | int, M: int) -> float:
    """q of the CCP at r = 0 for arms of success probabilities k_A > k_B (thesis ch. 7 App. D.4, eq. 41):

    q⁻¹ − 1 = ((1 − k_B)/(1 − k_A)) · ((1/k_B − 1)/(1/k_A − 1))^(M−1);

    eq. 7 at k_A, k_B = (1 ± μ)/2. From Lemma 4.2 on the 2M sites MA…1A 1B…MB (the text of §3 points to
    App. C for it).
    """
    _check_open_unit("k_a", k_a)
    _check_open_unit("k_b", k_b)
    if not k_b < k_a:
        raise ValueError(f"`k_b` must be smaller than `k_a` (A is the better arm), got {k_b!r} ≥ {k_a!r}")
    check_int_at_least("M", M, 1)

    def log_odds(k: float | int) -> float:  # log(1/k − 1)
        return math.log1p(-k) - math.log(k)

    x = math.log1p(-k_b) - math.log1p(-k_a) + (M - 1) * (log_odds(k_b) - log_odds(k_a))
    return _q_from_log_odds(x)


def _ccp_parts(mu: float | int, M: int, reset: float | int) -> tuple[float, float, float]:
    """(α, 1 − α^(M−1), 1 − α^M) after the checks of the exit rates."""
    _check_mu(mu, allow_zero=False)
    check_int_at_least("M", M, 1)
    if M == 1:
        raise ValueError(
            "`M` must be at least 2: with one memory state the top of a column is also its bottom (the "
            "ε-exit and the arm switch coincide), and the small-r coefficient diverges as M → 1"
        )
    _check_open_unit("reset", reset)
    log_alpha = _log_alpha(mu)
    return math.exp(log_alpha), -math.expm1((M - 1) * log_alpha), -math.expm1(M * log_alpha)


@typechecked
def ccp_exit_rate(mu: float | int, M: int, reset: float | int) -> float:
    """The exit rate ε* that minimises q of the CCP, at leading order in small r (thesis ch. 7 eq. 6,
    corrected: the coefficient below is the exact chain's optimum; the printed one has the same
    numerator and a wrong denominator): ε* = √(2 r C(M, μ)) with

    C = [α − α^(3M−1) + α^M (2μ − 3) + α^(2M) (2μ + 3)] / [α (1 − μ²) (1 − α^M) (1 − α^(M−1))²]
      = [α (1 − α^(M−1))/(1 − α^M) + (1 − α^M)/(1 − α^(M−1))] / (2 (1 − μ)),

    the second form free of cancellations (the numerator factorises). C → 1/(1 − μ²) as M → ∞, which is
    eq. 23, ε* = √(2r/(1 − μ²)); C = 31/24 at μ = 0.2, M = 2. The correction is O(√r) relative
    (≈ 1 % at r = 10⁻⁴). μ ∈ (0, 1), M ≥ 2, r ∈ (0, 1); the printed eq. 6 is
    [`ccp_exit_rate_printed`][jamscope.pomdp.ccp_exit_rate_printed].
    """
    alpha, u_below, u_top = _ccp_parts(mu, M, reset)
    coefficient = (alpha * u_below / u_top + u_top / u_below) / (2 * (1 - mu))
    return math.sqrt(2 * reset * coefficient)


@typechecked
def ccp_exit_rate_printed(mu: float | int, M: int, reset: float | int) -> float:
    """Eq. 6 of thesis ch. 7 as printed, which is wrong; use [`ccp_exit_rate`][jamscope.pomdp.ccp_exit_rate].

    ε = √2 √(α − α^(3M−1) + α^M (2μ − 3) + α^(2M) (2μ + 3)) / √(1 − α^M (1 − α^M − μ − α^M μ)) · √r.

    The numerator is right, the denominator is not: it should be α (1 − μ²) (1 − α^M) (1 − α^(M−1))².
    As printed, ε → √(2αr) as M → ∞ instead of eq. 23's √(2r/(1 − μ²)), and at μ = 0.1, M = 2 it is
    ≈ 10× below the exact optimum. The numerator is evaluated as (1 − α^(M−1)) [α² (1 − α^(M−1))² +
    α (1 − α^M)²]/(1 + α), the same polynomial without cancellations. μ ∈ (0, 1), M ≥ 2, r ∈ (0, 1).
    """
    alpha, u_below, u_top = _ccp_parts(mu, M, reset)
    numerator = u_below * (alpha**2 * u_below**2 + alpha * u_top**2) / (1 + alpha)
    power = 1 - u_top  # α^M
    denominator = 1 - power * (1 - power - mu - power * mu)
    return math.sqrt(2 * numerator / denominator * reset)


@typechecked
def necklace_bound(mu: float | int, m: int, n: int | None = None) -> float:
    """q* = (1 + α^(m(1 − n(m))))⁻¹, the r → 0 limit of the necklace policy with memory m (thesis ch. 7
    Theorem 4.3, eq. 10).

    n(m) is the length of the longest Gray chain of necklaces, by default that of
    [`gray_chain`][jamscope.pomdp.gray_chain] (m ≤ 16); pass `n` (2 ≤ n ≤ N(m)) for a larger m or
    another chain. μ = 0.1, m = 3…7: 0.14112, 0.038764, 8.90e-4, 5.31e-7, 2.56e-12. For prime m,
    n(m) = N(m) gives m(n − 1) = 2^m + m − 2, so q* ≃ α^(2^m + m − 2): the note after Theorem 4.3,
    q* = α^(2^m) + o(α^(2^m)), holds only for the exponent (log q* / log α^(2^m) → 1).
    """
    _check_mu(mu, allow_zero=True)
    check_int_at_least("m", m, 1)
    if n is None:
        if m > GRAY_CHAIN_MAX_M:
            raise ValueError(
                f"`n` is needed for m > {GRAY_CHAIN_MAX_M} (beyond the Gray-chain search); for prime m, "
                "Degni & Drisko's conjecture gives n = N(m) = necklace_count(m)"
            )
        n = len(gray_chain(m))
    if not 2 <= n <= necklace_count(m):
        raise ValueError(f"`n` must lie in [2, N(m) = {necklace_count(m)}] for m = {m}, got {n}")
    return _q_from_log_odds(-m * (n - 1) * _log_alpha(mu))


def _rates(name: str, values: Rates, *, allow_zero: bool) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {a.shape}")
    ok = np.isfinite(a) & ((a >= 0) if allow_zero else (a > 0))
    if not np.all(ok):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must hold finite numbers {bound}, got {a[~ok][:5]}")
    return a


def _log_ratios(left: Rates, right: Rates) -> np.ndarray:
    """log(l_i/r_i) (−inf where l_i = 0), after the checks of the lemmas."""
    ls = _rates("left", left, allow_zero=True)
    rs = _rates("right", right, allow_zero=False)
    if ls.shape != rs.shape:
        raise ValueError(f"`left` and `right` must have the same length, got {ls.size} and {rs.size}")
    with np.errstate(divide="ignore"):
        return np.log(ls) - np.log(rs)


@typechecked
def escape_probability(left: Rates, right: Rates) -> float:
    """$P_{i→j}$: starting at site i, the probability to reach j + 1 before i − 1 (thesis ch. 7 Lemma 4.1,
    eq. 8), from the left and right step probabilities l_k, r_k of the sites k = i…j:

    $P_{i→j} = (1 + l_i/r_i + l_i l_{i+1}/(r_i r_{i+1}) + … + l_i⋯l_j/(r_i⋯r_j))^{-1}$.

    Only the ratios matter (the stay probabilities 1 − l_k − r_k drop out); l_k ≥ 0, r_k > 0, at least
    one site. Summed as $X_k = (l_k/r_k)(1 + X_{k+1})$ (eq. 27) in logarithms, so long chains neither
    overflow nor underflow.
    """
    log_x = _log_ratios(left, right)
    if log_x.size == 0:
        raise ValueError("`left` and `right` must describe at least one site")
    log_total = -np.inf  # log X_{j+1} = log 0
    for value in log_x[::-1]:
        log_total = value + np.logaddexp(0.0, log_total)
    return _q_from_log_odds(float(log_total))


@typechecked
def end_occupation(left: Rates, right: Rates, L: float | int, R: float | int) -> float:
    """p(n + 1): the stationary probability of the right end of the chain 0, 1, …, n + 1 whose ends leave
    with r₀ = εR and $l_{n+1} = εL$, as ε → 0 (thesis ch. 7 Lemma 4.2, eq. 9):

    $p(n + 1) = (1 + (L/R) \\prod_{i=1}^{n} l_i/r_i)^{-1}$,

    with `left`, `right` the step probabilities l_i, r_i of the n interior sites (n = 0 allowed;
    l_i ≥ 0, r_i > 0) and L, R > 0. p(0) = 1 − p(n + 1): the interior holds O(ε).
    """
    log_x = _log_ratios(left, right)
    check_positive("L", L)
    check_positive("R", R)
    return _q_from_log_odds(math.log(L) - math.log(R) + float(np.sum(log_x)))
