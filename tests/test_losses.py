"""Losses: analytic derivatives equal autodiff, hand-computed values, the α-rescaled objective."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jamscope import losses, nets

BINARY = [
    lambda m: losses.QuadraticHinge(margin=m),
    lambda m: losses.LinearHinge(margin=m),
    lambda m: losses.SoftHinge(sharpness=20.0, margin=m),
    lambda m: losses.SoftHinge(sharpness=1.0, margin=m),
    lambda m: losses.CrossEntropy(margin=m),
    lambda m: losses.MSE(),
]
MULTI = [lambda m: losses.MultiClassHinge(margin=m), lambda m: losses.SoftmaxCrossEntropy()]

outputs = st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=8)
margins = st.floats(0.05, 2.0)


@settings(max_examples=12)  # each example differentiates eagerly: ~2 s
@given(f=outputs, signs=st.lists(st.booleans(), min_size=8, max_size=8), margin=margins,
       which=st.integers(0, len(BINARY) - 1))  # fmt: skip
def test_binary_derivatives_equal_autodiff(f, signs, margin, which):
    loss = BINARY[which](margin)
    f = jnp.asarray(f)
    y = jnp.where(jnp.asarray(signs[: f.shape[0]]), 1.0, -1.0)
    gaps = margin - y * f
    assume(bool(jnp.all(jnp.abs(gaps) > 1e-6)))  # the hinges have a kink at Δ = 0
    grad = jax.grad(lambda g: jnp.sum(loss.value(g, y)))(f)
    hess_diag = jnp.diag(jax.hessian(lambda g: jnp.sum(loss.value(g, y)))(f))
    np.testing.assert_allclose(loss.first_derivative(f, y), grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss.second_derivative(f, y), hess_diag, rtol=1e-10, atol=1e-12)


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31 - 1), n_classes=st.integers(2, 5), margin=margins, which=st.integers(0, 1))
def test_multiclass_derivatives_equal_autodiff(seed, n_classes, margin, which):
    loss = MULTI[which](margin)
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    f = 2.0 * jax.random.normal(k1, (4, n_classes))
    y = jax.random.randint(k2, (4,), 0, n_classes)
    t = 2.0 * jax.nn.one_hot(y, n_classes) - 1.0
    assume(bool(jnp.all(jnp.abs(margin - t * f) > 1e-6)))
    total = lambda g: jnp.sum(loss.value(g, y))  # noqa: E731
    np.testing.assert_allclose(loss.first_derivative(f, y), jax.grad(total)(f), rtol=1e-10, atol=1e-12)
    hess = jax.hessian(total)(f)  # (P, K, P, K), block diagonal in patterns
    blocks = jnp.stack([hess[i, :, i, :] for i in range(4)])
    np.testing.assert_allclose(loss.second_derivative(f, y), blocks, rtol=1e-10, atol=1e-12)


def test_hand_computed_hinge_values():
    f = jnp.array([0.0, 1.0, -1.0, 0.25])
    y = jnp.array([1.0, 1.0, 1.0, 1.0])
    q = losses.QuadraticHinge(margin=0.5)  # Δ = 0.5, -0.5, 1.5, 0.25
    np.testing.assert_allclose(q.value(f, y), [0.125, 0.0, 1.125, 0.03125])
    np.testing.assert_array_equal(q.unsatisfied(f, y), [True, False, True, True])
    lin = losses.LinearHinge(margin=0.5)
    np.testing.assert_allclose(lin.value(f, y), [0.5, 0.0, 1.5, 0.25])
    ce = losses.CrossEntropy()
    np.testing.assert_allclose(ce.value(f, y), np.log1p(np.exp(-np.asarray(f))))
    np.testing.assert_array_equal(ce.unsatisfied(f, y), [False, False, True, False])
    soft = losses.SoftHinge(sharpness=1e3, margin=1.0)  # → hinge max(0, 1 − yf)
    np.testing.assert_allclose(soft.value(f, y), [1.0, 0.0, 2.0, 0.75], atol=1e-3)


def test_multiclass_hinge_is_000_eq_10_by_hand():
    """000 eq. 10: L = (1/(K P)) Σ_{μ,c} Δ_{μc}² θ(Δ_{μc}), Δ = ε − t f, t = +1 on the label, −1 elsewhere."""
    f = jnp.array([[1.0, -1.0, 0.0], [0.2, 0.4, -0.9]])
    y = jnp.array([0, 1])
    hinge = losses.MultiClassHinge(margin=0.5)
    # Δ = [[-0.5, -0.5, 0.5], [0.7, 0.1, -0.4]]: ℓ = (0.25)/3 and (0.49 + 0.01)/3
    np.testing.assert_allclose(hinge.value(f, y), [0.25 / 3, 0.5 / 3], rtol=1e-14)
    np.testing.assert_allclose(losses.mean_loss(hinge, f, y), (0.25 + 0.5) / (3 * 2), rtol=1e-14)
    np.testing.assert_array_equal(hinge.unsatisfied(f, y), [True, True])
    assert not bool(hinge.unsatisfied(jnp.array([[1.0, -1.0, -1.0]]), jnp.array([0]))[0])


def test_objective_is_alpha_rescaled_mean():
    key = jax.random.PRNGKey(0)
    model = nets.FCNet(key, 3, 5, 2, "softplus")
    moved = jax.tree.map(lambda w: w + 0.1, model)
    alpha = 7.0
    centered = eqx.tree_at(lambda c: c.model, nets.Centered(model, alpha), moved)  # w moved, w₀ kept
    x = jax.random.normal(key, (6, 3))
    y = jnp.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    loss = losses.SoftHinge()
    big_f = alpha * (nets.outputs(moved, x) - nets.outputs(model, x))
    expected = jnp.mean(loss.value(big_f, y)) / alpha**2
    assert float(losses.objective(loss, centered, x, y)) == pytest.approx(float(expected), rel=1e-12)
    assert float(losses.objective(loss, model, x, y)) == pytest.approx(
        float(jnp.mean(loss.value(nets.outputs(model, x), y))), rel=1e-12
    )


def test_bad_labels_and_hyper_parameters_are_named():
    model = nets.FCNet(jax.random.PRNGKey(0), 2, 3, 1)
    x = jnp.ones((3, 2))
    with pytest.raises(ValueError, match="`y` must hold binary labels"):
        losses.objective(losses.QuadraticHinge(), model, x, jnp.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="margin"):
        losses.QuadraticHinge(margin=0.0)
    with pytest.raises(ValueError, match="margin"):
        losses.LinearHinge(margin=-1.0)
    with pytest.raises(ValueError, match="sharpness"):
        losses.SoftHinge(sharpness=0.0)
    multi = nets.FCNet(jax.random.PRNGKey(0), 2, 3, 1, n_outputs=3)
    with pytest.raises(ValueError, match="class indices"):
        losses.objective(losses.SoftmaxCrossEntropy(), multi, x, jnp.array([0, 1, 3]))
    with pytest.raises(ValueError, match="scalar-output"):
        losses.objective(losses.QuadraticHinge(), multi, x, jnp.array([1.0, 1.0, -1.0]))


def test_the_error_rate_counts_wrong_signs_and_wrong_classes_by_hand():
    """y f ≤ 0 is an error (f = 0 included, 000 Fig. 6c); with class labels, argmax ≠ y. Batches of
    models give one rate each."""
    y = jnp.array([1.0, 1.0, -1.0])
    f = jnp.array([[0.5, -0.2, 0.0], [1.0, 2.0, -3.0]])
    np.testing.assert_array_equal(losses.misclassified(f, y), [[False, True, True], [False, False, False]])
    np.testing.assert_allclose(losses.error_rate(f, y), [2 / 3, 0.0])
    logits = jnp.array([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0]])  # predicted classes 1 and 0
    np.testing.assert_allclose(losses.error_rate(logits, jnp.array([1, 2])), 0.5)
    with pytest.raises(ValueError, match="`f` must have shape"):
        losses.error_rate(f[:, :2], y)
    with pytest.raises(ValueError, match="`y` must hold binary labels"):
        losses.error_rate(f, jnp.array([1.0, 0.0, -1.0]))
