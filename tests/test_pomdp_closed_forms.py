"""Closed forms and necklace combinatorics of thesis ch. 7 (jamscope/pomdp/_closed_forms.py,
jamscope/pomdp/_necklaces.py), each checked against an independent computation: brute-force
enumeration, exact (rational) stationary distributions, absorbing-chain solves, the exact optimum of
the CCP's site walk, and the reference values of the notes (docs' shared/notes/pomdp.md §2, §4)."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from jamscope.pomdp._closed_forms import (
    ccp_exit_rate,
    ccp_exit_rate_printed,
    ccp_q,
    ccp_q_general,
    end_occupation,
    escape_probability,
    hellman_cover_q,
    necklace_bound,
)
from jamscope.pomdp._necklaces import (
    gray_chain,
    gray_step,
    is_gray_chain,
    necklace_count,
    necklace_of,
    necklaces,
)

OEIS_A000031 = (2, 3, 4, 6, 8, 14, 20, 36, 60, 108, 188, 352)
# n(m) for m = 1…10: 3, 4, 5, 8, 13, 20 for m = 2…7 (notes §2.4); 33, 60, 105 found here, each equal to
# the parity bound (test_gray_chain_meets_the_parity_bound)
LONGEST = (2, 3, 4, 5, 8, 13, 20, 33, 60, 105)

mus = st.floats(0.01, 0.9)
probabilities = st.floats(0.01, 0.49)


def alpha(mu):
    return (1 - mu) / (1 + mu)


def rotations(word):
    return {tuple(word[k:] + word[:k]) for k in range(len(word))}


def brute_necklaces(m):
    return sorted({min(rotations(word)) for word in itertools.product((0, 1), repeat=m)})


def adjacent(a, b):
    """Some rotation of a and some rotation of b differ in exactly one letter (brute force)."""
    return any(
        sum(x != y for x, y in zip(u, v, strict=True)) == 1 for u in rotations(a) for v in rotations(b)
    )


def brute_longest_chain(m):
    """The length of the longest Gray chain by enumerating every simple path (small m only)."""
    nodes = brute_necklaces(m)
    edges = {a: [b for b in nodes if adjacent(a, b)] for a in nodes}
    start, end, best = nodes[0], nodes[-1], 0

    def walk(u, seen):
        nonlocal best
        if u == end:
            best = max(best, len(seen))
            return
        for v in edges[u]:
            if v not in seen:
                walk(v, seen | {v})

    walk(start, {start})
    return best


def parity_bound(m):
    """Each step flips one letter, so the weights alternate in parity along a chain."""
    odd = sum(sum(c) % 2 for c in brute_necklaces(m))
    even = len(brute_necklaces(m)) - odd
    return min(2 * even - 1, 2 * odd + 1) if m % 2 == 0 else 2 * min(even, odd)


def stationary(matrix):
    """The exact stationary law π P = π, Σ π = 1 of a row-stochastic matrix of Fractions."""
    n = len(matrix)
    rows = [[matrix[j][i] - (1 if i == j else 0) for j in range(n)] + [Fraction(0)] for i in range(n - 1)]
    rows.append([Fraction(1)] * n + [Fraction(1)])
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [x - factor * y for x, y in zip(rows[r], rows[col], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def birth_death(left, right):
    """The row-stochastic matrix of the walk with steps left[i], right[i] and stay 1 − left − right."""
    n = len(left)
    matrix = [[Fraction(0)] * n for _ in range(n)]
    for i in range(n):
        if i > 0:
            matrix[i][i - 1] = left[i]
        if i < n - 1:
            matrix[i][i + 1] = right[i]
        matrix[i][i] = 1 - (left[i] if i > 0 else 0) - (right[i] if i < n - 1 else 0)
    return matrix


# ---------------------------------------------------------------------------------------------- necklaces


def test_necklace_count_matches_enumeration_oeis_and_the_prime_formula():
    for m in range(1, 13):
        assert necklace_count(m) == len(brute_necklaces(m)) == OEIS_A000031[m - 1]
    for p in (2, 3, 5, 7, 11):
        assert necklace_count(p) == 2 + (2**p - 2) // p
    assert necklace_count(30) == 35792568  # A000031(30): the exact integer formula beyond enumeration


def test_necklaces_are_the_sorted_smallest_rotations():
    for m in range(1, 11):
        assert list(necklaces(m)) == brute_necklaces(m)
    assert necklace_of((1, 1, 0, 1)) == (0, 1, 1, 1)
    assert necklace_of([1, 0, 0]) == (0, 0, 1)


def test_gray_chains_are_valid_and_have_the_longest_lengths():
    for m, length in enumerate(LONGEST, start=1):
        chain = gray_chain(m)
        assert len(chain) == length
        assert chain[0] == (0,) * m and chain[-1] == (1,) * m
        assert len({necklace_of(c) for c in chain}) == length
        assert all(c == necklace_of(c) for c in chain)
        assert all(adjacent(a, b) for a, b in zip(chain, chain[1:], strict=False))
        assert is_gray_chain(chain)


def test_gray_chain_meets_the_parity_bound_and_brute_force():
    for m in range(1, 11):
        assert len(gray_chain(m)) == parity_bound(m)
    for m in range(1, 7):  # every simple path enumerated
        assert brute_longest_chain(m) == len(gray_chain(m))


def test_every_step_of_a_chain_changes_the_letter_count_by_one():
    for m in range(1, 11):
        weights = [sum(c) for c in gray_chain(m)]
        assert all(abs(b - a) == 1 for a, b in zip(weights, weights[1:], strict=False))


def test_prime_m_chains_visit_every_necklace():
    for p in (2, 3, 5, 7, 11, 13):
        assert len(gray_chain(p)) == necklace_count(p)


@given(m=st.integers(3, 8), data=st.data())
def test_is_gray_chain_accepts_rotations_and_rejects_broken_chains(m, data):
    chain = [list(c) for c in gray_chain(m)]
    shifts = data.draw(st.lists(st.integers(0, m - 1), min_size=len(chain), max_size=len(chain)))
    rotated = [c[k:] + c[:k] for c, k in zip(chain, shifts, strict=True)]
    assert is_gray_chain(rotated)
    i = data.draw(st.integers(1, len(chain) - 3))
    swapped = list(rotated)
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    assert not is_gray_chain(swapped)  # the weights of c_{i−1} and c_{i+1} differ by 0 or 2
    repeated = rotated[: i + 1] + [rotated[i - 1][1:] + rotated[i - 1][:1]] + rotated[i:]
    assert not is_gray_chain(repeated)  # a rotation of c_{i−1} again, every step still adjacent
    assert all(adjacent(a, b) for a, b in zip(repeated, repeated[1:], strict=False))
    assert not is_gray_chain(rotated[:-1])
    assert not is_gray_chain(rotated[1:])
    assert not is_gray_chain(rotated[::-1])


def test_is_gray_chain_rejects_malformed_input():
    with pytest.raises(ValueError, match="chain"):
        is_gray_chain([])
    with pytest.raises(ValueError, match="chain"):
        is_gray_chain([(0, 0), (0, 2), (1, 1)])
    with pytest.raises(ValueError, match="chain"):
        is_gray_chain([(0, 0), (0, 1, 1), (1, 1)])
    assert is_gray_chain([(0,), (1,)])


def test_gray_step_flips_the_oldest_letter_of_a_rotation():
    for m in range(1, 9):
        chain = gray_chain(m)
        for a, b in itertools.chain(zip(chain, chain[1:], strict=False), zip(chain[1:], chain, strict=False)):
            w, position = gray_step(a, b)
            assert position == 0 and w in rotations(a)
            assert necklace_of((1 - w[0],) + w[1:]) == b
    with pytest.raises(ValueError, match="not adjacent"):
        gray_step((0, 0, 0), (0, 1, 1))
    with pytest.raises(ValueError, match="`b`"):
        gray_step((0, 0, 0), (0, 1))


def test_necklace_sizes_are_checked():
    with pytest.raises(ValueError, match="`m`"):
        necklaces(0)
    with pytest.raises(ValueError, match="`m`"):
        gray_chain(17)
    with pytest.raises(ValueError, match="`m`"):
        necklace_count(0)


# ------------------------------------------------------------------------------------- random-walk lemmas


@given(left=st.lists(probabilities, min_size=1, max_size=6), data=st.data())
def test_lemma_4_1_matches_an_absorbing_chain_solve(left, data):
    n = len(left)
    right = data.draw(st.lists(probabilities, min_size=n, max_size=n))
    # transient sites i…j, absorbing i − 1 and j + 1: h = Q h + b, b the one-step entry into j + 1
    q = np.diag(1 - np.add(left, right)) + np.diag(right[:-1], 1) + np.diag(left[1:], -1)
    b = np.zeros(n)
    b[-1] = right[-1]
    hitting = np.linalg.solve(np.eye(n) - q, b)
    assert escape_probability(left, right) == pytest.approx(hitting[0], rel=1e-10)
    assert escape_probability(np.asarray(left), np.asarray(right)) == pytest.approx(hitting[0], rel=1e-10)


def test_lemma_4_1_special_cases():
    assert escape_probability([0.2], [0.3]) == pytest.approx(0.3 / 0.5)  # P_{i→i} = r_i/(l_i + r_i)
    assert escape_probability([0.25] * 9, [0.25] * 9) == pytest.approx(1 / 10)  # gambler's ruin
    assert escape_probability([0.0, 0.4], [0.1, 0.1]) == 1.0
    assert escape_probability([0.2] * 1000, [0.1] * 1000) == pytest.approx(1 / (2.0**1001 - 1), rel=1e-12)
    assert escape_probability([0.2] * 3000, [0.1] * 3000) == 0.0  # X = 2^3001 − 2 overflows, P underflows
    assert escape_probability([0.1] * 3000, [0.2] * 3000) == pytest.approx(0.5)


@given(left=st.lists(probabilities, min_size=0, max_size=4), data=st.data())
def test_lemma_4_2_matches_the_exact_stationary_law_as_eps_vanishes(left, data):
    n = len(left)
    right = data.draw(st.lists(probabilities, min_size=n, max_size=n))
    big_l, big_r = data.draw(st.floats(0.05, 1.0)), data.draw(st.floats(0.05, 1.0))
    eps = Fraction(1, 10**20)  # the interior holds O(ε) times ratios up to 49³
    ls = [Fraction(0)] + [Fraction(x) for x in left] + [eps * Fraction(big_l)]
    rs = [eps * Fraction(big_r)] + [Fraction(x) for x in right] + [Fraction(0)]
    law = stationary(birth_death(ls, rs))
    assert end_occupation(left, right, big_l, big_r) == pytest.approx(float(law[-1]), rel=1e-6)
    assert float(law[0] + law[-1]) == pytest.approx(1.0, rel=1e-6)


def test_lemma_4_2_special_cases():
    assert end_occupation([], [], 1.0, 2.0) == pytest.approx(2 / 3)
    assert end_occupation([0.0, 0.3], [0.2, 0.2], 1.0, 1.0) == 1.0
    assert end_occupation([0.3] * 2000, [0.1] * 2000, 1.0, 1.0) == 0.0  # 3^2000 does not overflow
    assert end_occupation([0.3] * 4, [0.1] * 4, 1.0, 3**4) == pytest.approx(0.5)


def test_lemma_inputs_are_checked():
    with pytest.raises(ValueError, match="`left`"):
        escape_probability([-0.1], [0.2])
    with pytest.raises(ValueError, match="`right`"):
        escape_probability([0.1], [0.0])
    with pytest.raises(ValueError, match="`left` and `right`"):
        escape_probability([0.1, 0.2], [0.2])
    with pytest.raises(ValueError, match="at least one site"):
        escape_probability([], [])
    with pytest.raises(ValueError, match="`right`"):
        end_occupation([0.1], [math.nan], 1.0, 1.0)
    with pytest.raises(ValueError, match="`L`"):
        end_occupation([0.1], [0.1], 0.0, 1.0)
    with pytest.raises(ValueError, match="`R`"):
        end_occupation([0.1], [0.1], 1.0, math.inf)


# --------------------------------------------------------------------------------------------- RAM: CCP


def test_ccp_reference_values():
    expected = {
        2: 0.35388,
        5: 0.14112,
        8: 0.046973,
        10: 0.021610,
        16: 1.9837e-3,
        20: 3.9900e-4,
        64: 8.549e-12,
    }
    for M, q in expected.items():
        assert ccp_q(0.1, M) == pytest.approx(q, rel=5e-4)
    assert ccp_q(0.3, 1) == pytest.approx((1 - 0.3) / 2)  # win-stay lose-shift
    assert ccp_q(0.0, 7) == hellman_cover_q(0.0, 7) == 0.5


@given(mu=mus, M=st.integers(1, 40))
def test_hellman_cover_of_2m_states_equals_the_ccp_of_m(mu, M):
    assert hellman_cover_q(mu, 2 * M) == pytest.approx(ccp_q(mu, M), rel=1e-12)
    a = alpha(mu)
    assert hellman_cover_q(mu, M) == pytest.approx(a ** (M - 1) / (a ** (M - 1) + 1), rel=1e-12)


@given(mu=mus, M=st.integers(1, 40))
def test_eq_41_reduces_to_eq_7(mu, M):
    assert ccp_q_general((1 + mu) / 2, (1 - mu) / 2, M) == pytest.approx(ccp_q(mu, M), rel=1e-12)


@given(k_b=st.floats(0.05, 0.9), gap=st.floats(0.02, 0.5), M=st.integers(1, 5))
def test_eq_41_is_the_ccp_site_walk_at_r_0(k_b, gap, M):
    """Sites MA…1A 1B…MB: A sites step toward MA w.p. k_A, B sites toward 1B w.p. 1 − k_B; the tops leave
    w.p. ε (1 − k_A) and ε (1 − k_B). q is the occupation of the B sites (exact law, ε = 10⁻²⁰)."""
    k_a = min(k_b + gap, 0.95)
    ka, kb, eps = Fraction(k_a), Fraction(k_b), Fraction(1, 10**20)
    left = [Fraction(0)] + [ka] * (M - 1) + [1 - kb] * (M - 1) + [eps * (1 - kb)]
    right = [eps * (1 - ka)] + [1 - ka] * (M - 1) + [kb] * (M - 1) + [Fraction(0)]
    law = stationary(birth_death(left, right))
    q = float(sum(law[M:]))
    assert ccp_q_general(k_a, k_b, M) == pytest.approx(q, rel=1e-6)
    interior_l = [k_a] * (M - 1) + [1 - k_b] * (M - 1)
    interior_r = [1 - k_a] * (M - 1) + [k_b] * (M - 1)
    assert ccp_q_general(k_a, k_b, M) == pytest.approx(
        end_occupation(interior_l, interior_r, 1 - k_b, 1 - k_a), rel=1e-12
    )


def coefficient_notes(mu, M):
    """ε*²/(2r) as written in the notes (§2.2), with its cancellations."""
    a = alpha(mu)
    numerator = a - a ** (3 * M - 1) + a**M * (2 * mu - 3) + a ** (2 * M) * (2 * mu + 3)
    return numerator / (a * (1 - mu**2) * (1 - a**M) * (1 - a ** (M - 1)) ** 2)


def test_ccp_exit_rate_reference_coefficients():
    r = 1e-6
    for mu, values in (
        (0.1, (1.26010, 1.09233, 1.03365, 1.01758)),
        (0.2, (31 / 24, 1.12061, 1.06135, 1.04616)),
    ):
        for M, value in zip((2, 3, 5, 8), values, strict=True):
            assert ccp_exit_rate(mu, M, r) ** 2 / (2 * r) == pytest.approx(value, rel=1e-5)
    assert ccp_exit_rate(0.2, 2, r) ** 2 / (2 * r) == pytest.approx(31 / 24, rel=1e-13)


@given(mu=st.floats(0.05, 0.9), M=st.integers(2, 30))
def test_ccp_exit_rate_is_the_notes_formula(mu, M):
    assert ccp_exit_rate(mu, M, 1e-5) ** 2 / 2e-5 == pytest.approx(coefficient_notes(mu, M), rel=1e-9)


@given(mu=st.floats(0.01, 0.9))
def test_ccp_exit_rate_tends_to_eq_23_and_the_printed_eq_6_does_not(mu):
    r = 1e-6
    eq_23 = math.sqrt(2 * r / (1 - mu**2))
    assert ccp_exit_rate(mu, 4000, r) == pytest.approx(eq_23, rel=1e-12)
    printed = ccp_exit_rate_printed(mu, 4000, r)
    assert printed == pytest.approx(math.sqrt(2 * alpha(mu) * r), rel=1e-12)
    assert printed / eq_23 == pytest.approx(1 - mu, rel=1e-12)  # √(α (1 − μ²)) = 1 − μ, not 1


def test_ccp_exit_rate_small_mu_keeps_its_digits():
    """μ → 0 with M fixed: C → [(M − 1)/M + M/(M − 1)]/2; the raw formula loses ~log10(1/μ³) digits."""
    for M in (2, 3, 10):
        limit = ((M - 1) / M + M / (M - 1)) / 2
        assert ccp_exit_rate(1e-7, M, 1e-4) ** 2 / 2e-4 == pytest.approx(limit, rel=1e-6)


def q_site_walk(eps, r, mu, M):
    """q of the CCP under H_A with reset r to 1A/1B: the 2M-site walk MA…1A 1B…MB stepping toward MA
    w.p. (1 + μ)/2 on every site, the tops leaving w.p. ε times the step (notes §2.2)."""
    n, p = 2 * M, (1 + mu) / 2
    t = np.zeros((n, n))  # column-stochastic
    for s in range(1, n - 1):
        t[s - 1, s], t[s + 1, s] = p, 1 - p
    t[1, 0], t[0, 0] = (1 - p) * eps, 1 - (1 - p) * eps
    t[n - 2, n - 1], t[n - 1, n - 1] = p * eps, 1 - p * eps
    p0 = np.zeros(n)
    p0[M - 1] = p0[M] = 0.5
    law = np.linalg.solve(np.eye(n) - (1 - r) * t, r * p0)
    return law[M:].sum()


@pytest.mark.parametrize("mu, M", [(0.1, 2), (0.1, 5), (0.2, 3)])
def test_ccp_exit_rate_is_the_exact_optimum_at_small_reset(mu, M):
    errors = []
    for r in (1e-4, 1e-6):
        guess = ccp_exit_rate(mu, M, r)
        best = minimize_scalar(
            lambda log_eps, r=r: q_site_walk(math.exp(log_eps), r, mu, M),
            bracket=(math.log(guess / 3), math.log(guess * 3)),
            tol=1e-12,
        )
        errors.append(abs(math.exp(2 * best.x) / guess**2 - 1))
        printed = ccp_exit_rate_printed(mu, M, r)
        assert abs(math.exp(2 * best.x) / printed**2 - 1) > 0.5  # eq. 6 as printed is far off
    assert errors[0] < 0.02 and errors[1] < 2e-3  # an O(√r) correction
    assert errors[1] < errors[0] / 3


def test_ccp_inputs_are_checked():
    with pytest.raises(ValueError, match="`M`"):
        ccp_exit_rate(0.1, 1, 1e-4)
    with pytest.raises(ValueError, match="`M`"):
        ccp_exit_rate_printed(0.1, 1, 1e-4)
    with pytest.raises(ValueError, match="`M`"):
        ccp_q(0.1, 0)
    with pytest.raises(ValueError, match="`mu`"):
        ccp_exit_rate(0.0, 3, 1e-4)
    with pytest.raises(ValueError, match="`mu`"):
        hellman_cover_q(1.0, 3)
    with pytest.raises(ValueError, match="`mu`"):
        ccp_q(math.nan, 3)
    with pytest.raises(ValueError, match="`reset`"):
        ccp_exit_rate(0.1, 3, 0.0)
    with pytest.raises(ValueError, match="`k_b`"):
        ccp_q_general(0.4, 0.6, 3)
    with pytest.raises(ValueError, match="`k_a`"):
        ccp_q_general(1.0, 0.6, 3)


# ------------------------------------------------------------------------------------ Memento: necklaces


def test_necklace_bound_reference_values():
    for m, q in zip(range(3, 8), (0.14112, 0.038764, 8.90e-4, 5.31e-7, 2.56e-12), strict=True):
        assert necklace_bound(0.1, m) == pytest.approx(q, rel=1e-3)
    assert necklace_bound(0.1, 3) == pytest.approx(ccp_q(0.1, 5), rel=1e-12)  # both α⁹/(1 + α⁹)


@given(mu=mus, m=st.integers(1, 10))
def test_necklace_bound_is_eq_10_with_the_longest_chain(mu, m):
    exponent = m * (len(gray_chain(m)) - 1)
    a = alpha(mu)
    assert necklace_bound(mu, m) == pytest.approx(a**exponent / (1 + a**exponent), rel=1e-10)
    assert necklace_bound(mu, m, len(gray_chain(m))) == necklace_bound(mu, m)


def test_the_exponent_is_2_to_the_m_plus_m_minus_2_for_prime_m_only():
    for p in (2, 3, 5, 7, 11, 13):
        assert p * (len(gray_chain(p)) - 1) == 2**p + p - 2
    assert [m * (len(gray_chain(m)) - 1) for m in (4, 6, 8, 9, 10)] == [16, 72, 256, 531, 1040]
    assert [2**m + m - 2 for m in (4, 6, 8, 9, 10)] == [18, 68, 262, 519, 1032]


def test_the_note_after_theorem_4_3_holds_only_in_the_exponent():
    """For prime m (n = N(m)), q* = α^E/(1 + α^E) with E = 2^m + m − 2, so q*/α^(2^m) → α^(m−2), not 1 as
    the note q* = α^(2^m) + o(α^(2^m)) says; only log q*/(2^m log α) = E/2^m + O(α^E) → 1 holds."""
    a = alpha(0.1)
    assert necklace_bound(0.1, 7) / a**128 == pytest.approx(a**5, rel=1e-9)  # ≈ 0.37 at m = 7
    ratios = []
    for p in (3, 5, 7, 11):
        exponent = 2**p + p - 2
        q = necklace_bound(0.1, p, necklace_count(p))
        assert 1 - a**exponent < q / a**exponent < 1 + 1e-12
        assert q / a ** (2**p) == pytest.approx(a ** (p - 2), rel=a**exponent)
        ratios.append(math.log(q) / (2**p * math.log(a)))
        assert abs(ratios[-1] - exponent / 2**p) <= a**exponent / (2**p * -math.log(a)) + 1e-14
    assert ratios == sorted(ratios, reverse=True) and ratios[-1] - 1 < 5e-3


def test_necklace_bound_inputs_are_checked():
    with pytest.raises(ValueError, match="`n`"):
        necklace_bound(0.1, 4, 7)  # N(4) = 6
    with pytest.raises(ValueError, match="`n`"):
        necklace_bound(0.1, 4, 1)
    with pytest.raises(ValueError, match="`n`"):
        necklace_bound(0.1, 19)  # beyond the Gray-chain search
    with pytest.raises(ValueError, match="`mu`"):
        necklace_bound(-0.1, 3)
    with pytest.raises(ValueError, match="`m`"):
        necklace_bound(0.1, 0)
