"""Log-binned densities: normalization, bin placement, and a known power law recovered."""

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from jamscope.fits import log_binned_density, offset_fit, power_law_fit, scaling_fit


@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(2, 300),
    n_bins=st.integers(1, 30),
    negative_share=st.floats(0.0, 0.9),
)
def test_density_integrates_to_the_share_of_positive_values(seed, n, n_bins, negative_share):
    rng = np.random.default_rng(seed)
    values = rng.lognormal(0.0, 2.0, n) * np.where(rng.random(n) < negative_share, -1.0, 1.0)
    values[:2] = np.abs(values[:2]) + [1e-3, 2.0]  # at least two distinct positive values
    centres, rho = log_binned_density(values, n_bins=n_bins)
    low, high = values[values > 0].min(), values.max()
    edges = np.logspace(np.log10(low), np.log10(high), n_bins + 1)
    edges[0], edges[-1] = low, high
    np.testing.assert_allclose(centres, np.sqrt(edges[:-1] * edges[1:]), rtol=1e-12)
    assert np.sum(rho * np.diff(edges)) == pytest.approx(np.mean(values > 0), rel=1e-12)
    assert np.all(np.diff(centres) > 0) and np.all(rho >= 0)


def test_power_law_density_has_the_right_slope():
    """Samples with density ∝ λ^(−1/2) on [1e-4, 1] (λ = u², u uniform): slope −1/2 on log bins."""
    u = np.random.default_rng(0).uniform(1e-2, 1.0, 200_000)
    centres, rho = log_binned_density(u**2, n_bins=12, low=1e-4, high=1.0)
    slope = np.polyfit(np.log(centres), np.log(rho), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.02)


def test_total_and_bad_arguments():
    _, rho = log_binned_density(np.array([1.0, 10.0]), n_bins=1, total=4)
    assert rho[0] * 9.0 == pytest.approx(0.5)
    centres, rho = log_binned_density(np.array([-1.0, 2.0]), n_bins=1)  # one positive value
    assert centres[0] == pytest.approx(2.0)
    assert rho[0] * 2.0 * (np.sqrt(10) - 1 / np.sqrt(10)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no positive entry"):
        log_binned_density(np.array([-1.0, 0.0]))
    with pytest.raises(ValueError, match="n_bins"):
        log_binned_density(np.array([1.0, 2.0]), n_bins=0)
    with pytest.raises(ValueError, match="low"):
        log_binned_density(np.array([1.0, 2.0]), low=3.0, high=2.0)


@given(exponent=st.floats(-0.9, 1.5), seed=st.integers(0, 2**31 - 1))
def test_power_law_fit_recovers_a_known_exponent(exponent, seed):
    """Inverse-CDF samples of ρ ∝ x^a on [1e-3, 1]; 4000 samples give a to about ±0.03 (1σ)."""
    rng = np.random.default_rng(seed)
    b, low, high = exponent + 1.0, 1e-3, 1.0
    u = rng.random(4000)
    x = (low**b + u * (high**b - low**b)) ** (1.0 / b)
    fit = power_law_fit(x, window=(low, high), n_bootstrap=50, seed=seed)
    assert fit.n_used == fit.n_total == 4000
    assert 0.005 < fit.stderr < 0.1
    assert abs(fit.exponent - exponent) < 5 * fit.stderr


def test_power_law_fit_window_and_errors():
    rng = np.random.default_rng(1)
    x = rng.random(5000) ** 2  # ρ ∝ x^(−1/2) on [0, 1]
    fit = power_law_fit(x, n_bootstrap=20)
    assert fit.low == pytest.approx(np.quantile(x, 0.01)) and fit.high == pytest.approx(np.median(x))
    assert fit.n_used == pytest.approx(0.49 * 5000, abs=2)
    assert fit.exponent == pytest.approx(-0.5, abs=0.1)
    with pytest.raises(ValueError, match="window"):
        power_law_fit(x, window=(0.5, 0.1))
    with pytest.raises(ValueError, match="only 0 values"):
        power_law_fit(x, window=(2.0, 3.0))


@given(exponent=st.floats(-2.0, 2.0), prefactor=st.floats(0.01, 100.0), seed=st.integers(0, 2**31 - 1))
def test_scaling_fit_recovers_a_planted_power_law(exponent, prefactor, seed):
    """Log-normal noise of known σ = 0.01: the slope's error has the exact standard deviation
    σ / √Σ(u − ū)² (u = log x), so the bound does not lean on the fit's own (noisy) `stderr`, which
    is checked against scipy's least squares instead."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(1.0, 1e4, 12)
    noise = np.exp(0.01 * rng.normal(size=x.size))
    y = prefactor * x**exponent * noise
    fit = scaling_fit(x, y, low=10.0)
    used = x >= 10.0
    assert fit.n_used == int(np.sum(used)) and fit.low == 10.0
    u = np.log(x[used])
    assert abs(fit.exponent - exponent) < 6 * 0.01 / np.sqrt(np.sum((u - u.mean()) ** 2))
    reference = scipy.stats.linregress(u, np.log(y[used]))
    assert fit.exponent == pytest.approx(reference.slope, rel=1e-9, abs=1e-12)
    assert fit.stderr == pytest.approx(reference.stderr, rel=1e-9)
    exact = scaling_fit(x, prefactor * x**exponent)
    assert exact.exponent == pytest.approx(exponent, abs=1e-10)
    assert exact.prefactor == pytest.approx(prefactor, rel=1e-9)


def test_offset_fit_recovers_eps_infinity_and_b():
    """004 eq. 13: ε(N) = ε∞ + B N^(−1/2), exact data."""
    n = np.geomspace(100, 1e6, 9)
    fit = offset_fit(n, 0.054 + 6.4 * n**-0.5)
    assert fit.offset == pytest.approx(0.054, abs=1e-12) and fit.prefactor == pytest.approx(6.4, rel=1e-10)
    assert fit.exponent == -0.5 and fit.stderr < 1e-8
    with pytest.raises(ValueError, match="at least two"):
        offset_fit(n, n, low=1e7)
    with pytest.raises(ValueError, match="at least two"):
        scaling_fit(np.array([1.0, 1.0]), np.array([2.0, 3.0]))
