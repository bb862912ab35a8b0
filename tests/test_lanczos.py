"""Matrix-free spectra (curvature._lanczos): Lanczos extreme eigenvalues, Hutchinson trace, SLQ densities.

Oracles are dense float64 symmetric matrices A = Q diag(λ) Qᵀ with a Haar-random orthogonal Q and a
chosen spectrum λ, so every estimate is compared with the known eigenvalues.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from jamscope.curvature._lanczos import (
    LogSpectralDensity,
    SpectralDensity,
    log_spectral_density,
    peak_memory_estimate_bytes,
    spectral_density,
    top_eigenvalues,
    trace_estimate,
)

seeds = st.integers(0, 2**31 - 1)


def _operator(rng: np.random.Generator, eigenvalues: np.ndarray):
    """Dense A = Q diag(λ) Qᵀ (Q Haar-orthogonal) and its matvec."""
    n = eigenvalues.shape[0]
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    a = jnp.asarray((q * eigenvalues) @ q.T)
    return a, lambda v: a @ v


def _separated_spectrum(rng, n, k, which):
    """A bulk in [−1, 1] and k outliers spaced by ≥ 0.5 at the requested end(s)."""
    outliers = 2.0 + np.cumsum(rng.uniform(0.5, 1.5, k))
    if which == "largest":
        out = outliers
    elif which == "smallest":
        out = -outliers
    else:
        out = np.concatenate([outliers[: (k + 1) // 2], -outliers[: k // 2]])
    return np.concatenate([rng.uniform(-1.0, 1.0, n - k), out])


# ----------------------------------------------------------------------------------------------
# Lanczos extreme eigenvalues


@settings(max_examples=5)
@given(seed=seeds, k=st.integers(1, 6), n=st.sampled_from([50, 150, 400]))
@pytest.mark.parametrize("which", ["largest", "smallest", "both_ends"])
def test_top_eigenvalues_match_dense(which, seed, k, n):
    """Well-separated ends: the default depth gives the dense eigvalsh values to 1e-8 relative."""
    rng = np.random.default_rng(seed)
    lams = _separated_spectrum(rng, n, k, which)
    a, mv = _operator(rng, lams)
    got = np.asarray(top_eigenvalues(mv, n, k, jax.random.key(seed % 1000), which=which))
    dense = np.linalg.eigvalsh(np.asarray(a))[::-1]
    top = (k + 1) // 2
    expected = {
        "largest": dense[:k],
        "smallest": dense[n - k :],
        "both_ends": np.concatenate([dense[:top], dense[n - (k - top) :]]),
    }[which]
    assert got.shape == (k,) and got.dtype == np.float64
    assert np.all(np.diff(got) <= 0), "Ritz values must be sorted in descending order"
    np.testing.assert_allclose(got, expected, rtol=1e-8)


def test_top_eigenvalues_full_depth_is_exact():
    """With m = N the Krylov space is everything: all N Ritz values are the eigenvalues."""
    rng = np.random.default_rng(0)
    m = rng.standard_normal((40, 40))
    a = jnp.asarray(m + m.T)
    got = top_eigenvalues(lambda v: a @ v, 40, 40, jax.random.key(1), krylov_depth=40)
    np.testing.assert_allclose(got, np.linalg.eigvalsh(np.asarray(a))[::-1], rtol=1e-9, atol=1e-9)


def test_low_rank_operator_breakdown():
    """Rank 6 PSD operator, N = 100, m = 40: the Krylov space is invariant after 7 steps.

    Without cutting at the breakdown matfree's noise vectors lose orthogonality and produce
    spurious Ritz values; with it the 6 nonzero eigenvalues are exact, and the SLQ weight of the null
    space is exactly ‖P₀v‖² / N for each probe v.
    """
    rng = np.random.default_rng(2)
    lams = np.concatenate([np.zeros(94), [1.0, 2.0, 3.0, 5.0, 8.0, 13.0]])
    a, mv = _operator(rng, lams)
    top = top_eigenvalues(mv, 100, 6, jax.random.key(0), krylov_depth=40)
    np.testing.assert_allclose(top, [13.0, 8.0, 5.0, 3.0, 2.0, 1.0], rtol=1e-10)
    sd = spectral_density(mv, 100, jax.random.key(1), num_probes=4, krylov_depth=40)
    assert sd.nodes.min() > -1e-8 and sd.nodes.max() < 13.0 + 1e-8
    log = log_spectral_density(mv, 100, jax.random.key(1), num_probes=4, krylov_depth=40)
    _, q = np.linalg.eigh(np.asarray(a))
    null = q[:, :94]
    probes = np.asarray(
        jax.vmap(lambda k: jax.random.rademacher(k, (100,), dtype=jnp.float64))(
            jax.random.split(jax.random.key(1), 4)
        )
    )
    expected = np.mean(np.sum((probes @ null) ** 2, axis=1) / 100)
    assert float(log.zero_mass) == pytest.approx(expected, abs=1e-8)


def test_top_eigenvalues_float32_and_legacy_key():
    rng = np.random.default_rng(1)
    lams = _separated_spectrum(rng, 80, 3, "largest")
    a, _ = _operator(rng, lams)
    a32 = a.astype(jnp.float32)
    got = top_eigenvalues(lambda v: a32 @ v, 80, 3, jax.random.PRNGKey(0), dtype=jnp.float32)
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(got, np.sort(lams)[::-1][:3], rtol=1e-4)


@pytest.mark.parametrize("c", [0.0, 2.5])
def test_exact_breakdown_is_handled(c):
    """A = cI: the Krylov space is invariant after one step (matfree's next vector is 0/0 or noise).

    Lanczos knows one eigenvalue, c, exactly; the others of a top-3 request are NaN. SLQ is exact.
    """
    n = 30

    def mv(v):
        return c * v

    top = np.asarray(top_eigenvalues(mv, n, 3, jax.random.key(0), krylov_depth=10))
    assert top[0] == pytest.approx(c, abs=1e-12) and np.all(np.isnan(top[1:]))
    low = np.asarray(top_eigenvalues(mv, n, 2, jax.random.key(0), krylov_depth=10, which="smallest"))
    assert np.isnan(low[0]) and low[1] == pytest.approx(c, abs=1e-12)
    sd = spectral_density(mv, n, jax.random.key(1), num_probes=3, krylov_depth=10)
    assert np.all(np.isfinite(sd.density)) and np.all(np.isfinite(sd.nodes))
    np.testing.assert_allclose(sd.nodes, c, atol=1e-12)
    np.testing.assert_allclose(sd.weights.sum(axis=1), 1.0, atol=1e-12)
    assert abs(np.trapezoid(sd.density, sd.grid) - 1.0) < 1e-6
    if c == 0.0:
        log = log_spectral_density(mv, n, jax.random.key(2), num_probes=3, krylov_depth=10)
        assert float(log.zero_mass) == pytest.approx(1.0) and np.all(log.density == 0.0)


# ----------------------------------------------------------------------------------------------
# Hutchinson trace


@settings(max_examples=6)
@given(seed=seeds)
def test_trace_within_four_standard_errors(seed):
    rng = np.random.default_rng(seed)
    lams = rng.normal(0.5, 1.0, 120)
    _, mv = _operator(rng, lams)
    est, se = trace_estimate(mv, 120, jax.random.key(seed % 1000), num_samples=200)
    assert se > 0
    assert abs(float(est) - lams.sum()) < 4 * float(se)


def test_trace_standard_error_shrinks_like_inverse_sqrt():
    """16× more samples: the standard error drops by √16 = 4 (±25 %, the noise of the SD estimate)."""
    rng = np.random.default_rng(3)
    lams = rng.normal(0.0, 1.0, 200)
    _, mv = _operator(rng, lams)
    _, se_small = trace_estimate(mv, 200, jax.random.key(0), num_samples=64)
    _, se_large = trace_estimate(mv, 200, jax.random.key(1), num_samples=1024, probe_batch=100)
    assert 3.0 < float(se_small / se_large) < 5.3


def test_trace_of_diagonal_is_exact():
    """Rademacher probes: vᵀDv = Σ D_ii v_i² = tr D for every probe, so the standard error is 0."""
    d = jnp.linspace(-1.0, 3.0, 64)
    est, se = trace_estimate(lambda v: d * v, 64, jax.random.key(0), num_samples=5)
    assert float(est) == pytest.approx(float(d.sum()), rel=1e-12)
    assert float(se) < 1e-12


# ----------------------------------------------------------------------------------------------
# Stochastic Lanczos quadrature


def _bulk_spectrum(rng, n, kind):
    if kind == 0:
        return rng.standard_normal(n)
    if kind == 1:
        return rng.uniform(-1.0, 3.0, n)
    x = rng.standard_normal((2 * n, n))
    return np.linalg.eigvalsh(x.T @ x / (2 * n))  # Marchenko–Pastur, ratio 1/2


@settings(max_examples=4)
@given(seed=seeds, kind=st.integers(0, 2))
def test_slq_matches_dense_histogram(seed, kind):
    """N = 500, 8 probes, m = 60: W1(SLQ measure, eigenvalue histogram) < 0.025 · spectral range.

    Measured over 40 seeds (Gaussian, uniform and Marchenko–Pastur spectra): mean 0.0067 · range,
    standard deviation 0.0025, largest 0.0165; the error is the probe noise ~1/√(probes · N).
    """
    n = 500
    rng = np.random.default_rng(seed)
    lams = _bulk_spectrum(rng, n, kind)
    _, mv = _operator(rng, lams)
    sd = spectral_density(mv, n, jax.random.key(seed % 1000), num_probes=8, krylov_depth=60)
    assert isinstance(sd, SpectralDensity)
    assert sd.nodes.shape == (8, 60) and sd.weights.shape == (8, 60)
    np.testing.assert_allclose(sd.weights.sum(axis=1), 1.0, atol=1e-12)
    assert abs(np.trapezoid(sd.density, sd.grid) - 1.0) < 1e-6
    spread = lams.max() - lams.min()
    assert float(sd.broadening) == pytest.approx(0.01 * (sd.nodes.max() - sd.nodes.min()))
    assert (
        sd.grid[0] < sd.nodes.min() - 5 * sd.broadening and sd.grid[-1] > sd.nodes.max() + 5 * sd.broadening
    )
    w1 = wasserstein_distance(np.ravel(sd.nodes), lams, u_weights=np.ravel(sd.weights))
    assert w1 < 0.025 * spread


def test_slq_probe_batches_agree_and_user_grid():
    """Chunking (one by one; chunks of 3 and a left-over probe; all at once) changes nothing."""
    rng = np.random.default_rng(5)
    lams = rng.uniform(0.0, 2.0, 120)
    _, mv = _operator(rng, lams)
    key = jax.random.key(7)
    ref = spectral_density(mv, 120, key, num_probes=7, krylov_depth=30, probe_batch=7)
    for batch in (1, 3):
        sd = spectral_density(mv, 120, key, num_probes=7, krylov_depth=30, probe_batch=batch)
        np.testing.assert_allclose(sd.nodes, ref.nodes, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sd.weights, ref.weights, rtol=1e-8, atol=1e-12)
    grid = jnp.linspace(-1.0, 3.0, 801)
    sd = spectral_density(mv, 120, key, num_probes=7, krylov_depth=30, grid=grid, broadening=0.05)
    assert sd.grid.shape == (801,) and float(sd.broadening) == 0.05
    assert abs(np.trapezoid(sd.density, sd.grid) - 1.0) < 1e-6
    # The density is the broadened quadrature measure: check one point by hand.
    x = 1.0
    g = np.exp(-0.5 * ((x - np.asarray(sd.nodes)) / 0.05) ** 2) / (0.05 * math.sqrt(2 * math.pi))
    assert float(sd.density[400]) == pytest.approx(float(np.sum(sd.weights * g) / 7), rel=1e-10)


def test_slq_inside_jit():
    rng = np.random.default_rng(6)
    _, mv = _operator(rng, rng.uniform(0.0, 1.0, 60))
    f = jax.jit(lambda key: spectral_density(mv, 60, key, num_probes=2, krylov_depth=20).density)
    eager = spectral_density(mv, 60, jax.random.key(3), num_probes=2, krylov_depth=20).density
    np.testing.assert_allclose(f(jax.random.key(3)), eager, rtol=1e-10, atol=1e-12)


@settings(max_examples=4)
@given(seed=seeds)
def test_log_density_counts_the_null_space(seed):
    """PSD, N = 300, 40 % zero modes, positive part log-uniform on [0.1, 10] (a gap of 1 % of λ_max):
    |zero_mass − 0.4| < 0.06.

    The probe noise of the null-space weight is √(2 f (1 − f) / N / probes) ≈ 0.014 (f = 0.4, 8
    probes); measured over 10 seeds the largest error was 0.032. m = 60 resolves the gap, so the
    null-space node lies at ~1e-11, far below the default floor √ε · λ_max ≈ 1.5e-7.
    """
    n, zeros = 300, 120
    rng = np.random.default_rng(seed)
    lams = np.concatenate([np.zeros(zeros), 10.0 ** rng.uniform(-1.0, 1.0, n - zeros)])
    _, mv = _operator(rng, lams)
    log = log_spectral_density(mv, n, jax.random.key(seed % 1000), num_probes=8, krylov_depth=60)
    assert isinstance(log, LogSpectralDensity)
    assert abs(float(log.zero_mass) - zeros / n) < 0.06
    assert float(log.negative_mass) == 0.0
    integral = np.trapezoid(log.density, log.grid)
    assert abs(integral - (1.0 - float(log.zero_mass) - float(log.negative_mass))) < 1e-6
    # The broadened positive part sits on the decades [−1, 1] of the positive eigenvalues.
    peak = float(log.grid[np.argmax(log.density)])
    assert -1.3 < peak < 1.3


def test_log_density_explicit_floor():
    """A floor above the smallest positive eigenvalues moves their weight into zero_mass."""
    n = 200
    rng = np.random.default_rng(8)
    lams = np.concatenate([np.zeros(50), np.full(50, 1e-3), rng.uniform(1.0, 2.0, 100)])
    _, mv = _operator(rng, lams)
    key = jax.random.key(0)
    low = log_spectral_density(mv, n, key, num_probes=8, krylov_depth=60)
    high = log_spectral_density(mv, n, key, num_probes=8, krylov_depth=60, floor=1e-2)
    assert float(high.floor) == 1e-2
    assert abs(float(low.zero_mass) - 0.25) < 0.08
    assert abs(float(high.zero_mass) - 0.5) < 0.08


# ----------------------------------------------------------------------------------------------
# Arguments and memory


def _identity(v):
    return v


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda key: top_eigenvalues(_identity, 10, 0, key), "`k`"),
        (lambda key: top_eigenvalues(_identity, 10, 11, key), "`k`"),
        (lambda key: top_eigenvalues(_identity, 10, 3, key, krylov_depth=2), "`krylov_depth`"),
        (lambda key: top_eigenvalues(_identity, 10, 3, key, krylov_depth=11), "`krylov_depth`"),
        (lambda key: top_eigenvalues(_identity, 10, 3, key, which="middle"), "`which`"),
        (lambda key: top_eigenvalues(_identity, 0, 1, key), "`n`"),
        (lambda key: top_eigenvalues(lambda v: v[:5], 10, 1, key), "`matvec`"),
        (lambda key: top_eigenvalues(_identity, 10, 1, key, dtype=jnp.int32), "`dtype`"),
        (lambda key: trace_estimate(_identity, 10, key, num_samples=1), "`num_samples`"),
        (lambda key: trace_estimate(_identity, 10, key, probe_batch=0), "`probe_batch`"),
        (lambda key: spectral_density(_identity, 10, key, num_probes=0), "`num_probes`"),
        (lambda key: spectral_density(_identity, 10, key, krylov_depth=0), "`krylov_depth`"),
        (lambda key: spectral_density(_identity, 10, key, krylov_depth=11), "`krylov_depth`"),
        (lambda key: spectral_density(_identity, 10, key, broadening=0.0), "`broadening`"),
        (lambda key: spectral_density(_identity, 10, key, broadening=-1.0), "`broadening`"),
        (lambda key: spectral_density(_identity, 10, key, n_grid=1), "`n_grid`"),
        (lambda key: spectral_density(_identity, 10, key, grid=jnp.array([1.0, 0.0])), "`grid`"),
        (lambda key: spectral_density(_identity, 10, key, grid=jnp.array([0.0, jnp.nan])), "`grid`"),
        (lambda key: spectral_density(_identity, 10, key, probe_batch=0), "`probe_batch`"),
        (lambda key: log_spectral_density(_identity, 10, key, floor=0.0), "`floor`"),
        (lambda key: peak_memory_estimate_bytes(10, 0, 1), "`krylov_depth`"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call(jax.random.key(0))


def test_peak_memory_estimate_formula():
    """bytes = itemsize · (m + 4) · N · (max(b, 2) + r) + O(b m²): N = 10⁶, m = 80, 4 probes."""
    n, m = 10**6, 80
    one = peak_memory_estimate_bytes(n, m, 1, jnp.float64)
    two = peak_memory_estimate_bytes(n, m, 2, jnp.float64, num_probes=4)
    four = peak_memory_estimate_bytes(n, m, 4, jnp.float64)
    assert one == 8 * (84 * n * 2 + 4 * m * m)
    assert two == 8 * (84 * n * 2 + 2 * 4 * m * m)
    assert two < 2 * 10**9 < four
    assert peak_memory_estimate_bytes(n, m, 2, jnp.float64, num_probes=5) > two  # a lone left-over probe
    assert peak_memory_estimate_bytes(n, m, 2, jnp.float32) * 2 == pytest.approx(two, rel=1e-6)
