"""Kernels of thesis ch. 6: closed forms, positive definiteness, spectra, blocked Gram matrices."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.spatial.distance import cdist
from sklearn.gaussian_process.kernels import RBF
from sklearn.gaussian_process.kernels import Matern as SklearnMatern
from sklearn.neighbors import NearestNeighbors

from jamscope import kernels

NUS = (0.5, 1.5, 2.5, 0.8, 3.3)  # closed forms and scipy's K_ν


def points(seed, n, dim):
    return jax.random.normal(jax.random.PRNGKey(seed), (n, dim))


def closed_form(kernel, r):
    """The profiles as written in thesis ch. 6 §3 and App. E eq. 25."""
    if isinstance(kernel, kernels.Laplace):
        return np.exp(-r / float(kernel.sigma))
    if isinstance(kernel, kernels.Gaussian):
        return np.exp(-(r**2) / (2 * float(kernel.sigma) ** 2))
    return SklearnMatern(length_scale=float(kernel.sigma), nu=kernel.nu)(
        np.zeros((1, 1)), r.reshape(-1, 1)
    ).ravel()


KERNELS = st.one_of(
    st.builds(kernels.Laplace, st.floats(0.1, 10.0)),
    st.builds(kernels.Gaussian, st.floats(0.1, 10.0)),
    st.builds(kernels.Matern, st.sampled_from(NUS), st.floats(0.1, 10.0)),
)


@settings(max_examples=12)
@given(kernel=KERNELS, seed=st.integers(0, 2**16))
def test_gram_is_the_closed_form_symmetric_and_positive_definite(kernel, seed):
    x = points(seed, 24, 3)
    k = np.asarray(kernels.gram(kernel, x, block_size=5))
    distances = cdist(np.asarray(x), np.asarray(x))
    np.testing.assert_allclose(k, closed_form(kernel, distances.ravel()).reshape(k.shape), atol=1e-12)
    np.testing.assert_array_equal(np.diag(k), 1.0)
    np.testing.assert_array_equal(k, k.T)
    assert np.linalg.eigvalsh(k).min() > -1e-10


@pytest.mark.parametrize("nu", NUS)
def test_matern_equals_scikit_learn_and_half_is_laplace(nu):
    x, y = points(0, 30, 4), points(1, 17, 4)
    reference = SklearnMatern(length_scale=1.7, nu=nu)(np.asarray(x), np.asarray(y))
    np.testing.assert_allclose(kernels.gram(kernels.Matern(nu, 1.7), x, y), reference, atol=1e-13)
    np.testing.assert_allclose(
        kernels.gram(kernels.Matern(0.5, 1.7), x, y), kernels.gram(kernels.Laplace(1.7), x, y), atol=1e-15
    )
    np.testing.assert_allclose(
        kernels.gram(kernels.Gaussian(1.7), x, y), RBF(1.7)(np.asarray(x), np.asarray(y)), atol=1e-15
    )


def test_matern_tends_to_the_gaussian():
    r = jnp.linspace(0.0, 3.0, 31)
    gap = jnp.max(jnp.abs(kernels.Matern(60.5, 1.0).profile(r) - kernels.Gaussian(1.0).profile(r)))
    assert 1e-4 < float(gap) < 5e-3


def test_block_size_does_not_change_the_gram_matrix():
    x, y = points(2, 37, 5), points(3, 11, 5)
    kernel = kernels.Laplace(2.0)
    reference = kernels.gram(kernel, x, y, block_size=1000)
    for block_size in (1, 4, 36):
        np.testing.assert_allclose(kernels.gram(kernel, x, y, block_size=block_size), reference, atol=1e-15)


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("kernel", [kernels.Laplace(0.7), kernels.Gaussian(0.7), kernels.Matern(1.5, 0.7)])
def test_spectral_density_is_the_fourier_transform(kernel, d):
    """k̂(w) = ∫ e^(−iw·x) k(‖x‖) dx: 2∫₀^∞ cos(wr) k(r) dr (d = 1), (4π/w) ∫₀^∞ r sin(wr) k(r) dr (d = 3)."""
    profile = lambda r: float(kernel.profile(jnp.asarray(r)))  # noqa: E731
    for w in (0.3, 2.0, 7.0):
        if d == 1:
            value = 2 * quad(profile, 0, np.inf, weight="cos", wvar=w)[0]
        else:
            value = 4 * math.pi / w * quad(lambda r: r * profile(r), 0, np.inf, weight="sin", wvar=w)[0]
        np.testing.assert_allclose(kernel.spectral_density(np.array(w), d), value, rtol=1e-6)


def test_decay_exponents():
    assert kernels.Laplace().decay_exponent(3) == 4
    assert kernels.Matern(2.5).decay_exponent(3) == 8
    assert kernels.Gaussian().decay_exponent(3) == math.inf
    w = np.array([1e3, 1e4])  # α is the log-slope of k̂ at large w
    for kernel, d in ((kernels.Laplace(1.0), 2), (kernels.Matern(1.5, 1.0), 1)):
        slope = -np.diff(np.log(kernel.spectral_density(w, d))) / np.diff(np.log(w))
        np.testing.assert_allclose(slope, kernel.decay_exponent(d), rtol=1e-4)


def test_kernel_named():
    assert eqx.tree_equal(kernels.kernel_named("laplace", 2.0), kernels.Laplace(2.0))
    assert eqx.tree_equal(kernels.kernel_named("matern1.5"), kernels.Matern(1.5))
    with pytest.raises(ValueError, match="unknown kernel 'cosine'"):
        kernels.kernel_named("cosine")


def test_nearest_neighbour_distances_match_scikit_learn():
    x = np.asarray(points(4, 200, 6))
    expected = NearestNeighbors(n_neighbors=2).fit(x).kneighbors(x)[0][:, 1]
    np.testing.assert_allclose(
        kernels.nearest_neighbour_distances(jnp.asarray(x), block_size=7), expected, rtol=1e-10
    )


def test_nearest_neighbour_distances_of_float32_points_are_computed_in_float64():
    """4000 points on S¹ (spacing 1.6·10⁻³): ‖x‖² + ‖y‖² − 2x·y in float32 cancels (errors up to 4 %
    before the float64 rule); the distances must be those of the float32 points."""
    angles = np.linspace(0.0, 2 * np.pi, 4000, endpoint=False) + 0.3
    x = np.stack([np.cos(angles), np.sin(angles)], 1).astype(np.float32)
    x64 = x.astype(np.float64)
    expected = NearestNeighbors(n_neighbors=2).fit(x64).kneighbors(x64)[0][:, 1]
    got = kernels.nearest_neighbour_distances(jnp.asarray(x))
    assert got.dtype == jnp.float64
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    jax.config.update("jax_enable_x64", False)  # the fixture float64_for_every_test turns it back on
    with pytest.raises(ValueError, match="nearest_neighbour_distances.*needs float64"):
        kernels.nearest_neighbour_distances(jnp.asarray(x))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="`sigma`"):
        kernels.Laplace(0.0)
    with pytest.raises(ValueError, match="`nu`"):
        kernels.Matern(-1.0)
    with pytest.raises(ValueError, match="`x` must be finite"):
        kernels.gram(kernels.Laplace(), jnp.array([[0.0, jnp.nan]]))
    with pytest.raises(ValueError, match="`x` must contain at least one"):
        kernels.gram(kernels.Laplace(), jnp.zeros((0, 2)))
    with pytest.raises(ValueError, match="same dtype"):
        kernels.gram(kernels.Laplace(), jnp.zeros((2, 2)), jnp.zeros((2, 2), jnp.float32))
    with pytest.raises(ValueError, match="at least 2 points"):
        kernels.nearest_neighbour_distances(jnp.zeros((1, 2)))
    with pytest.raises(TypeError):  # a (d,) vector instead of (n, d) points
        kernels.gram(kernels.Laplace(), jnp.zeros(3))
