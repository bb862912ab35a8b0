"""Networks: parametrization, initial statistics, the α-trick wrapper, ensembles, bad input."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamscope import nets


def sphere(key, n, d):
    z = jax.random.normal(key, (n, d))
    return math.sqrt(d) * z / jnp.linalg.norm(z, axis=1, keepdims=True)


def test_prefactor_matches_thesis_values():
    # thesis ch. 3 eq. (10): a ≈ 1.404 for softplus with β = 5; ReLU gives √2
    assert nets.unit_variance_prefactor("softplus", 5.0) == pytest.approx(1.404, abs=5e-4)
    assert nets.unit_variance_prefactor("relu") == pytest.approx(math.sqrt(2), rel=1e-10)
    z = jax.random.normal(jax.random.PRNGKey(0), (400_000,))
    for name in ("relu", "tanh", "softplus"):
        sigma = nets.activation_function(name, 5.0)
        assert float(jnp.mean(sigma(z) ** 2)) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus"])
def test_output_variance_is_order_one_and_width_independent(activation):
    """E f(x)² = 1 at every width in the NTK parametrization with unit-variance activations.

    Statistic: mean of f² over K = 2000 independent inits at one point x on the sphere of radius √d.
    Its standard error is ≈ √(2/K) ≈ 0.03; we allow 0.15 (5 standard errors) at widths 8, 32, 128.
    """
    x = sphere(jax.random.PRNGKey(1), 1, 6)[0]
    keys = jax.random.split(jax.random.PRNGKey(2), 2000)
    for width in (8, 32, 128):
        f = jax.vmap(lambda k, w=width: nets.FCNet(k, 6, w, 2, activation)(x))(keys)
        assert float(jnp.mean(f**2)) == pytest.approx(1.0, abs=0.15), width


def test_parameter_count_and_layout():
    d, h, depth = 7, 5, 3
    plain = nets.FCNet(jax.random.PRNGKey(0), d, h, depth)
    assert nets.n_params(plain) == d * h + (depth - 1) * h * h + h
    biased = nets.FCNet(jax.random.PRNGKey(0), d, h, depth, bias_scale=0.1)
    assert nets.n_params(biased) == d * h + (depth - 1) * h * h + h + depth * h + 1
    assert nets.flat_params(biased).shape == (nets.n_params(biased),)
    assert plain.width == h and plain.depth == depth


def test_multi_output_and_biases_change_output():
    m = nets.FCNet(jax.random.PRNGKey(0), 4, 8, 2, n_outputs=3)
    assert nets.outputs(m, jnp.ones((5, 4))).shape == (5, 3)
    a = nets.FCNet(jax.random.PRNGKey(0), 4, 8, 2, bias_scale=0.0)
    b = nets.FCNet(jax.random.PRNGKey(0), 4, 8, 2, bias_scale=1.0)
    assert not np.allclose(a(jnp.ones(4)), b(jnp.ones(4)))


def test_orthogonal_init_gives_orthogonal_square_layers():
    m = nets.FCNet(jax.random.PRNGKey(3), 12, 12, 3, init="orthogonal")
    for w in m.weights[:-1]:
        np.testing.assert_allclose(w @ w.T / w.shape[1], np.eye(12), atol=1e-12)
    # a linear orthogonal net preserves norms layer by layer
    lin = nets.FCNet(
        jax.random.PRNGKey(3), 12, 12, 2, "linear", init="orthogonal", normalize_activation=False
    )
    x = jnp.arange(12.0)
    (pre1, pre2) = lin.preactivations(x)
    assert float(jnp.linalg.norm(pre1)) == pytest.approx(float(jnp.linalg.norm(x)), rel=1e-12)
    assert float(jnp.linalg.norm(pre1)) == pytest.approx(float(jnp.linalg.norm(pre2)), rel=1e-12)


@pytest.mark.parametrize("shape", [(6, 6, 6), (4, 7, 3), (9, 5, 2)])  # (d, h, L)
def test_mlp_orthogonal_init_is_the_authors_one(shape):
    """000 §III with the authors' code: every layer orthogonal (QR with the sign correction, gain 1:
    orthonormal rows or columns, Haar distributed), zero biases, no 1/√fan-in in the forward pass."""
    d, h, depth = shape
    m = nets.MLP(jax.random.PRNGKey(5), d, h, depth, "relu", init="orthogonal")
    for w in m.weights:
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, np.eye(min(w.shape)), atol=1e-12)
    assert all(float(jnp.abs(b).max()) == 0.0 for b in m.biases)
    x = jnp.arange(1.0, d + 1.0)
    expected = x
    for w in m.weights[:-1]:
        expected = jnp.maximum(w @ expected, 0.0)
    assert float(m(x)) == pytest.approx(float((m.weights[-1] @ expected)[0]), rel=1e-12)
    # the sign correction makes the diagonal of R positive, so two keys give different matrices
    other = nets.MLP(jax.random.PRNGKey(6), d, h, depth, "relu", init="orthogonal")
    assert not np.allclose(m.weights[0], other.weights[0])


def test_orthogonal_init_is_haar_distributed():
    """E[Q_ij] = 0 and E[Q_ij²] = 1/n for a Haar orthogonal n × n matrix (a biased sign would shift the
    diagonal's mean: QR without the sign correction gives E[Q_ii] ≠ 0)."""
    keys = jax.random.split(jax.random.PRNGKey(0), 4000)
    diag = jax.vmap(lambda k: jnp.diagonal(nets.MLP(k, 4, 4, 1, init="orthogonal").weights[0]))(keys)
    assert abs(float(diag.mean())) < 4 * 0.5 / np.sqrt(diag.size)  # |mean| within 4 standard errors
    assert float((diag**2).mean()) == pytest.approx(0.25, rel=0.05)


def test_unwrap_returns_the_bare_network_and_the_product_of_the_alphas():
    fc = nets.FCNet(jax.random.PRNGKey(0), 3, 4, 2)
    assert nets.unwrap(fc) == (fc, 1.0)
    inner, factor = nets.unwrap(nets.Centered(nets.Centered(fc, 2.0), 3.0))
    assert inner is fc and float(factor) == 6.0


@given(seed=st.integers(0, 2**31 - 1), alpha=st.floats(1e-4, 1e4))
def test_centered_is_zero_at_initialisation(seed, alpha):
    key = jax.random.PRNGKey(seed)
    model = nets.FCNet(key, 5, 9, 2, "softplus")
    c = nets.Centered(model, alpha)
    x = sphere(jax.random.fold_in(key, 1), 7, 5)
    assert np.all(np.asarray(nets.outputs(c, x)) == 0.0)
    assert nets.n_params(c) == nets.n_params(model)
    assert c.output_scale == alpha


def test_centered_trains_only_w_and_scales_by_alpha():
    key = jax.random.PRNGKey(0)
    model = nets.FCNet(key, 3, 6, 2, "tanh")
    c = nets.Centered(model, 10.0)
    moved = eqx.tree_at(lambda m: m.model.weights[0], c, c.model.weights[0] + 0.01)
    x = sphere(key, 4, 3)
    expected = 10.0 * (nets.outputs(moved.model, x) - nets.outputs(model, x))
    np.testing.assert_allclose(nets.outputs(moved, x), expected, rtol=1e-12)
    params, _ = nets.partition(c)
    grads = jax.grad(lambda p: jnp.sum(nets.outputs(eqx.combine(p, nets.partition(c)[1]), x)))(params)
    assert jax.tree.leaves(grads) and all(leaf is not None for leaf in jax.tree.leaves(grads))
    assert len(jax.tree.leaves(params)) == len(jax.tree.leaves(nets.partition(model)[0]))


def test_same_key_same_bits_and_ensembles_match_members():
    keys = jax.random.split(jax.random.PRNGKey(5), 4)
    make = lambda k: nets.FCNet(k, 4, 6, 2, bias_scale=0.5)  # noqa: E731
    a, b = make(keys[0]), make(keys[0])
    assert all(np.array_equal(u, v) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))
    assert not np.array_equal(make(keys[1]).weights[0], a.weights[0])
    ens = nets.ensemble(make, keys)
    x = sphere(jax.random.PRNGKey(6), 3, 4)
    out = nets.ensemble_outputs(ens, x)
    assert out.shape == (4, 3)
    for i, k in enumerate(keys):
        np.testing.assert_allclose(out[i], nets.outputs(make(k), x), rtol=1e-12)


def test_small_cnn_shapes_and_variance():
    m = nets.SmallCNN(jax.random.PRNGKey(0), (3, 8, 8), channels=4, n_outputs=2)
    assert nets.outputs(m, jnp.ones((2, 3, 8, 8))).shape == (2, 2)
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 8, 8))
    keys = jax.random.split(jax.random.PRNGKey(2), 1000)
    f = jax.vmap(lambda k: nets.SmallCNN(k, (3, 8, 8), 8)(x))(keys)
    assert 0.3 < float(jnp.mean(f**2)) < 3.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(width=0), "width"),
        (dict(depth=0), "depth"),
        (dict(in_dim=-1), "in_dim"),
        (dict(bias_scale=-1.0), "bias_scale"),
        (dict(softplus_beta=0.0), "softplus_beta"),
    ],
)
def test_bad_sizes_fail_early_naming_the_argument(kwargs, match):
    args = dict(in_dim=3, width=4, depth=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        nets.FCNet(jax.random.PRNGKey(0), **args)


def test_bad_inputs_fail_before_xla():
    m = nets.FCNet(jax.random.PRNGKey(0), 3, 4, 2)
    with pytest.raises(ValueError, match="`x` must have per-pattern shape"):
        nets.outputs(m, jnp.ones((5, 4)))
    with pytest.raises(Exception, match="activation"):
        nets.FCNet(jax.random.PRNGKey(0), 3, 4, 2, "sigmoid")
    with pytest.raises(Exception, match="x"):
        nets.outputs(m, jnp.ones((5, 3), jnp.int32))
    with pytest.raises(ValueError, match="output_scale"):
        nets.Centered(m, 0.0)
