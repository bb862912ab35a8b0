"""Training engine: convergence, stopping rules, determinism, ensembles = separate runs, bad input."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jamscope as js
from jamscope import nets, train


@pytest.fixture(scope="module")
def data():
    return js.data.random_sphere(jax.random.PRNGKey(0), n_train=40, dim=5)


def make(key, width=16, activation="relu"):
    return js.FCNet(key, 5, width, 2, activation)


def leaves_equal(a, b):
    return all(np.array_equal(u, v) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def test_adam_fits_an_overparametrized_net_and_stops(data):
    model = make(jax.random.PRNGKey(1), width=32)  # N = 1216 ≫ P = 40
    loss = js.QuadraticHinge()
    start = float(js.losses.objective(loss, model, data.x, data.y))
    trained, history = train.adam(model, loss, data, steps=20_000, lr=1e-2, progress=False)
    assert bool(history.fitted)
    assert float(history.loss[-1]) == 0.0 and int(history.n_unsatisfied[-1]) == 0
    assert float(history.loss[0]) == pytest.approx(start, rel=1e-12)
    assert int(history.step[-1]) < 20_000  # stopped as soon as N_Δ = 0
    gaps = loss.gaps(nets.outputs(trained, data.x), data.y)
    assert float(jnp.max(gaps)) <= 0.0
    assert np.all(np.diff(np.asarray(history.step)) >= 0)


def test_underparametrized_net_keeps_unsatisfied_patterns(data):
    model = make(jax.random.PRNGKey(2), width=1)  # N = 6 ≪ P = 40
    _, history = train.adam(model, js.QuadraticHinge(), data, steps=3_000, lr=1e-2, progress=False)
    assert not bool(history.fitted)
    assert int(history.step[-1]) == 3_000
    assert int(history.n_unsatisfied[-1]) > 0
    assert float(history.loss[-1]) < float(history.loss[0])


def test_same_key_same_bits(data):
    key = jax.random.PRNGKey(3)
    runs = [train.sgd(make(key), js.QuadraticHinge(), data, steps=200, key=key, batch_size=8, progress=False)
            for _ in range(2)]  # fmt: skip
    assert leaves_equal(runs[0][0], runs[1][0])
    other = train.sgd(make(key), js.QuadraticHinge(), data, steps=200, key=jax.random.PRNGKey(4),
                      batch_size=8, progress=False)  # fmt: skip
    assert not leaves_equal(runs[0][0], other[0])


@pytest.mark.parametrize("method", ["adam", "gradient_flow"])
def test_ensemble_training_equals_separate_runs(data, method):
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    widths = {"adam": dict(lr=1e-2), "gradient_flow": {}}[method]
    run = getattr(train, method)
    loss = js.SoftHinge() if method == "gradient_flow" else js.QuadraticHinge()
    build = (lambda k: js.Centered(make(k, 8, "softplus"), 3.0)) if method == "gradient_flow" else make
    ens, hist = run(nets.ensemble(build, keys), loss, data, steps=400, ensemble=True, progress=False,
                    **widths)  # fmt: skip
    for i, k in enumerate(keys):
        single, h = run(build(k), loss, data, steps=400, progress=False, **widths)
        member = jax.tree.map(lambda leaf, i=i: leaf[i], ens)
        for a, b in zip(jax.tree.leaves(member), jax.tree.leaves(single), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        r = h.loss.shape[0]  # a single run stops recording when fitted; the ensemble member idles
        np.testing.assert_allclose(hist.loss[i, :r], h.loss, rtol=1e-9, atol=1e-14)
        np.testing.assert_array_equal(hist.step[i, :r], h.step)
        assert np.all(np.asarray(hist.step[i, r:]) == int(h.step[-1]))


def test_full_batch_sgd_is_gradient_descent(data):
    model = make(jax.random.PRNGKey(6), 8, "tanh")
    loss = js.MSE()
    lr, steps = 0.05, 5
    trained, _ = train.sgd(model, loss, data, steps=steps, key=jax.random.PRNGKey(0), lr=lr,
                           batch_size=data.n_train, progress=False)  # fmt: skip
    params, static = nets.partition(model)
    for _ in range(steps):
        grads = jax.grad(lambda p: js.losses.objective(loss, eqx.combine(p, static), data.x, data.y))(params)
        params = jax.tree.map(lambda p, g: p - lr * g, params, grads)
    for a, b in zip(jax.tree.leaves(nets.partition(trained)[0]), jax.tree.leaves(params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_weight_decay_shrinks_parameters(data):
    model = make(jax.random.PRNGKey(7), 8, "tanh")
    kw = dict(steps=300, key=jax.random.PRNGKey(0), lr=0.05, batch_size=10, progress=False)
    plain, _ = train.sgd(model, js.MSE(), data, **kw)
    decayed, _ = train.sgd(model, js.MSE(), data, weight_decay=0.05, **kw)
    assert float(jnp.linalg.norm(nets.flat_params(decayed))) < float(jnp.linalg.norm(nets.flat_params(plain)))


def test_gradient_flow_reaches_the_alpha_margin_criterion(data):
    alpha = 2.0
    model = js.Centered(make(jax.random.PRNGKey(8), 32, "softplus"), alpha)
    trained, history = train.gradient_flow(model, js.SoftHinge(), data, steps=20_000, progress=False)
    assert bool(history.fitted)
    # thesis ch. 3 §2: stop when α (f(w, x) − f(w0, x)) y > 1 for every training pattern
    assert float(jnp.min(nets.outputs(trained, data.x) * data.y)) > 1.0
    assert np.all(np.diff(np.asarray(history.time)) >= 0)
    assert float(history.time[-1]) > 0


def test_gradient_flow_step_respects_eq_8_and_adapts_dt(data):
    model = js.Centered(make(jax.random.PRNGKey(9), 8, "softplus"), 10.0)
    loss = js.SoftHinge()
    method = train.GradientFlow(dt0=1e6)
    state = method.init(model, loss, data.x, data.y, None)
    out = method.step(model, state, loss, data.x, data.y, 0)
    assert not bool(out.advanced)  # a huge step is rejected …
    assert float(out.state["dt"]) == pytest.approx(1e5)  # … and dt divided by 10
    method = train.GradientFlow(dt0=1e-3)
    state = method.init(model, loss, data.x, data.y, None)
    out = method.step(model, state, loss, data.x, data.y, 0)
    assert bool(out.advanced)
    change = jnp.max(jnp.abs(nets.outputs(out.model, data.x) - nets.outputs(model, data.x)))
    assert float(change) < method.max_output_change


def test_adam_schedule_and_snapshots(data):
    model = make(jax.random.PRNGKey(10), 2)
    options = dict(lr=1e-2, decay_every=100, lr_floor=1e-5, n_snapshots=8, stop_when_fitted=False)
    trained, history = train.adam(model, js.QuadraticHinge(), data, steps=1_000, progress=False, **options)
    steps = np.asarray(history.step)
    expected = np.maximum(1e-2 * 0.1 ** np.floor(np.maximum(steps - 1, 0) / 100), 1e-5)
    np.testing.assert_allclose(np.asarray(history.step_size)[1:], expected[1:], rtol=1e-6)
    assert history.snapshots.shape == (history.snapshot_step.shape[0], nets.n_params(model))
    np.testing.assert_array_equal(history.snapshots[0], nets.flat_params(model))
    assert int(history.snapshot_step[-1]) == 1_000
    np.testing.assert_array_equal(history.snapshots[-1], nets.flat_params(trained))


def test_log_spaced_steps():
    s = np.asarray(train.log_spaced_steps(10_000, 30))
    assert s[0] == 0 and s[-1] == 10_000 and np.all(np.diff(s) > 0)


def test_bad_input_is_named(data):
    model = make(jax.random.PRNGKey(0))
    loss = js.QuadraticHinge()
    with pytest.raises(ValueError, match="steps"):
        train.adam(model, loss, data, steps=0, progress=False)
    with pytest.raises(ValueError, match="lr"):
        train.adam(model, loss, data, steps=10, lr=-1.0, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train.sgd(model, loss, data, steps=10, key=jax.random.PRNGKey(0), batch_size=0, progress=False)
    with pytest.raises(ValueError, match="data.x"):
        train.adam(js.FCNet(jax.random.PRNGKey(0), 3, 4, 1), loss, data, steps=10, progress=False)
    multi = js.data.digits(jax.random.PRNGKey(0), n_train=50, binary=False)
    with pytest.raises(ValueError, match="binary labels"):
        train.adam(js.FCNet(jax.random.PRNGKey(0), 64, 4, 1), loss, multi, steps=10, progress=False)


class _Point(eqx.Module):
    w: jax.Array


class _Bowl(js.losses.AbstractObjective):
    """½ ‖w − a‖²: the gradient flow is w(t) = a + (w₀ − a) e^(−t), the objective ½‖w₀ − a‖² e^(−2t)."""

    a: jax.Array

    def value_and_outputs(self, model):
        return 0.5 * jnp.sum((model.w - self.a) ** 2), model.w


def test_gradient_flow_of_an_objective_follows_the_exact_flow_in_time():
    bowl, start = _Bowl(jnp.array([1.0, -2.0, 0.5])), _Point(jnp.zeros(3))
    trained, history = train.gradient_flow(start, bowl, None, steps=3_000, progress=False)
    t, value = np.asarray(history.time), np.asarray(history.loss)
    exact = 0.5 * float(jnp.sum(bowl.a**2)) * np.exp(-2 * t)
    # Euler steps: ln(1 − dt)² = −2 dt − dt² − O(dt³), so ln(L/L_exact) = −t dt (1 + O(dt))
    dt = float(np.max(history.step_size))
    assert np.all(np.abs(np.log(value / exact)) <= 1.1 * t * dt + 1e-12)
    assert 0 < float(np.max(history.step_size)) <= 0.02  # eq. 9's bound: dt² ≲ 10⁻⁴
    assert float(history.time[-1]) > 5.0 and int(history.outcome) == js.end_state.UNDECIDED
    assert not bool(history.fitted)
    # an ensemble of starting points trains vmapped, each in its own time
    starts = _Point(jnp.stack([jnp.zeros(3), jnp.ones(3)]))
    _, both = train.gradient_flow(starts, bowl, None, steps=500, ensemble=True, progress=False)
    assert both.loss.shape[0] == 2 and float(both.loss[1, 0]) == pytest.approx(0.5 * (0 + 9 + 0.25))


def test_an_objective_refuses_data_sgd_and_an_end_criterion(data):
    bowl, start = _Bowl(jnp.zeros(2)), _Point(jnp.ones(2))
    with pytest.raises(ValueError, match="data"):
        train.gradient_flow(start, bowl, data, steps=10, progress=False)
    with pytest.raises(ValueError, match="full-batch"):
        train.train(start, bowl, None, train.SGD(), steps=10, key=jax.random.PRNGKey(0), progress=False)
    with pytest.raises(ValueError, match="data"):
        train.gradient_flow(make(jax.random.PRNGKey(0)), js.QuadraticHinge(), None, steps=10, progress=False)
