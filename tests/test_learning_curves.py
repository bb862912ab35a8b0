"""Learning curves, decay fits, the kernel-PCA tail and the effective dimension (thesis ch. 6)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from jamscope import data, kernels
from jamscope import learning_curves as lc
from jamscope.teacher_student import hypersphere

KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize("d", [1, 2])
def test_laplace_teacher_student_exponent_is_one_over_d(d):
    """Theorem 1: β = 1/d for a Laplace teacher and student (σ = d, thesis ch. 6 §4). Tolerance 0.12/d
    (three repeats, n ≤ 1024, fitted from n = 128; measured 0.97 and 0.49)."""
    ns = (32, 64, 128, 256, 512, 1024)
    laplace = kernels.Laplace(d)
    curve = lc.teacher_student_curve(KEY, laplace, laplace, d, ns, n_test=300, repeats=3)
    assert curve.dims == ("repeat", "n") and curve.shape == (3, 6)
    fit = lc.fit_decay(curve, low=128)
    assert fit.exponent == pytest.approx(1 / d, abs=0.12 / d)
    assert fit.ci_low <= fit.exponent <= fit.ci_high


def test_sampled_teachers_agree_with_the_teacher_average():
    ns = (64, 256)
    teacher, student = kernels.Matern(1.5, 2.0), kernels.Laplace(2.0)
    average = lc.teacher_student_curve(KEY, teacher, student, 2, ns, n_test=200, repeats=6)
    sampled = lc.teacher_student_curve(
        KEY, teacher, student, 2, ns, n_test=200, repeats=6, sample_teacher=True
    )
    ratio = sampled.mean("repeat") / average.mean("repeat")  # same points, so only the teacher differs
    assert np.all((0.6 < ratio) & (ratio < 1.6)), ratio.values


def test_digit_parity_curves_decrease_for_regression_and_svm():
    digits = data.digits(KEY)
    x, y = digits.x, digits.y
    ns = (32, 128, 512)
    for task in lc.TASKS:
        curve = lc.data_curve(KEY, kernels.Laplace(8.0), x, y, ns, n_test=300, repeats=2, task=task)
        mean = curve.mean("repeat").values
        assert np.all(np.diff(mean) < 0), (task, mean)
        assert mean[-1] < (0.5 if task == "regression" else 0.1)
    with pytest.raises(ValueError, match="exceeds the 1797 points"):
        lc.data_curve(KEY, kernels.Laplace(), x, y, (1600,), n_test=300)
    with pytest.raises(ValueError, match="`task` must be one of"):
        lc.data_curve(KEY, kernels.Laplace(), x, y, ns, task="ranking")


@settings(max_examples=10)
@given(beta=st.floats(0.05, 3.0), noise=st.floats(0.0, 0.1), seed=st.integers(0, 2**16))
def test_fit_decay_recovers_a_planted_power_law(beta, noise, seed):
    ns = np.array([10, 20, 50, 100, 200, 500, 1000])
    rng = np.random.default_rng(seed)
    values = 3.0 * ns ** (-beta) * np.exp(noise * rng.standard_normal((8, ns.size)))
    fit = lc.fit_decay(xr.DataArray(values, dims=("repeat", "n"), coords={"n": ns}), n_boot=200)
    slope, _ = np.polyfit(np.log(ns), np.log(values.mean(0)), 1)  # the estimator, by numpy
    assert fit.exponent == pytest.approx(-slope, abs=1e-9)
    # log ⟨y⟩ scatters by ≈ noise/√repeats per n, so the slope by that over √Σ(log n − mean)²; 5σ
    spread = np.sqrt(np.sum((np.log(ns) - np.log(ns).mean()) ** 2))
    assert fit.exponent == pytest.approx(beta, abs=5 * noise / np.sqrt(len(values)) / spread + 1e-9)
    assert fit.ci_low - 1e-9 <= fit.exponent <= fit.ci_high + 1e-9
    single = lc.fit_decay(xr.DataArray(values[0], dims=("n",), coords={"n": ns}))
    assert math.isnan(single.ci_low) and single.n_used == ns.size


def test_kernel_pca_tail_of_a_planted_spectrum():
    x = hypersphere(KEY, 300, 2)
    k = kernels.gram(kernels.Laplace(1.0), x)
    _, vectors = jnp.linalg.eigh(k)
    rho = jnp.arange(1.0, 301.0)
    coefficients = rho**-1.5  # (Z·φ_ρ)² = ρ^(−3)
    z = vectors[:, ::-1] @ coefficients  # φ_1 has the largest eigenvalue
    tail = lc.kernel_pca_tail(k, z)
    expected = jnp.cumsum((coefficients**2)[::-1])[::-1]
    np.testing.assert_allclose(tail, expected, rtol=1e-8, atol=1e-14)
    assert float(tail[0]) == pytest.approx(float(z @ z))


@pytest.mark.parametrize("d", [2, 3])
def test_effective_dimension_of_a_sphere_is_its_dimension(d):
    """⟨δ_min⟩ ∼ n^(−1/d) on S^d (thesis ch. 6 Fig. 4): d_eff within 15 % at n = 256 … 4096, 3 repeats."""
    x = hypersphere(KEY, 4096, d)
    curve = lc.nearest_neighbour_curve(jax.random.PRNGKey(1), x, (256, 512, 1024, 2048, 4096), repeats=3)
    estimate = lc.effective_dimension(curve, n_boot=200)
    assert estimate.d_eff == pytest.approx(d, rel=0.15)
    assert estimate.ci_low <= estimate.d_eff <= estimate.ci_high


def test_bad_sizes_name_the_argument():
    x = hypersphere(KEY, 50, 2)
    with pytest.raises(ValueError, match="`ns` must be strictly increasing"):
        lc.nearest_neighbour_curve(KEY, x, (20, 10))
    with pytest.raises(ValueError, match="`ns` must lie in"):
        lc.nearest_neighbour_curve(KEY, x, (10, 100))
    with pytest.raises(ValueError, match="`repeats`"):
        lc.teacher_student_curve(KEY, kernels.Laplace(), kernels.Laplace(), 2, (10,), repeats=0)
