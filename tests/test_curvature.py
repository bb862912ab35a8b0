"""Curvature: H = H0 + Hp against dense float64 oracles, matrix-free products, spectra, N_eff.

Three kinds of test: dense oracles (``jax.hessian`` of the objective, ``jax.jacrev``),
closed-form cases (diagonal spectra, dead and linear networks, the ReLU scaling symmetry of N_eff)
and a statistical one (the symmetric spectrum of Hp for ReLU on random data, 000 App. B).
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.flatten_util import ravel_pytree

from jamscope import data, losses, nets
from jamscope.curvature._fc_hessian import supports as fc_supports
from jamscope.curvature._hessian import (
    HessianParts,
    decompose,
    h0vp,
    hessian,
    hessian_summaries,
    hpvp,
    hvp,
    jacobian,
    operators,
    spectrum,
    summarize,
)
from jamscope.curvature._neff import n_eff, tangent_matrix

BINARY_LOSSES = {
    "quadratic_hinge": losses.QuadraticHinge(margin=0.5),
    "soft_hinge": losses.SoftHinge(sharpness=20.0, margin=1.0),
    "cross_entropy": losses.CrossEntropy(),
    "mse": losses.MSE(),
}


@eqx.filter_jit
def dense_hessian(loss, model, x, y):
    """The oracle: jax.hessian of losses.objective w.r.t. the flat trainable parameters."""
    params, static = nets.partition(model)
    theta, unravel = ravel_pytree(params)
    return jax.hessian(lambda t: losses.objective(loss, eqx.combine(unravel(t), static), x, y))(theta)


def assert_close(actual, expected, rtol=1e-10):
    """|actual − expected| ≤ rtol · max|expected| entrywise (relative to the matrix scale)."""
    scale = float(jnp.max(jnp.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * max(scale, 1e-300))


def random_net(seed, d, width, depth, activation, bias_scale):
    """An FCNet with standard-normal weights drawn by numpy: the structure comes from
    ``eqx.filter_eval_shape`` (no compilation of the random initialiser for every new shape)."""
    shapes = eqx.filter_eval_shape(
        nets.FCNet, jax.random.PRNGKey(0), d, width, depth, activation, bias_scale=bias_scale
    )
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: jnp.asarray(rng.standard_normal(s.shape)), shapes)


def random_data(seed, p, d):
    """Random data of 000 §III in numpy: x uniform on the sphere of radius √d, y = ±1."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((p, d))
    x = np.sqrt(d) * z / np.linalg.norm(z, axis=1, keepdims=True)
    return jnp.asarray(x), jnp.asarray(rng.choice([-1.0, 1.0], size=p))


@st.composite
def problems(draw):
    """A small random FCNet, random sphere data and a binary loss."""
    seed = draw(st.integers(0, 2**31 - 1))
    d, p = draw(st.integers(2, 4)), draw(st.integers(3, 8))
    activation = draw(st.sampled_from(["relu", "tanh", "softplus"]))
    width, depth = draw(st.integers(2, 6)), draw(st.integers(1, 3))
    bias_scale = draw(st.sampled_from([0.0, 0.5]))
    loss = BINARY_LOSSES[draw(st.sampled_from(sorted(BINARY_LOSSES)))]
    ds = data.Dataset(*random_data(seed, p, d))
    model = random_net(seed + 1, d, width, depth, activation, bias_scale)
    chunk_size = draw(st.sampled_from([2, 3, 256]))
    block_size = draw(st.sampled_from([1, 5, 64]))
    return loss, model, ds, chunk_size, block_size


@eqx.filter_jit
def reference(loss, model, x, y):
    """Dense oracle H, and ℓ′, ℓ″, N_Δ at the outputs, in one compiled call."""
    f = jax.vmap(model)(x)
    n_delta = jnp.sum(loss.unsatisfied(f, y))
    return (
        dense_hessian(loss, model, x, y),
        loss.first_derivative(f, y),
        loss.second_derivative(f, y),
        n_delta,
    )


@settings(max_examples=6)
@given(problem=problems())
def test_decompose_matches_dense_hessian_and_invariants(problem):
    loss, model, ds, chunk_size, block_size = problem
    parts = decompose(loss, model, ds, chunk_size=chunk_size, block_size=block_size)
    n = nets.n_params(model)
    assert parts.h.shape == parts.h0.shape == parts.hp.shape == (n, n)
    h_ref, first, second, n_delta = reference(loss, model, ds.x, ds.y)
    assert_close(parts.h, h_ref, rtol=1e-10)
    np.testing.assert_array_equal(parts.h, parts.h0 + parts.hp)
    np.testing.assert_array_equal(parts.h0, parts.h0.T)
    np.testing.assert_array_equal(parts.hp, parts.hp.T)
    np.testing.assert_allclose(parts.first, first, rtol=1e-12)
    np.testing.assert_allclose(parts.second, second, rtol=1e-12)
    eig0 = spectrum(parts.h0)
    scale = float(jnp.max(jnp.abs(eig0)))
    assert float(eig0[0]) >= -1e-10 * scale  # H0 ⪰ 0 (000 eq. 3; every loss here has ℓ″ ≥ 0)
    if isinstance(loss, losses.QuadraticHinge):  # rank H0 ≤ N_Δ (000 §IV)
        assert int(summarize(eig0, rtol=1e-10).n_positive) <= int(n_delta)


@settings(max_examples=3)
@given(problem=problems(), seed=st.integers(0, 2**31 - 1))
def test_matrix_free_products_equal_dense_products(problem, seed):
    loss, model, ds, chunk_size, block_size = problem
    parts = decompose(loss, model, ds, chunk_size=chunk_size, block_size=block_size)
    v = jax.random.normal(jax.random.PRNGKey(seed), (nets.n_params(model),))
    assert_close(hvp(loss, model, ds, v), parts.h @ v)
    assert_close(h0vp(loss, model, ds, v), parts.h0 @ v)
    assert_close(hpvp(loss, model, ds, v), parts.hp @ v)
    h_mv, h0_mv, hp_mv, n = operators(loss, model, ds)
    assert n == nets.n_params(model)
    for mv, matrix in ((h_mv, parts.h), (h0_mv, parts.h0), (hp_mv, parts.hp)):
        assert_close(mv(v), matrix @ v)
    assert_close(jax.jit(lambda op, u: op(u))(h0_mv, 2.0 * v), 2.0 * (parts.h0 @ v))  # closures are pytrees


def test_jacobian_matches_jacrev_in_chunks():
    key = jax.random.PRNGKey(3)
    ds = data.random_sphere(key, 7, 3)
    for n_outputs in (1, 3):
        model = nets.FCNet(key, 3, 5, 2, "tanh", n_outputs=n_outputs, bias_scale=0.5)
        params, static = nets.partition(model)
        theta, unravel = ravel_pytree(params)
        outputs = lambda t, u=unravel, s=static: jax.vmap(eqx.combine(u(t), s))(ds.x)  # noqa: E731
        expected = jax.jit(jax.jacrev(outputs))(theta)
        for chunk_size in (3, 100):
            np.testing.assert_allclose(jacobian(model, ds.x, chunk_size=chunk_size), expected, rtol=1e-12)
    assert jacobian(model, ds.x).shape == (7, 3, nets.n_params(model))


def test_centered_model_with_alpha_matches_dense_hessian():
    """F = α(f − f₀) with α = 7 and the (1/α²)-rescaled soft hinge (thesis ch. 3 eq. 7)."""
    key = jax.random.PRNGKey(11)
    base = nets.FCNet(key, 3, 5, 2, "softplus", bias_scale=0.5)
    model = eqx.tree_at(lambda c: c.model, nets.Centered(base, 7.0), jax.tree.map(lambda w: w + 0.05, base))
    ds = data.random_sphere(jax.random.fold_in(key, 1), 6, 3)
    loss = losses.SoftHinge(sharpness=20.0, margin=1.0)
    parts = decompose(loss, model, ds, chunk_size=4, block_size=7)
    assert parts.h.shape == (nets.n_params(base),) * 2  # w₀ is not a parameter
    assert_close(parts.h, dense_hessian(loss, model, ds.x, ds.y))
    v = jax.random.normal(key, (nets.n_params(base),))
    assert_close(h0vp(loss, model, ds, v) + hpvp(loss, model, ds, v), parts.h @ v)
    np.testing.assert_array_equal(hessian(loss, model, ds, chunk_size=4, block_size=7), parts.h)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_generic_route_on_a_cnn_matches_dense_hessian(n_outputs):
    """Networks other than FCNet take the forward-over-reverse route for Hp (blocks of tangents)."""
    key = jax.random.PRNGKey(6)
    model = nets.SmallCNN(key, (1, 5, 5), channels=2, activation="softplus", n_outputs=n_outputs)
    assert not fc_supports(model) and fc_supports(nets.Centered(nets.FCNet(key, 2, 2, 1), 2.0))
    x = jax.random.normal(key, (6, 1, 5, 5))
    if n_outputs == 1:
        ds, loss = data.Dataset(x, jnp.array([1.0, -1.0] * 3)), losses.SoftHinge()
    else:
        ds, loss = data.Dataset(x, jnp.arange(6) % 3, n_classes=3), losses.SoftmaxCrossEntropy()
    parts = decompose(loss, model, ds, chunk_size=4, block_size=9)
    assert_close(parts.h, dense_hessian(loss, model, ds.x, ds.y))
    v = jax.random.normal(key, (nets.n_params(model),))
    assert_close(hpvp(loss, model, ds, v), parts.hp @ v)


@pytest.mark.parametrize("loss", [losses.SoftmaxCrossEntropy(), losses.MultiClassHinge(margin=0.5)])
def test_multiclass_losses_match_dense_hessian(loss):
    key = jax.random.PRNGKey(4)
    model = nets.FCNet(key, 3, 4, 2, "softplus", n_outputs=3, bias_scale=0.5)
    x = data.random_sphere(key, 7, 3).x
    y = jax.random.randint(jax.random.fold_in(key, 2), (7,), 0, 3)
    ds = data.Dataset(x, y, n_classes=3)
    parts = decompose(loss, model, ds, chunk_size=3, block_size=6)
    assert parts.first.shape == (7, 3) and parts.second.shape == (7, 3, 3)
    assert_close(parts.h, dense_hessian(loss, model, x, y))
    assert float(spectrum(parts.h0)[0]) >= -1e-10 * float(jnp.max(jnp.abs(parts.h0)))
    v = jax.random.normal(key, (nets.n_params(model),))
    assert_close(hvp(loss, model, ds, v), parts.h @ v)
    assert_close(h0vp(loss, model, ds, v), parts.h0 @ v)
    assert_close(hpvp(loss, model, ds, v), parts.hp @ v)


def test_ensemble_vmapped_decompose_equals_members():
    keys = jax.random.split(jax.random.PRNGKey(8), 2)
    make = lambda k: nets.FCNet(k, 3, 4, 2, "tanh", bias_scale=0.5)  # noqa: E731
    models = nets.ensemble(make, keys)
    ds = data.random_sphere(jax.random.PRNGKey(9), 5, 3)
    loss = losses.QuadraticHinge()
    stacked = eqx.filter_vmap(lambda m: decompose(loss, m, ds, chunk_size=2))(models)
    assert stacked.h.shape == (2, nets.n_params(make(keys[0])), nets.n_params(make(keys[0])))
    for i, k in enumerate(keys):
        member = decompose(loss, make(k), ds)
        for name in ("h", "h0", "hp", "first", "second"):
            np.testing.assert_allclose(
                getattr(stacked, name)[i], getattr(member, name), rtol=1e-12, atol=1e-14
            )
    summaries = eqx.filter_vmap(lambda parts: summarize(spectrum(parts.hp)))(stacked)
    assert summaries.c0.shape == (2,)


def test_summaries_of_diagonal_spectra_are_exact():
    lam = jnp.array([-3.0, -1.0, 0.0, 0.0, 0.0, 1e-17, 2.0, 3.0])
    s = summarize(spectrum(jnp.diag(lam[::-1])))
    assert s.n == 8
    assert (int(s.n_zero), int(s.n_negative), int(s.n_positive)) == (4, 2, 2)
    assert float(s.c0) == 2 / 8
    assert float(s.tolerance) == pytest.approx(8 * np.finfo(np.float64).eps * 3.0)
    assert float(s.moment1) == pytest.approx(1.0 / 8)
    assert float(s.moment3) == pytest.approx((-27.0 - 1.0 + 8.0 + 27.0) / 8)
    assert float(s.moment5) == pytest.approx((-243.0 - 1.0 + 32.0 + 243.0) / 8)
    m2 = (9.0 + 1.0 + 4.0 + 9.0) / 8
    assert float(s.skewness) == pytest.approx(abs(7.0 / 8) / m2**1.5)
    assert float(s.gap) == 2.0
    # a symmetric spectrum: odd moments vanish; a larger rtol moves small eigenvalues into the peak
    sym = summarize(jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0]), rtol=0.3)
    assert float(sym.moment3) == 0.0 and float(sym.skewness) == 0.0
    assert (int(sym.n_zero), int(sym.n_negative), int(sym.n_positive)) == (3, 1, 1)
    assert float(sym.gap) == 2.0
    zero = summarize(jnp.zeros(4))
    assert int(zero.n_zero) == 4 and float(zero.skewness) == 0.0 and np.isnan(float(zero.gap))


def test_hessian_summaries_of_quadratic_hinge_parts():
    key = jax.random.PRNGKey(2)
    model = nets.FCNet(key, 4, 6, 2, "relu")
    ds = data.random_sphere(jax.random.fold_in(key, 1), 8, 4)
    loss = losses.QuadraticHinge()
    parts = decompose(loss, model, ds)
    out = hessian_summaries(parts, rtol=1e-10)
    assert set(out) == {"h", "h0", "hp"}
    n_delta = int(jnp.sum(loss.unsatisfied(nets.outputs(model, ds.x), ds.y)))
    assert int(out["h0"].n_negative) == 0
    assert int(out["h0"].n_positive) == n_delta  # generic: rank H0 = N_Δ when N_Δ ≤ N
    assert int(out["h0"].n_zero) == nets.n_params(model) - n_delta  # the delta peak of 000 Fig. 7c
    assert float(out["h0"].gap) == pytest.approx(float(np.sort(np.linalg.eigvalsh(parts.h0))[-n_delta]))


def test_bad_arguments_are_named_before_any_jit():
    model = nets.FCNet(jax.random.PRNGKey(0), 3, 4, 2)
    x, y = jnp.ones((5, 3)), jnp.array([1.0, -1.0, 1.0, 1.0, -1.0])
    ds = data.Dataset(x, y)
    loss = losses.QuadraticHinge()
    with pytest.raises(ValueError, match="`data.x` must have per-pattern shape"):
        decompose(loss, model, data.Dataset(jnp.ones((5, 4)), y))
    with pytest.raises(ValueError, match="n_classes = 3 labels but the model has 1 output"):
        decompose(losses.MultiClassHinge(), model, data.Dataset(x, jnp.arange(5) % 3, n_classes=3))
    with pytest.raises(ValueError, match="`v` must be a flat parameter vector"):
        hvp(loss, model, ds, jnp.ones(3))
    with pytest.raises(ValueError, match="chunk_size"):
        decompose(loss, model, ds, chunk_size=0)
    with pytest.raises(ValueError, match="`x` must have per-pattern shape"):
        jacobian(model, jnp.ones((5, 2)))
    with pytest.raises(ValueError, match="rtol"):
        summarize(jnp.ones(3), rtol=-1.0)
    multi = nets.FCNet(jax.random.PRNGKey(0), 3, 4, 2, n_outputs=3)
    with pytest.raises(ValueError, match="scalar-output"):
        decompose(loss, multi, ds)
    with pytest.raises(ValueError, match="scalar-output"):
        n_eff(multi, ds)
    with pytest.raises(ValueError, match="`data.x` must have per-pattern shape"):
        n_eff(model, data.Dataset(jnp.ones((5, 2)), y))


# ----------------------------------------------------------------------------------------------
# N_eff (000 App. A)


def test_tangent_matrix_matches_dense_derivatives():
    key = jax.random.PRNGKey(5)
    model = nets.FCNet(key, 3, 4, 2, "tanh", bias_scale=0.5)
    x = data.random_sphere(key, 4, 3).x
    params, static = nets.partition(model)
    theta, unravel = ravel_pytree(params)
    f = lambda t, xi: eqx.combine(unravel(t), static)(xi)  # noqa: E731

    @jax.jit
    def rows(xi):  # ∇_θ f and ∂_{x_n} ∇_θ f = ∇_θ ∂_{x_n} f, by reverse mode in both orders
        return jnp.concatenate([jax.grad(f)(theta, xi)[None], jax.jacrev(jax.grad(f, argnums=1))(theta, xi)])

    expected = jnp.concatenate([rows(xi) for xi in x])
    np.testing.assert_allclose(tangent_matrix(model, x, chunk_size=3), expected, rtol=1e-12)


def on(x):
    """A Dataset with inputs x (N_eff does not look at the labels)."""
    return data.Dataset(x, jnp.ones(x.shape[0], x.dtype))


def _switching(model, x):
    """Every hidden neuron is active on some training inputs and inactive on others."""
    return all(
        bool(jnp.all(jnp.any(a > 0, 0) & jnp.any(a <= 0, 0))) for a in jax.vmap(model.preactivations)(x)
    )


def test_relu_n_eff_is_n_minus_hidden_neurons():
    """000 App. A: the ReLU scaling symmetry removes one direction per hidden neuron, and nothing else
    does for generic weights, (d+1)P ≥ N and every neuron switching on the data.

    d = 4, width 5, depth 2, biases (β = 0.5): N = 61, 10 hidden neurons, P = 100 ((d+1)P = 500).
    Measured: with P = 40 some draws fall 1 short (too few activation regions visited), and draws
    with a layer-2 neuron dead or always active on all the data lose 4–12 more, so the identity
    is asserted on the draws where every neuron switches (seeds 0, 5, 6 of 0–7). The smallest kept
    singular value is ≳ 10⁻⁵ σ_max, the first dropped one ≲ 10⁻¹⁶ σ_max (SVD) or 10⁻⁸ (Gram).
    """
    checked = 0
    for seed in range(8):
        k_data, k_net = jax.random.split(jax.random.PRNGKey(seed))
        x = data.random_sphere(k_data, 100, 4).x
        model = nets.FCNet(k_net, 4, 5, 2, "relu", bias_scale=0.5)
        if not _switching(model, x):
            continue
        checked += 1
        expected = nets.n_params(model) - 10
        by_svd = n_eff(model, on(x), method="svd")
        by_gram = n_eff(model, on(x), method="gram", chunk_size=16)
        assert int(by_svd.rank) == expected == int(by_gram.rank)
        assert by_svd.singular_values.shape == (nets.n_params(model),)
        np.testing.assert_allclose(
            by_gram.singular_values[:expected], by_svd.singular_values[:expected], rtol=1e-6
        )
        assert by_svd.method == "svd" and n_eff(model, on(x)).method == "svd"
    assert checked >= 2


def _float32(tree):
    return jax.tree_util.tree_map(lambda a: a.astype(jnp.float32) if eqx.is_inexact_array(a) else a, tree)


def test_n_eff_of_a_float32_model_is_the_float64_rank():
    """Ranks are decided in float64 whatever the model's dtype: the same SVD in float32 (tolerance
    max(M, N) · ε₃₂) loses 3 of the 154 directions of this ReLU net (d = 4, h = 10, L = 3, P = 40)."""
    k_data, k_net = jax.random.split(jax.random.PRNGKey(0))
    x = data.random_sphere(k_data, 40, 4).x
    model = nets.FCNet(k_net, 4, 10, 3, "relu", bias_scale=0.5)
    expected = int(n_eff(model, on(x)).rank)
    g32 = np.asarray(tangent_matrix(_float32(model), x.astype(jnp.float32)))
    sigma32 = np.linalg.svd(g32, compute_uv=False)
    rank32 = int(np.sum(sigma32 > max(g32.shape) * np.finfo(np.float32).eps * sigma32[0]))
    assert g32.dtype == np.float32 and rank32 == expected - 3
    result = n_eff(_float32(model), on(x.astype(jnp.float32)))
    assert int(result.rank) == expected == 154 and result.singular_values.dtype == jnp.float64
    jax.config.update("jax_enable_x64", False)  # the fixture float64_for_every_test turns it back on
    with pytest.raises(ValueError, match="n_eff.*needs float64"):
        n_eff(_float32(model), on(x.astype(jnp.float32)))


def test_zero_modes_are_not_counted_on_a_float32_spectrum():
    with pytest.raises(ValueError, match="`eigenvalues` must be float64.*float32"):
        summarize(jnp.array([-1.0, 0.0, 1.0], jnp.float32))


def test_dead_layer_and_small_data_reduce_n_eff():
    key = jax.random.PRNGKey(0)
    k_data, k_net = jax.random.split(key)
    x = data.random_sphere(k_data, 100, 4).x
    model = nets.FCNet(k_net, 4, 5, 2, "relu", bias_scale=0.5)
    full = int(n_eff(model, on(x)).rank)
    # no signal propagation: all first-layer preactivations negative, f constant in x and the same
    # gradient at every pattern, so G has rank 1 (000 App. A)
    dead = eqx.tree_at(lambda m: m.biases[0], model, -100.0 * jnp.ones(5))
    assert int(n_eff(dead, on(x)).rank) == 1 < full
    # the G Gᵀ route ((d+1)P < N) agrees with the SVD
    few = x[:6]
    small_svd = n_eff(model, on(few), method="svd")
    small_gram = n_eff(model, on(few), method="gram", chunk_size=4)
    assert small_gram.singular_values.shape == (30,)
    assert int(small_svd.rank) == int(small_gram.rank) <= 30
    np.testing.assert_allclose(
        small_gram.singular_values[: int(small_svd.rank)],
        small_svd.singular_values[: int(small_svd.rank)],
        rtol=1e-6,
    )


def test_linear_network_n_eff_is_at_most_d_plus_one():
    """f = A x + c is linear in x: G spans {∂_θ A_n, ∂_θ c}, so N_eff ≤ d + 1, and ≤ d without
    biases (000 App. A); both bounds are reached for generic weights."""
    key = jax.random.PRNGKey(1)
    x = data.random_sphere(key, 20, 3).x
    plain = nets.FCNet(key, 3, 4, 2, "linear")
    biased = nets.FCNet(key, 3, 4, 2, "linear", bias_scale=0.5)
    assert int(n_eff(plain, on(x)).rank) == 3
    assert int(n_eff(biased, on(x)).rank) == 4
    assert int(n_eff(biased, on(x), method="gram").rank) == 4
    ensemble = nets.ensemble(
        lambda k: nets.FCNet(k, 3, 4, 2, "linear", bias_scale=0.5), jax.random.split(key, 2)
    )
    assert eqx.filter_vmap(lambda m: n_eff(m, on(x)).rank)(ensemble).tolist() == [4, 4]


# ----------------------------------------------------------------------------------------------
# 000 App. B: the spectrum of Hp is symmetric for ReLU on random data


def _hp_summary(activation, depth, width, seed, p=400, dim=10):
    k_data, k_net = jax.random.split(jax.random.PRNGKey(seed))
    ds = data.random_sphere(k_data, p, dim)
    model = nets.FCNet(k_net, dim, width, depth, activation)
    parts = decompose(losses.QuadraticHinge(margin=0.5), model, ds)
    return summarize(spectrum(parts.hp))


def test_hp_spectrum_is_symmetric_for_relu_not_tanh():
    """000 App. B: at initialisation on random data (random labels, P = 400, d = 10, quadratic hinge,
    ε = ½, no biases) the odd moments of Hp nearly vanish for ReLU, while tanh is skewed.

    Depth 2, width 20, N = 620, seeds 0–3. Measured skewness |tr Hp³/N| / (tr Hp²/N)^{3/2}:
    ReLU 0.103, 0.088, 0.120, 0.165 (mean 0.119; it decreases slowly with N: ≈ 0.18 at N = 210,
    ≈ 0.09 at N = 1230); tanh 0.81, 0.47, 0.52, 0.71 (mean 0.63). Counts: ReLU N₋ = 220, N₊ = 219,
    181 zero modes for every seed, so C0 = N₋/N = 0.355 = (N − #zero)/(2N) to 10⁻³. At this depth
    the count symmetry is largely structural: Hp vanishes on the 400-dimensional block of the
    square hidden layer (f is linear in each layer's weights at fixed activation pattern), which
    bounds N₋, N₊ ≤ N − 400 = 220. tanh has no zero modes and N₋ > N₊: |N₋ − N₊|/N = 0.13, 0.05,
    0.15, 0.13 (C0 ≈ 0.53–0.58 at initialisation; 000 Fig. 7e finds 0.43 near jamming).
    Asserted: ReLU mean skewness < 0.2 and |N₋ − N₊|/N < 0.05, |C0 − (N − #zero)/(2N)| < 0.05
    per seed; tanh mean skewness > 0.4 and mean |N₋ − N₊|/N > 0.05.
    """
    relu = [_hp_summary("relu", 2, 20, seed) for seed in range(4)]
    tanh = [_hp_summary("tanh", 2, 20, seed) for seed in range(4)]
    for s in relu:
        assert abs(int(s.n_negative) - int(s.n_positive)) / s.n < 0.05
        assert abs(float(s.c0) - (s.n - int(s.n_zero)) / (2 * s.n)) < 0.05
    assert np.mean([float(s.skewness) for s in relu]) < 0.2
    assert np.mean([float(s.skewness) for s in tanh]) > 0.4
    assert np.mean([abs(int(s.n_negative) - int(s.n_positive)) / s.n for s in tanh]) > 0.05


def test_hp_sign_counts_balance_for_relu_at_depth_three():
    """Same set-up, depth 3, width 14 (N = 546), where no layer block bounds the counts (the largest
    is 196 < N/2). Measured |N₋ − N₊|/N, seeds 0–2: ReLU 0.011, 0.002, 0.004; tanh 0.077, 0.121,
    0.070. Asserted: ReLU < 0.03 and tanh > 0.035 for every seed."""
    for seed in range(3):
        relu = _hp_summary("relu", 3, 14, seed)
        tanh = _hp_summary("tanh", 3, 14, seed)
        assert abs(int(relu.n_negative) - int(relu.n_positive)) / relu.n < 0.03
        assert abs(int(tanh.n_negative) - int(tanh.n_positive)) / tanh.n > 0.035


def test_parts_are_a_frozen_module():
    parts = HessianParts(
        h=jnp.eye(2), h0=jnp.eye(2), hp=jnp.zeros((2, 2)), first=jnp.zeros(3), second=jnp.zeros(3)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        parts.h = jnp.zeros((2, 2))  # type: ignore[misc]
