"""Teacher–student kernel regression (thesis ch. 6 §4–5): teachers, errors, Theorem 1, the lattice formula."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamscope import kernels
from jamscope import teacher_student as ts
from jamscope.regression import kernel_regression

KEY = jax.random.PRNGKey(0)


def test_hypersphere_points_have_unit_norm_and_no_preferred_direction():
    x = ts.hypersphere(KEY, 4000, 2)
    assert x.shape == (4000, 3)
    np.testing.assert_allclose(jnp.linalg.norm(x, axis=1), 1.0, atol=1e-14)
    # uniform on S²: mean 0 and second moment I/3, within 5 standard errors
    np.testing.assert_allclose(x.mean(0), 0.0, atol=5 / math.sqrt(3 * 4000))
    np.testing.assert_allclose(x.T @ x / 4000, np.eye(3) / 3, atol=5 * math.sqrt(4 / 45 / 4000))


def test_teacher_covariance_is_the_teacher_kernel():
    x = ts.hypersphere(KEY, 6, 2)
    count = 20000
    z = ts.teacher_field(jax.random.PRNGKey(1), kernels.Laplace(1.0), x, count=count)
    assert z.shape == (count, 6)
    # the sample covariance of a Gaussian has standard error √((K_ij² + K_ii K_jj)/count) ≤ √(2/count)
    covariance = z.T @ z / count
    np.testing.assert_allclose(
        covariance, kernels.gram(kernels.Laplace(1.0), x), atol=5 * math.sqrt(2 / count)
    )


def test_teacher_of_a_smooth_kernel_needs_and_gets_a_jitter():
    x = ts.hypersphere(KEY, 300, 1)  # the Gaussian Gram matrix of 300 points on a circle is singular
    z = ts.teacher_field(jax.random.PRNGKey(2), kernels.Gaussian(1.0), x)
    assert bool(jnp.all(jnp.isfinite(z)))


@settings(max_examples=8)
@given(seed=st.integers(0, 2**16), ridge=st.sampled_from([0.0, 1e-3]))
def test_expected_mse_is_the_average_over_sampled_teachers(seed, ridge):
    key_points, key_teacher = jax.random.split(jax.random.PRNGKey(seed))
    teacher, student = kernels.Matern(1.5, 1.0), kernels.Laplace(1.0)
    x = ts.hypersphere(key_points, 40, 2)
    train, test = x[:30], x[30:]
    count = 3000
    z = ts.teacher_field(key_teacher, teacher, x, count=count)
    fitted = kernel_regression(
        kernels.gram(student, train),
        z[:, :30].T,
        kernels.gram(student, test, train),
        ridge=ridge,
        solver="cholesky",
    )
    per_teacher = jnp.mean((fitted - z[:, 30:].T) ** 2, axis=0)
    exact = ts.expected_mse(teacher, student, train, test, ridge=ridge)
    assert abs(float(per_teacher.mean() - exact)) < 5 * float(per_teacher.std()) / math.sqrt(count)


def test_ridgeless_regression_interpolates_the_training_points():
    x = ts.hypersphere(KEY, 200, 3)
    k = kernels.gram(kernels.Laplace(3.0), x)
    z = ts.teacher_field(jax.random.PRNGKey(3), kernels.Laplace(3.0), x)
    assert float(ts.regression_mse(k, z, k, z)) < 1e-18
    assert float(ts.regression_mse(k, z, k, z, ridge=1e-2)) > 1e-4  # a ridge does not interpolate
    assert (
        float(ts.expected_mse(kernels.Laplace(3.0), kernels.Laplace(3.0), x, x[:20])) < 1e-8
    )  # 1 − 2 + 1 in float64


def test_predicted_beta_special_cases():
    for d in (1, 2, 5, 10):
        assert ts.predicted_beta(d + 1, d + 1, d) == pytest.approx(1 / d)  # Laplace / Laplace
        assert ts.predicted_beta(math.inf, d + 1, d) == pytest.approx(2 * (1 + 1 / d))  # Gaussian / Laplace
        assert ts.predicted_beta(d + 3, d + 3, d) == pytest.approx(3 / d)  # Bayes optimal, Matérn 3/2
    assert ts.predicted_beta(1 + 2 * 1.5, 2.0, 1) == pytest.approx(3.0)  # App. E eq. 26: min(2ν, 4)
    assert ts.predicted_beta(1 + 2 * 2.5, 2.0, 1) == pytest.approx(4.0)
    assert ts.predicted_beta(math.inf, math.inf, 3) == math.inf
    with pytest.raises(ValueError, match="`alpha_teacher` must exceed d = 2"):
        ts.predicted_beta(2.0, 3.0, 2)


def _periodic_gram(kernel, a, b, period=1.0, images=30):
    """K_per(x − y) = Σ_m k(|x − y + mL|) in d = 1."""
    difference = a[:, None] - b[None, :]
    return sum(kernel.profile(jnp.abs(difference + m * period)) for m in range(-images, images + 1))


@pytest.mark.parametrize(
    "teacher, student",
    [
        (kernels.Laplace(0.2), kernels.Laplace(0.2)),
        (kernels.Matern(1.5, 0.2), kernels.Laplace(0.2)),
        (kernels.Gaussian(0.1), kernels.Matern(2.5, 0.3)),
    ],
)
def test_lattice_formula_equals_regression_on_a_periodic_lattice(teacher, student):
    """Eq. 39 against the teacher-averaged error of regression on m lattice points of the circle [0, 1),
    averaged over 4096 test points: agreement to 2·10⁻³ relative (alias truncation, test grid)."""
    grid = (jnp.arange(4096.0) + 0.5) / 4096
    teacher_at_zero = _periodic_gram(teacher, jnp.zeros(1), jnp.zeros(1))[0, 0]
    for m in (4, 16):
        lattice = jnp.arange(float(m)) / m
        errors = ts.expected_errors(
            _periodic_gram(student, lattice, lattice),
            _periodic_gram(student, lattice, grid),
            _periodic_gram(teacher, lattice, lattice) / teacher_at_zero,
            _periodic_gram(teacher, lattice, grid) / teacher_at_zero,
            jitter=0.0,
        )
        simulated = float(errors.mean()) * float(teacher_at_zero)
        np.testing.assert_allclose(ts.lattice_mse(teacher, student, m, 1), simulated, rtol=2e-3)


def test_lattice_formula_decays_with_the_exponent_of_theorem_1():
    for d, teacher, student, beta in (
        (1, kernels.Laplace(0.2), kernels.Laplace(0.2), 1.0),
        (2, kernels.Laplace(0.2), kernels.Laplace(0.2), 0.5),
        (1, kernels.Matern(1.5, 0.2), kernels.Laplace(0.2), 3.0),
    ):
        small, large = (ts.lattice_mse(teacher, student, m, d, aliases=4 if d == 2 else 64) for m in (32, 64))
        slope = math.log(small / large) / math.log(2**d)  # n = m^d
        assert slope == pytest.approx(beta, rel=0.06), (d, slope)


def test_svm_separates_separable_data():
    x = ts.hypersphere(KEY, 300, 2)
    y = jnp.sign(x[:, 0])
    k = kernels.gram(kernels.Laplace(1.0), x)
    assert ts.svm_error(k[:200, :200], y[:200], k[200:, :200], y[200:]) < 0.05
    assert ts.svm_error(k[:2, :2], jnp.ones(2), k[200:, :2], y[200:]) == float(np.mean(y[200:] != 1))
    with pytest.raises(ValueError, match="`y_train` must hold binary labels"):
        ts.svm_error(k[:3, :3], jnp.array([0.0, 1.0, 1.0]), k[200:, :3], y[200:])
