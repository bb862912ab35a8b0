"""The empirical NTK against the dense J Jᵀ, its invariants, the linearized model, kernel regression,
and the lazy-regime scaling of the kernel change (thesis ch. 3 §6)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jaxtyping import TypeCheckError

from jamscope import curvature, data, fits, losses, nets, ntk, train
from jamscope.regression import kernel_regression

METHODS = ("structured", "jacobian", "ntvp")


class Quadratic(nets.AbstractNet):
    """f(x) = (w · x)² / d: a model outside the structured route (generic Jacobian or NTVP)."""

    w: jax.Array
    input_shape: tuple[int, ...] = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True, default=1)

    def __call__(self, x):
        return jnp.dot(self.w, x) ** 2 / x.shape[0]


def assert_close(actual, expected, rtol=1e-11):
    scale = float(jnp.max(jnp.abs(expected)))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * max(scale, 1e-300))


def dense_ntk(model, x1, x2):
    """The oracle: J1 J2ᵀ from the raveled Jacobian (jax.jacrev per pattern), with output axes."""
    j1, j2 = curvature.jacobian(model, x1), curvature.jacobian(model, x2)
    if j1.ndim == 2:
        return j1 @ j2.T
    return jnp.einsum("akn,bln->abkl", j1, j2)


nets_strategy = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**16),
        "width": st.integers(1, 6),
        "depth": st.integers(1, 3),
        "activation": st.sampled_from(["relu", "tanh", "softplus"]),
        "bias_scale": st.sampled_from([0.0, 0.5]),
        "n_outputs": st.sampled_from([1, 1, 3]),
        "p1": st.integers(1, 7),
        "p2": st.integers(1, 5),
        "chunk": st.integers(1, 4),
    }
)


@settings(max_examples=5)
@given(nets_strategy)
def test_both_implementations_equal_the_dense_jacobian_product(c):
    key = jax.random.PRNGKey(c["seed"])
    d = 3
    model = nets.FCNet(key, d, c["width"], c["depth"], c["activation"], n_outputs=c["n_outputs"],
                       bias_scale=c["bias_scale"])  # fmt: skip
    x1 = jax.random.normal(jax.random.fold_in(key, 1), (c["p1"], d))
    x2 = jax.random.normal(jax.random.fold_in(key, 2), (c["p2"], d))
    expected = dense_ntk(model, x1, x2)
    for method in METHODS:
        got = ntk.ntk(model, x1, x2, method=method, chunk_size=c["chunk"])
        assert got.shape == expected.shape
        assert_close(got, expected)
        if c["n_outputs"] > 1:
            traced = ntk.ntk(model, x1, x2, method=method, chunk_size=c["chunk"], trace=True)
            assert_close(traced, jnp.trace(expected, axis1=2, axis2=3))


@settings(max_examples=6)
@given(st.integers(0, 2**16), st.integers(2, 9), st.sampled_from(["relu", "tanh"]))
def test_ntk_is_symmetric_and_psd(seed, p, activation):
    key = jax.random.PRNGKey(seed)
    model = nets.Centered(nets.FCNet(key, 4, 5, 2, activation), 0.7)
    x = jax.random.normal(jax.random.fold_in(key, 1), (p, 4))
    for method in METHODS:
        theta = ntk.ntk(model, x, method=method, chunk_size=3)
        np.testing.assert_allclose(theta, theta.T, rtol=0, atol=1e-12 * float(jnp.max(jnp.abs(theta))))
        assert float(jnp.min(jnp.linalg.eigvalsh(theta))) >= -1e-10 * float(jnp.max(jnp.abs(theta)))
        # Θ(x, x′) = ∇F(x)·∇F(x′) is a Gram matrix: Cauchy–Schwarz on every pair
        diag = jnp.diag(theta)
        assert bool(jnp.all(theta**2 <= diag[:, None] * diag[None, :] * (1 + 1e-10)))


def test_small_cnn_and_the_blocked_routes():
    key = jax.random.PRNGKey(3)
    cnn = nets.SmallCNN(key, (2, 5, 5), channels=3, activation="tanh", n_outputs=2)
    x = jax.random.normal(key, (7, 2, 5, 5))
    expected = dense_ntk(cnn, x, x)
    for method in METHODS:
        assert_close(ntk.ntk(cnn, x, method=method, chunk_size=3), expected)
        assert_close(ntk.ntk(cnn, x, method=method), expected)
    # a budget too small to keep the Jacobian of x2: the blocks of x2 are recomputed per block of x1
    assert_close(ntk.ntk(cnn, x, method="jacobian", chunk_size=2, memory_bytes=10_000), expected)
    assert_close(ntk.ntk(cnn, x, method="structured", memory_bytes=2_000), expected)
    assert ntk.ntk_method(cnn) == ntk.ntk_method(nets.Centered(cnn, 2.0)) == "structured"


def test_auto_choice_for_other_models_follows_the_memory_budget():
    key = jax.random.PRNGKey(9)
    model = Quadratic(jax.random.normal(key, (4,)), (4,))
    x = jax.random.normal(key, (6, 4))
    expected = dense_ntk(model, x, x)
    assert ntk.ntk_method(model) == "jacobian"
    assert ntk.ntk_method(model, memory_bytes=100) == "ntvp"
    for budget in (2**30, 100):
        assert_close(ntk.ntk(model, x, memory_bytes=budget), expected)
    with pytest.raises(ValueError, match="structured"):
        ntk.ntk(model, x, method="structured")


def test_ntk_vector_product_and_operator_match_the_matrix():
    key = jax.random.PRNGKey(4)
    model = nets.FCNet(key, 3, 6, 2, "softplus")
    x = jax.random.normal(key, (9, 3))
    v = jax.random.normal(jax.random.fold_in(key, 1), (9,))
    theta = dense_ntk(model, x, x)
    assert_close(ntk.ntk_vector_product(model, x, v), theta @ v)
    matvec, n = ntk.ntk_operator(model, x)
    assert n == 9
    assert_close(matvec(v), theta @ v)
    multi = nets.FCNet(key, 3, 6, 2, "softplus", n_outputs=2)
    u = jax.random.normal(key, (9, 2))
    assert_close(ntk.ntk_vector_product(multi, x, u), jnp.einsum("abkl,bl->ak", dense_ntk(multi, x, x), u))


def test_h0_spectrum_equals_the_weighted_ntk_spectrum():
    """The non-zero spectrum of H0 = (1/P) Jᵀ D J equals that of (1/P) D^½ Θ D^½."""
    key = jax.random.PRNGKey(5)
    ds = data.random_sphere(key, 12, 3)
    model = nets.FCNet(jax.random.fold_in(key, 1), 3, 4, 2, "tanh")
    loss = losses.SoftHinge(sharpness=3.0)
    h0 = curvature.decompose(loss, model, ds).h0
    weights = loss.second_derivative(nets.outputs(model, ds.x), ds.y)
    theta = ntk.ntk(model, ds.x)
    small = jnp.sqrt(weights)[:, None] * theta * jnp.sqrt(weights)[None, :] / ds.n_train
    top = jnp.sort(jnp.linalg.eigvalsh(h0))[::-1][: ds.n_train]
    np.testing.assert_allclose(top, jnp.sort(jnp.linalg.eigvalsh(small))[::-1], rtol=1e-9, atol=1e-12)


def test_ntk_rejects_bad_inputs():
    model = nets.FCNet(jax.random.PRNGKey(0), 3, 4, 1)
    x = jnp.ones((4, 3))
    with pytest.raises((ValueError, TypeCheckError), match="x2"):
        ntk.ntk(model, x, jnp.ones((2, 5)))
    with pytest.raises(ValueError, match="`x1` must have per-pattern shape"):
        ntk.ntk(model, jnp.ones((2, 5)))
    with pytest.raises(ValueError, match="`x1` must be finite"):
        ntk.ntk(model, x.at[0, 0].set(jnp.nan))
    with pytest.raises(ValueError, match="`x1` must contain at least one pattern"):
        ntk.ntk(model, jnp.ones((0, 3)))
    with pytest.raises(ValueError, match="`chunk_size`"):
        ntk.ntk(model, x, chunk_size=0)
    with pytest.raises(ValueError, match="`v` must have the shape"):
        ntk.ntk_vector_product(model, x, jnp.ones((4, 2)))
    with pytest.raises(ValueError, match="same architecture"):
        ntk.kernel_change(model, nets.FCNet(jax.random.PRNGKey(0), 3, 4, 2), x)


@settings(max_examples=4)
@given(st.integers(0, 2**16), st.sampled_from([0.1, 1.0, 30.0]))
def test_linearized_model_equals_the_model_at_w0_and_has_a_constant_kernel(seed, alpha):
    key = jax.random.PRNGKey(seed)
    model = nets.Centered(nets.FCNet(key, 3, 5, 2, "softplus", bias_scale=0.3), alpha)
    lin = nets.linearize(model)
    x = jax.random.normal(jax.random.fold_in(key, 1), (6, 3))
    assert nets.n_params(lin) == nets.n_params(model) and lin.output_scale == alpha
    np.testing.assert_allclose(nets.outputs(lin, x), nets.outputs(model, x), atol=1e-12 * max(alpha, 1.0))
    # move the weights: F_lin is affine in w with the initial gradient, so its NTK stays Θ_0
    params, static = nets.partition(lin)
    shift = jax.tree.map(lambda w: w + 0.3 * jnp.sign(w), params)
    moved = eqx.combine(shift, static)
    theta0 = ntk.ntk(model, x)
    # (the generic route differentiates F_lin itself; the structured route would use Θ_0 by construction)
    assert_close(ntk.ntk(moved, x, method="jacobian"), theta0)
    assert float(ntk.kernel_change(moved, lin, x, method="jacobian")) < 1e-12
    # and F_lin(w) − F(w₀) = ∇F(w₀)·(w − w₀) exactly
    jac = curvature.jacobian(model, x)
    delta = nets.flat_params(moved) - nets.flat_params(lin)
    np.testing.assert_allclose(
        nets.outputs(moved, x), jac @ delta, atol=1e-12 * float(jnp.max(jnp.abs(jac @ delta)))
    )


def test_trained_linearized_model_converges_to_ridgeless_ntk_regression():
    """Gradient flow of F_lin on the square loss from w₀ ends at the minimum-norm interpolant,
    Θ(x, X) Θ⁻¹ y (004 App. C eq. 15), when N > P."""
    key = jax.random.PRNGKey(6)
    ds = data.random_sphere(key, 8, 10, n_test=5)
    model = nets.Centered(nets.FCNet(jax.random.fold_in(key, 1), 10, 64, 1, "tanh"), 1.0)
    lin = nets.linearize(model)
    trained, history = train.gradient_flow(lin, losses.MSE(), ds, steps=3000, progress=False)
    assert float(history.loss[-1]) < 1e-16
    expected = ntk.ntk_regression(model, ds, ds.x_test)
    np.testing.assert_allclose(nets.outputs(trained, ds.x_test), expected, atol=1e-8)
    np.testing.assert_allclose(ntk.ntk_regression(model, ds, ds.x), ds.y, atol=1e-10)


@settings(max_examples=10)
@given(st.integers(0, 2**16), st.integers(2, 12), st.sampled_from([0.0, 0.1]))
def test_kernel_regression_interpolates_or_shrinks(seed, p, ridge):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(p, p + 3))
    k = jnp.asarray(features @ features.T)
    y = jnp.asarray(rng.choice([-1.0, 1.0], size=p))
    fitted = kernel_regression(k, y, k, ridge=ridge)
    if ridge == 0.0:
        np.testing.assert_allclose(fitted, y, atol=1e-8)
    else:  # (K + λPI)⁻¹: the closed form, and strictly smaller residual norm than ‖y‖
        expected = k @ jnp.linalg.solve(k + ridge * p * jnp.eye(p), y)
        np.testing.assert_allclose(fitted, expected, atol=1e-9)
        assert float(jnp.linalg.norm(fitted)) < float(jnp.linalg.norm(y))


def test_ridgeless_regression_on_a_singular_kernel_is_least_squares():
    x = jnp.linspace(-1, 1, 7)[:, None]
    k = x @ x.T  # rank 1: the linear kernel in d = 1
    y = jnp.asarray([1.0, -1.0, 2.0, 0.0, 1.0, 3.0, -2.0])
    fitted = kernel_regression(k, y, k)
    slope = float(jnp.sum(x[:, 0] * y) / jnp.sum(x[:, 0] ** 2))
    np.testing.assert_allclose(fitted, slope * x[:, 0], atol=1e-10)
    with pytest.raises(TypeCheckError, match="k_test"):
        kernel_regression(k, y, k[:, :3])
    with pytest.raises(ValueError, match="`ridge`"):
        kernel_regression(k, y, k, ridge=-1.0)


def test_ensemble_mean_of_identical_models_is_the_model():
    key = jax.random.PRNGKey(7)
    model = nets.Centered(nets.FCNet(key, 3, 5, 2, "softplus"), 2.0)
    x = jax.random.normal(key, (6, 3))
    stacked = nets.ensemble(lambda k: nets.Centered(nets.FCNet(key, 3, 5, 2, "softplus"), 2.0),
                            jax.random.split(key, 4))  # fmt: skip
    f = nets.ensemble_outputs(stacked, x)
    np.testing.assert_allclose(f.mean(0), nets.outputs(model, x), atol=1e-14)
    np.testing.assert_allclose(((f - f.mean(0, keepdims=True)) ** 2).mean(), 0.0, atol=1e-28)
    # the NTK of an ensemble, vmapped, is the NTK of every member
    thetas = eqx.filter_vmap(lambda m: ntk.ntk(m, x))(stacked)
    assert_close(thetas, jnp.broadcast_to(ntk.ntk(model, x), thetas.shape))


def test_kernel_change_shrinks_like_one_over_alpha_in_the_lazy_regime():
    """Thesis ch. 3 §6: for α√h ≫ 1, ‖Θ_t − Θ_0‖/‖Θ_0‖ ∝ (α√h)^(−1). Fitted slope −1 ± 0.15."""
    key = jax.random.PRNGKey(8)
    ds = data.digits(key, n_train=40, pca_dim=5)
    width = 16
    alphas = np.array([10.0, 30.0, 100.0, 300.0]) / np.sqrt(width)
    changes = []
    for alpha in alphas:
        model = nets.Centered(nets.FCNet(jax.random.fold_in(key, 1), 5, width, 2, "softplus"), float(alpha))
        trained, history = train.gradient_flow(model, losses.SoftHinge(), ds, steps=5000, progress=False)
        assert bool(history.fitted)
        changes.append(float(ntk.kernel_change(trained, model, ds.x)))
    fit = fits.scaling_fit(alphas, np.array(changes))
    assert abs(fit.exponent + 1.0) < 0.15, (fit, changes)


def test_benchmark_runs_in_quick_mode():
    """benchmarks/bench_ntk.py --quick --no-nt: every jamscope route agrees with the naive J Jᵀ."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_ntk.py"
    spec = importlib.util.spec_from_file_location("bench_ntk", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.run(quick=True, use_nt=False, repeat=1)
    assert [row["auto_method"] for row in rows] == ["structured", "structured"]
    assert all(diff < 1e-8 for row in rows for diff in row["rel_diff"].values())
