"""Stability measures D_f, G_f, R_f (thesis ch. 4 eqs. 4–6), layer-wise and for the stripe model."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamscope import data, diffeo, nets, stability

KEY = jax.random.PRNGKey(0)


@pytest.fixture(scope="module")
def digit_images():
    return data.digit_images(KEY, n_train=100, n_test=300).x_test


def diffeo_at_delta_one(n, cutoff=3):
    return diffeo.MaxEntDiffeo(diffeo.temperature_for(1.0, cutoff, n), cutoff)


@settings(max_examples=15)
@given(p=st.sampled_from([1, 5]), shape=st.sampled_from([(3,), (2, 7)]), seed=st.integers(0, 2**16))
def test_matched_noise_has_the_norm_of_the_deformation(p, shape, seed):
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
    x = jax.random.normal(k1, (p,) + shape)
    scale = jax.random.uniform(k3, (p,) + (1,) * len(shape), minval=0.1, maxval=3)
    deformed = x + jax.random.normal(k2, x.shape) * scale
    eta = stability.matched_noise(k3, x, deformed)
    norms = lambda a: np.linalg.norm(np.asarray(a).reshape(p, -1), axis=1)  # noqa: E731
    np.testing.assert_allclose(norms(eta), norms(deformed - x), rtol=1e-12)


@pytest.mark.parametrize("interpolation", ["bilinear", "gaussian", "nearest"])
@pytest.mark.parametrize("average", ["median", "mean"])
def test_identity_map_has_r_f_one_and_d_f_the_ratio_of_input_distances(digit_images, interpolation, average):
    x = digit_images[:60]
    d = diffeo_at_delta_one(8)
    result = stability.stability(lambda v: v, x, KEY, d, interpolation=interpolation, average=average)
    assert float(result.r_f) == pytest.approx(1.0, rel=1e-10)
    probes = stability.perturb(KEY, x, d, interpolation)
    agg = np.median if average == "median" else np.mean
    flat = lambda a: np.asarray(a).reshape(a.shape[0], -1)  # noqa: E731
    moved = agg(np.sum((flat(probes.deformed) - flat(probes.reference)) ** 2, axis=1))
    ref = flat(probes.reference)
    pairs = [np.sum((ref[i] - ref[j]) ** 2) for i in range(len(ref)) for j in range(i + 1, len(ref))]
    assert float(result.d_f) == pytest.approx(moved / agg(pairs), rel=1e-9)
    assert float(result.g_f) == pytest.approx(float(result.d_f), rel=1e-9)
    assert 0.3 < float(result.delta) < 1.5


def test_zero_temperature_gives_zero_d_f():
    x = data.digit_images(KEY, n_train=10, n_test=20).x_test
    result = stability.stability(lambda v: v**2, x, KEY, diffeo.MaxEntDiffeo(0.0, 3))
    assert float(result.d_f) == 0.0 and float(result.g_f) == 0.0


def test_random_fc_net_at_initialization_has_r_f_near_one(digit_images):
    """thesis ch. 4 Fig. 3–4: R_f0 ≈ 1 at initialization. Measured at δ = 1, c = 3 on 8×8 digits for 4
    random FC nets (width 128, 3 hidden layers, 10 outputs): geometric mean 0.9–1.1; tolerance
    [0.75, 1.33] for the mean and [0.6, 1.6] per net."""
    d = diffeo_at_delta_one(8)
    values = []
    for seed in range(4):
        net = nets.FCNet(jax.random.PRNGKey(seed), 64, 128, 3, n_outputs=10)
        result = stability.stability(nets.layer_maps(net)[-1], digit_images, jax.random.PRNGKey(10 + seed), d)
        values.append(float(result.r_f))
    assert all(0.6 < v < 1.6 for v in values), values
    assert 0.75 < math.exp(np.mean(np.log(values))) < 1.33, values


def test_layerwise_stability_shares_the_probes_and_ends_with_the_output(digit_images):
    net = nets.SmallCNN(KEY, (1, 8, 8), channels=4, n_outputs=10)
    maps = nets.layer_maps(net)
    assert len(maps) == 3
    d = diffeo_at_delta_one(8)
    depth, layers = stability.layerwise_stability(maps, digit_images[:50], KEY, d)
    np.testing.assert_allclose(depth, [0.0, 0.5, 1.0])
    assert layers.r_f.shape == (3,)
    last = stability.stability(maps[-1], digit_images[:50], KEY, d)
    assert float(layers.r_f[-1]) == pytest.approx(float(last.r_f), rel=1e-12)
    fc = nets.FCNet(KEY, 64, 16, 2)
    fc_maps = nets.layer_maps(fc)
    assert [m(digit_images[:5]).shape for m in fc_maps] == [(5, 16), (5, 16), (5, 1)]
    flat = nets.outputs(fc, digit_images[:5].reshape(5, 64))[:, None]
    np.testing.assert_allclose(nets.flat_outputs(fc, digit_images[:5]), flat, rtol=1e-12)


def test_invariant_perturbations_probe_only_the_orthogonal_directions():
    x = jax.random.normal(KEY, (200, 5))
    probes = stability.invariant_perturbations(KEY, x, 0.5)
    np.testing.assert_array_equal(probes.deformed[:, 0], x[:, 0])
    np.testing.assert_allclose(jnp.linalg.norm(probes.deformed - x, axis=1), 0.5, rtol=1e-12)
    np.testing.assert_allclose(jnp.linalg.norm(probes.noisy - x, axis=1), 0.5, rtol=1e-12)
    parallel_only = stability.stability_of(lambda v: jnp.tanh(3 * v[:, 0]), probes)
    assert float(parallel_only.r_f) == 0.0 and float(parallel_only.g_f) > 0
    isotropic = stability.stability_of(lambda v: v, probes)
    assert float(isotropic.r_f) == pytest.approx(1.0)


def test_bad_inputs_are_named():
    x = jnp.zeros((4, 1, 8, 8))
    d = diffeo.MaxEntDiffeo(1e-3, 3)
    with pytest.raises(ValueError, match="square"):
        stability.stability(lambda v: v, jnp.zeros((4, 1, 8, 9)), KEY, d)
    with pytest.raises(ValueError, match="at least 2"):
        stability.stability(lambda v: v, x[:1], KEY, d)
    with pytest.raises(ValueError, match="`x` must be finite"):
        stability.stability(lambda v: v, x.at[0, 0, 0, 0].set(jnp.inf), KEY, d)
    with pytest.raises(Exception, match="deformed"):
        stability.matched_noise(KEY, x, x[:2])
    with pytest.raises(ValueError, match="`noise_norm`"):
        stability.invariant_perturbations(KEY, jnp.zeros((3, 4)), -1.0)
    with pytest.raises(ValueError, match="`n_informative`"):
        stability.invariant_perturbations(KEY, jnp.zeros((3, 4)), 1.0, n_informative=4)
