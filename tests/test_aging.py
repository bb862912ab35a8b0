"""Aging observables (003): MSD, relaxation times, μ, collapse, gradient norms, Hessian spectra, and the
networks, data and training set-up of the paper."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jamscope as js
from jamscope import aging, data, nets, train

KEY = jax.random.PRNGKey(0)
T_W, LAGS = aging.aging_grid(100_000, 10, 40, first_waiting=100, last_waiting=20_000)
STEPS = aging.snapshot_schedule(T_W, LAGS, 100_000)


def _trajectory(function, n_coordinates=50, key=KEY):
    """θ_i(s) = a_i function(s) at the snapshot steps, a_i ~ N(0, 1)."""
    a = jax.random.normal(key, (n_coordinates,))
    return function(jnp.asarray(STEPS, float))[:, None] * a[None, :], float(jnp.mean(a**2))


def _random_walk(key, runs, n_coordinates, sigma):
    """Independent Gaussian increments of variance σ² per step, exactly sampled at the snapshot steps."""
    gaps = jnp.diff(jnp.asarray(STEPS, float), prepend=0.0)
    steps = jax.random.normal(key, (runs, STEPS.size, n_coordinates)) * sigma * jnp.sqrt(gaps)[None, :, None]
    return jnp.cumsum(steps, axis=1)


def test_grids_and_schedule():
    assert T_W[0] == 100 and T_W[-1] == 20_000 and np.all(np.diff(T_W) > 0)
    assert LAGS[0] == 0 and LAGS[1] == 1 and np.all(np.diff(LAGS) > 0)
    assert STEPS[0] == 0 and STEPS[-1] <= 100_000 and np.all(np.diff(STEPS) > 0)
    wanted = {int(w + t) for w in T_W for t in LAGS if w + t <= 100_000}
    assert wanted <= set(STEPS.tolist()) and len(STEPS) <= len(T_W) * len(LAGS) + 1


def test_msd_is_zero_at_zero_lag_and_matches_the_definition():
    theta, _ = _trajectory(lambda s: jnp.sqrt(s))
    delta = aging.msd(theta, STEPS, T_W, LAGS)
    assert delta.shape == (T_W.size, LAGS.size)
    np.testing.assert_array_equal(delta[:, 0], 0.0)
    position = {int(s): i for i, s in enumerate(STEPS)}
    for i, w in enumerate(T_W[:3]):
        for j, t in enumerate(LAGS[::7]):
            direct = jnp.mean((theta[position[int(w)]] - theta[position[int(w + t)]]) ** 2)
            assert delta[i, 7 * j] == pytest.approx(float(direct), rel=1e-12)
    beyond = T_W[-1] + LAGS > 100_000
    assert np.all(np.isnan(delta[-1][beyond])) and np.all(np.isfinite(delta[-1][~beyond]))


def test_msd_uses_the_two_snapshots_symmetrically():
    """Δ(s₁, s₂) of a trajectory equals Δ(T − s₂, T − s₁) of the time-reversed one."""
    total = 100_000
    theta = _random_walk(KEY, 1, 30, 1e-3)[0]
    reversed_steps = total - STEPS[::-1]
    forward = aging.msd(theta, STEPS, T_W[:4], LAGS[:20])
    backward_waiting = np.array([total - w - t for w in T_W[:4] for t in LAGS[1:20]])
    for k, (w, t) in enumerate([(w, t) for w in T_W[:4] for t in LAGS[1:20]]):
        later = backward_waiting[k]
        value = aging.msd(theta[::-1], reversed_steps, np.array([later]), np.array([t]))[0, 0]
        assert value == pytest.approx(
            float(forward[list(T_W[:4]).index(w), list(LAGS[:20]).index(t)]), rel=1e-12
        )


def test_msd_over_runs_and_bad_inputs():
    theta = _random_walk(KEY, 3, 20, 1e-3)
    assert aging.msd(theta, STEPS, T_W, LAGS).shape == (3, T_W.size, LAGS.size)
    with pytest.raises(ValueError, match="`t_w`"):
        aging.msd(theta, STEPS, np.array([99]), LAGS)
    with pytest.raises(ValueError, match="`t`"):
        aging.msd(theta, STEPS, T_W, np.array([0, 3, 7]))
    with pytest.raises((ValueError, TypeError), match="snapshot_steps"):  # TypeError: the jaxtyping hook
        aging.msd(theta, STEPS[:-1], T_W, LAGS)
    with pytest.raises(ValueError, match="`delta_star`"):
        aging.relaxation_time(LAGS, jnp.ones(LAGS.size), -1.0)


@given(exponent=st.floats(0.5, 3.0), prefactor=st.floats(1e-6, 1e-3))
@settings(max_examples=15)
def test_relaxation_time_is_exact_for_power_laws(exponent, prefactor):
    """Log–log interpolation is exact when Δ = c t^a between grid points: t* = (Δ*/c)^(1/a)."""
    t = jnp.asarray(LAGS, float)
    delta = prefactor * t**exponent
    expected = (1e-2 / prefactor) ** (1 / exponent)
    value = float(aging.relaxation_time(LAGS, delta))
    if 1.0 < expected <= LAGS[-1]:
        assert value == pytest.approx(expected, rel=1e-9)
    else:
        assert math.isnan(value)


def test_relaxation_time_needs_a_bracketing_point():
    never = aging.relaxation_time(LAGS, jnp.full(LAGS.size, 1e-3).at[0].set(0.0))
    already = aging.relaxation_time(LAGS, jnp.full(LAGS.size, 1.0).at[0].set(0.0))
    assert math.isnan(float(never)) and math.isnan(float(already))


def test_logarithmic_trajectory_ages_simply():
    """θ(t) = a log t: Δ = ⟨a²⟩ log²(1 + t/t_w), so t* = t_w (e^√(Δ*/⟨a²⟩) − 1) and μ = 1."""
    theta, a2 = _trajectory(lambda s: 0.05 * jnp.log(jnp.maximum(s, 1.0)))
    t_star = aging.relaxation_time(LAGS, aging.msd(theta, STEPS, T_W, LAGS))
    expected = T_W * (math.exp(math.sqrt(1e-2 / (0.05**2 * a2))) - 1)
    finite = np.isfinite(np.asarray(t_star))
    assert finite.sum() >= 6
    np.testing.assert_allclose(np.asarray(t_star)[finite], expected[finite], rtol=0.01)
    fit = aging.fit_aging_exponent(T_W, t_star)
    assert fit.exponent == pytest.approx(1.0, abs=0.01) and math.isnan(fit.ci_low)


def test_power_law_trajectory_subages():
    """θ(t) = a t^(1−μ), μ = 0.7: Δ ≈ ⟨a²⟩ (1−μ)² t² t_w^(−2μ) for t ≪ t_w, so t* ∝ t_w^0.7
    (tolerance 0.03)."""
    theta, _ = _trajectory(lambda s: 2.0 * s**0.3)
    t_star = aging.relaxation_time(LAGS, aging.msd(theta, STEPS, T_W, LAGS))
    assert np.all(np.asarray(t_star) < 0.1 * T_W)
    assert aging.fit_aging_exponent(T_W, t_star).exponent == pytest.approx(0.7, abs=0.03)


def test_stationary_random_walk_does_not_age():
    """A random walk is time-translation invariant: Δ = σ² t for every t_w, t* = Δ*/σ², μ = 0. Eight runs
    of 400 coordinates: μ within 0.03 of 0 and inside its bootstrap interval."""
    theta = _random_walk(jax.random.PRNGKey(3), 8, 400, 1e-3)
    t_star = aging.relaxation_time(LAGS, aging.msd(theta, STEPS, T_W, LAGS))
    np.testing.assert_allclose(np.exp(np.mean(np.log(np.asarray(t_star)), axis=0)), 1e4, rtol=0.1)
    fit = aging.fit_aging_exponent(T_W, t_star, n_boot=300)
    assert abs(fit.exponent) < 0.03 and fit.ci_low <= 0.0 <= fit.ci_high and fit.n_repeats == 8


def test_collapse_finds_the_aging_exponent():
    logarithmic, _ = _trajectory(lambda s: 0.05 * jnp.log(jnp.maximum(s, 1.0)))
    delta = aging.msd(logarithmic, STEPS, T_W, LAGS)
    assert aging.collapse_exponent(T_W, LAGS, delta) == pytest.approx(1.0, abs=0.02)
    assert aging.collapse_error(T_W, LAGS, delta, 1.0) < 1e-3 * aging.collapse_error(T_W, LAGS, delta, 0.5)
    walk = aging.msd(_random_walk(jax.random.PRNGKey(4), 8, 400, 1e-3), STEPS, T_W, LAGS).mean(axis=0)
    assert aging.collapse_exponent(T_W, LAGS, walk) == pytest.approx(0.0, abs=0.05)
    np.testing.assert_allclose(aging.scaled_lags(T_W, LAGS, 0.5)[:, 5], LAGS[5] / np.sqrt(T_W))


def test_fit_rejects_mismatched_columns():
    with pytest.raises((ValueError, TypeError), match="t_star"):  # TypeError: the jaxtyping hook
        aging.fit_aging_exponent(T_W, np.ones((2, T_W.size + 1)))


@pytest.mark.parametrize(
    ("in_dim", "widths", "n_classes", "counts"),
    [
        (2, (10, 5, 4), 4, (74, 69, 72)),
        (784, (5, 5, 5), 10, (3985, 4015, 4045)),
        (2, (1, 1, 1), 4, (11, 13, 15)),
    ],
)
def test_parameter_counts_of_the_paper(in_dim, widths, n_classes, counts):
    """003 App. A: LJAT19 (d = 2, K = 4), MNIST (d = 784, K = 10) and the minimal chain, H = 1, 2, 3."""
    for depth, (width, count) in enumerate(zip(widths, counts, strict=True), start=1):
        assert nets.mlp_n_params(in_dim, width, depth, n_classes) == count
        if width > 1:
            assert nets.width_for_params(in_dim, depth, n_classes, counts[2]) == width
    model = nets.MLP(KEY, 2, 4, 3, n_outputs=4)
    assert nets.n_params(model) == 72


def test_xavier_uniform_initialization():
    model = nets.MLP(KEY, 300, 200, 1, n_outputs=100)
    for w in model.weights:
        limit = math.sqrt(6 / sum(w.shape))
        assert float(jnp.max(jnp.abs(w))) <= limit
        assert float(jnp.var(w)) == pytest.approx(limit**2 / 3, rel=0.03)
    assert all(float(jnp.max(jnp.abs(b))) == 0.0 for b in model.biases)
    lecun = nets.MLP(KEY, 300, 200, 1, n_outputs=100, init="lecun_normal")
    assert float(jnp.var(lecun.weights[0])) == pytest.approx(1 / 300, rel=0.03)
    x = jnp.ones(300)
    assert model(x).shape == (100,) and nets.MLP(KEY, 300, 5, 2)(x).shape == ()


def test_ring_mixture_is_the_documented_stand_in():
    assert data.ring_mixture_bayes_accuracy(KEY, 100_000) == pytest.approx(0.80, abs=0.01)
    assert data.ring_mixture_bayes_accuracy(KEY, 20_000, spread=0.1) > 0.99
    sample = data.ring_mixture(KEY, 4000, 100)
    assert sample.x.shape == (4000, 2) and sample.n_classes == 4 and sample.x_test.shape == (100, 2)
    counts = np.bincount(np.asarray(sample.y), minlength=4)
    assert np.all(np.abs(counts - 1000) < 150)
    with pytest.raises(ValueError, match="`spread`"):
        data.ring_mixture(KEY, 10, spread=0.0)


@pytest.fixture(scope="module")
def trained():
    """Three SGD runs of 003's set-up (tanh, Xavier-uniform, CE + λ‖θ‖², lr 0.05, batch 100)."""
    problem = data.ring_mixture(KEY, 300)
    models = nets.ensemble(lambda k: nets.MLP(k, 2, 5, 2, n_outputs=4), jax.random.split(KEY, 3))
    t_w, lags = aging.aging_grid(600, 4, 12, first_waiting=10)
    steps = aging.snapshot_schedule(t_w, lags, 600)
    _, history = train.sgd(
        models, js.SoftmaxCrossEntropy(), problem, steps=600, key=KEY, batch_size=100, weight_decay=1e-4,
        snapshot_steps=jnp.asarray(steps), ensemble=True, progress=False,
    )  # fmt: skip
    return problem, history, steps, t_w, lags


def test_training_keeps_the_scheduled_snapshots(trained):
    problem, history, steps, t_w, lags = trained
    np.testing.assert_array_equal(history.snapshot_step[0], steps)
    assert history.snapshots.shape == (3, steps.size, 69)
    delta = aging.msd(history.snapshots, history.snapshot_step[0], t_w, lags)
    assert delta.shape == (3, t_w.size, lags.size) and float(jnp.nanmin(delta[:, :, 1:])) > 0
    assert np.all(np.diff(np.asarray(delta[:, 0, 1:]), axis=-1) > -1e-3)  # Δ grows with the lag


def test_gradient_norms_and_hessian_spectra_match_dense_references(trained):
    problem, history, steps, _, _ = trained
    template = nets.MLP(KEY, 2, 5, 2, n_outputs=4)
    loss = js.SoftmaxCrossEntropy()
    chosen = history.snapshots[1, jnp.asarray([0, steps.size - 1])]

    def objective(theta):
        model = nets.with_flat_params(template, theta)
        return js.losses.objective(loss, model, problem.x, problem.y) + 1e-4 * jnp.sum(theta**2)

    norms = aging.gradient_norms(loss, template, problem, history.snapshots, 1e-4)
    assert norms.shape == history.snapshots.shape[:2]
    for k, theta in enumerate(chosen):
        index = (0, steps.size - 1)[k]
        assert float(norms[1, index]) == pytest.approx(
            float(jnp.linalg.norm(jax.grad(objective)(theta))), rel=1e-10
        )
    spectra = aging.hessian_spectra(loss, template, problem, chosen, 1e-4)
    for theta, eigenvalues in zip(chosen, spectra, strict=True):
        dense = jax.hessian(objective)(theta)
        np.testing.assert_allclose(eigenvalues, jnp.linalg.eigvalsh(dense), atol=1e-10)
    rms = aging.gradient_norm_rms(steps, norms, after=100)
    assert rms.shape == (3,) and np.all(np.asarray(rms) > 0)
    with pytest.raises(ValueError, match="`after`"):
        aging.gradient_norm_rms(steps, norms, after=10_000)
    with pytest.raises(ValueError, match="`snapshots`"):
        aging.gradient_norms(loss, nets.MLP(KEY, 2, 6, 2, n_outputs=4), problem, history.snapshots)
