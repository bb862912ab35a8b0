"""End states: the plateau test on constructed trajectories, the three outcomes on problems whose
answer is known (a linear model on separable data fits; on non-separable data its convex minimum,
found by a convex solve, is jammed; a run stopped early is undecided), independence of the
chunking of the steps, force balance against a dense computation, frozen patterns on a network
built by hand, and the Newton test."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.flatten_util import ravel_pytree
from jaxtyping import TypeCheckError
from scipy.optimize import minimize

from jamscope import data, end_state, losses, nets, train
from jamscope.end_state import FITTED, JAMMED, UNDECIDED, EndCriterion


class Linear(nets.AbstractNet):
    """f(x) = w·x + b: the quadratic hinge is convex in (w, b), its minimum known by a convex solve."""

    w: jax.Array
    b: jax.Array
    input_shape: tuple[int, ...] = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True, default=1)

    def __init__(self, key, dim):
        self.w = 0.1 * jax.random.normal(key, (dim,))
        self.b = jnp.zeros(())
        self.input_shape = (dim,)

    def __call__(self, x):
        return self.w @ x + self.b


LOSS = losses.QuadraticHinge(margin=0.5)
CRITERION = EndCriterion(plateau=1e-2, min_steps=1000)


def convex_minimum(ds: data.Dataset) -> float:
    """min over (w, b) of (1/2P) Σ max(0, ε − y(w·x + b))², by L-BFGS on the convex C¹ objective."""
    x, y = np.asarray(ds.x), np.asarray(ds.y)

    def value_and_grad(v):
        gap = 0.5 - y * (x @ v[:-1] + v[-1])
        push = np.maximum(gap, 0.0)
        grad = -(push * y) @ np.concatenate([x, np.ones((x.shape[0], 1))], axis=1) / x.shape[0]
        return 0.5 * np.mean(push**2), grad

    result = minimize(value_and_grad, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-14, "ftol": 1e-16, "maxiter": 10_000})  # fmt: skip
    return float(result.fun)


def separable(key, n, dim) -> data.Dataset:
    ds = data.random_sphere(key, n, dim)
    return data.Dataset(ds.x, jnp.where(ds.x[:, 0] + 0.3 * ds.x[:, 1] > 0, 1.0, -1.0))


# ----------------------------------------------------------------------------------------------
# The plateau test on constructed trajectories


def _grid(n=60, steps=10**6):
    return np.asarray(train.log_spaced_steps(steps, n))


def test_judge_fitted_jammed_and_undecided_trajectories():
    step = _grid()
    lr = np.full(step.size, 1e-4)
    n_unsat = np.full(step.size, 5)
    flat = 0.1 + 0.0 * step
    falling = 0.1 / (1.0 + step / 100.0)  # falls by a factor ≈ 10 per decade: never jammed
    fitting = n_unsat.copy()
    fitting[40:] = 0
    outcome, record, _ = end_state.judge(
        np.stack([step] * 3), np.stack([step * 1e-4] * 3), np.stack([flat, falling, falling]),
        np.stack([n_unsat, n_unsat, fitting]), np.stack([lr] * 3), CRITERION,
    )  # fmt: skip
    assert outcome.tolist() == [JAMMED, UNDECIDED, FITTED]
    # jammed at the first record ≥ min_steps whose decade back starts at a record; fitted at record 40
    assert step[record[0]] >= CRITERION.min_steps and record[2] == 40 and record[1] == step.size - 1


def test_judge_needs_a_constant_learning_rate_on_the_window():
    """A loss flattened by a decaying learning rate is not a jammed state: its clock τ = Σ lr slows
    down, and a decade of time back reaches the larger rate."""
    step = _grid(80, 10**7)
    loss = np.where(step < 3 * 10**5, 0.1 / (1.0 + step / 100.0), 0.1 / (1.0 + 3e5 / 100.0))
    decaying = np.where(step < 3 * 10**5, 1e-4, 1e-9)
    time = np.where(step < 3 * 10**5, 1e-4 * step, 30.0 + 1e-9 * (step - 3 * 10**5))
    n_unsat = np.full(step.size, 5)
    assert end_state.judge(step, time, loss, n_unsat, decaying, CRITERION)[0] == UNDECIDED
    constant = np.full(step.size, 1e-4)
    outcome, record, decrease = end_state.judge(step, 1e-4 * step, loss, n_unsat, constant, CRITERION)
    assert outcome == JAMMED and step[record] >= 3 * 10**6  # a whole decade after the loss stopped
    assert decrease <= CRITERION.plateau


@settings(max_examples=20, deadline=None)
@given(
    exponent=st.floats(0.005, 0.5), plateau=st.sampled_from([1e-3, 1e-2, 5e-2]), offset=st.floats(0.0, 1.0)
)
def test_judge_power_law_creep_is_jammed_exactly_when_a_decade_loses_less_than_the_tolerance(
    exponent, plateau, offset
):
    """L(t) = L∞ + t^(−a): the first decade [t/10, t] with (L(t/10) − L(t))/L(t) ≤ `plateau` is the
    verdict; the test must find it at the first record where the closed form says so."""
    step = _grid(200, 10**7)
    loss = offset + (1.0 + step) ** -exponent
    criterion = EndCriterion(plateau=plateau, min_steps=100)
    outcome, record, decrease = end_state.judge(
        step, 1e-3 * step, loss, np.full(step.size, 3), np.full(step.size, 1e-3), criterion
    )
    back = np.searchsorted(step, step / 10.0, side="right") - 1
    expected = (loss[back] - loss) / loss
    ok = (step >= 100) & (back >= 0) & (back != np.arange(step.size)) & (expected <= plateau)
    if ok.any():
        assert outcome == JAMMED and record == np.argmax(ok)
        assert decrease == pytest.approx(expected[record])
    else:
        assert outcome == UNDECIDED


def test_criterion_and_judge_reject_bad_input():
    with pytest.raises(ValueError, match="plateau"):
        EndCriterion(plateau=0.0)
    with pytest.raises(ValueError, match="min_steps"):
        EndCriterion(min_steps=0)
    step = _grid(20)
    with pytest.raises(TypeError, match="loss"):  # jaxtyping: R differs
        end_state.judge(step, 1.0 * step, np.ones(3), np.ones(20, int), np.ones(20), CRITERION)
    with pytest.raises(ValueError, match="`loss` must be finite"):
        end_state.judge(step, 1.0 * step, np.full(20, np.nan), np.ones(20, int), np.ones(20), CRITERION)
    with pytest.raises(ValueError, match="`learning_rate` must be ≥ 0"):
        end_state.judge(step, 1.0 * step, np.ones(20), np.ones(20, int), -np.ones(20), CRITERION)


# ----------------------------------------------------------------------------------------------
# The three outcomes on problems with a known answer


def _train(model, ds, steps, lr=1e-2, **options):
    return train.train(model, LOSS, ds, train.Adam(lr=lr), steps=steps, end=CRITERION, progress=False,
                       **options)  # fmt: skip


def test_separable_data_end_fitted_with_a_positive_margin():
    key = jax.random.PRNGKey(0)
    ds = separable(key, 40, 3)
    model, history = _train(Linear(key, 3), ds, 20_000)
    assert int(history.outcome) == FITTED and bool(history.fitted)
    gaps = np.asarray(LOSS.gaps(nets.outputs(model, ds.x), ds.y))
    assert gaps.max() < 0  # N_Δ = 0 exactly: every Δ_μ < 0 in float64


def test_non_separable_data_end_jammed_at_the_convex_minimum():
    """Random labels, P = 40 ≫ 2d: no linear separator, the minimum L* > 0 is known by a convex
    solve; the run must end jammed there (up to Adam's noise at its learning rate)."""
    key = jax.random.PRNGKey(1)
    ds = data.random_sphere(key, 40, 3)
    l_star = convex_minimum(ds)
    assert l_star > 1e-3
    model, history = _train(Linear(key, 3), ds, 200_000, lr=1e-3)
    assert int(history.outcome) == JAMMED
    assert float(history.loss[-1]) == pytest.approx(l_star, rel=1e-2)
    assert int(history.step[-1]) < 200_000  # it stopped when judged, before the budget
    # the Newton test certifies the same minimum, to the precision of the convex solve
    polished = end_state.newton_minimum(LOSS, model, ds)
    assert polished.certified and polished.loss == pytest.approx(l_star, rel=1e-9)


def test_a_run_stopped_early_is_undecided():
    key = jax.random.PRNGKey(1)
    ds = data.random_sphere(key, 40, 3)
    _, history = _train(Linear(key, 3), ds, 500, lr=1e-3)  # below min_steps: nothing is judged
    assert int(history.outcome) == UNDECIDED and not bool(history.fitted)


def test_the_outcome_does_not_depend_on_the_chunking_of_the_steps():
    """Different record grids and extra snapshot boundaries split the same run differently."""
    key = jax.random.PRNGKey(2)
    jam = data.random_sphere(key, 40, 3)
    fit = separable(key, 40, 3)
    for ds, expected in ((jam, JAMMED), (fit, FITTED)):
        runs = [
            _train(Linear(key, 3), ds, 100_000, lr=1e-3, n_records=60),
            _train(Linear(key, 3), ds, 100_000, lr=1e-3, n_records=150),
            _train(Linear(key, 3), ds, 100_000, lr=1e-3, snapshot_steps=jnp.arange(0, 90_000, 997)),
        ]
        assert [int(h.outcome) for _, h in runs] == [expected] * 3
        losses_ = [float(h.loss[-1]) for _, h in runs]
        np.testing.assert_allclose(losses_, losses_[0], rtol=CRITERION.plateau)
        if expected == FITTED:  # fitting is checked at every step: the very same step
            assert len({int(h.step[-1]) for _, h in runs}) == 1


def test_ensemble_members_stop_on_their_own_verdict():
    key = jax.random.PRNGKey(3)
    ds = data.random_sphere(key, 40, 3)
    keys = jax.random.split(key, 3)
    models = nets.ensemble(lambda k: Linear(k, 3), keys)
    _, history = _train(models, ds, 200_000, lr=1e-3, ensemble=True)
    singles = [_train(Linear(k, 3), ds, 200_000, lr=1e-3)[1] for k in keys]
    assert history.outcome.tolist() == [int(h.outcome) for h in singles] == [JAMMED] * 3
    np.testing.assert_array_equal(history.step[:, -1], [int(h.step[-1]) for h in singles])


def test_end_needs_a_full_batch_method():
    key = jax.random.PRNGKey(0)
    ds = data.random_sphere(key, 20, 3)
    with pytest.raises(ValueError, match="end"):
        train.train(Linear(key, 3), LOSS, ds, train.SGD(batch_size=5), steps=10, key=key, end=CRITERION,
                    progress=False)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Forces and the Newton test


def test_force_balance_against_a_dense_computation():
    key = jax.random.PRNGKey(4)
    ds = data.random_sphere(key, 30, 4)
    model = nets.MLP(key, 4, 5, 2, "tanh", init="orthogonal")
    theta, unravel = ravel_pytree(nets.partition(model)[0])
    static = nets.partition(model)[1]

    def gaps(th):
        return LOSS.gaps(jax.vmap(eqx.combine(unravel(th), static))(ds.x), ds.y)

    delta = gaps(theta)
    jac = jax.jacfwd(gaps)(theta)
    grad = jax.grad(lambda th: jnp.mean(0.5 * jnp.maximum(gaps(th), 0) ** 2))(theta)
    total = jnp.sum(jnp.maximum(delta, 0) * jnp.linalg.norm(jac, axis=1)) / 30
    value = float(end_state.force_balance(LOSS, model, ds))
    assert value == pytest.approx(float(jnp.linalg.norm(grad) / total), rel=1e-10)
    assert 0.0 <= value <= 1.0


def test_force_balance_is_nan_without_unsatisfied_patterns():
    key = jax.random.PRNGKey(0)
    ds = separable(key, 20, 3)
    model, _ = _train(Linear(key, 3), ds, 20_000)
    assert np.isnan(float(end_state.force_balance(LOSS, model, ds)))


# ----------------------------------------------------------------------------------------------
# Frozen patterns: unsatisfied patterns on dead units


def _frozen_problem(output_bias: float):
    """A ReLU MLP (d = 2, h = 3, L = 2) built by hand: x = 0 and x = (−1, −1) switch every unit off
    (f = output bias there), x = (1, 1) and (2, 0) do not."""
    model = nets.MLP(jax.random.PRNGKey(0), 2, 3, 2, "relu")
    weights = (jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), jnp.eye(3), jnp.ones((1, 3)))
    biases = (jnp.zeros(3), jnp.zeros(3), jnp.array([output_bias]))
    model = eqx.tree_at(lambda m: (m.weights, m.biases), model, (weights, biases))
    x = jnp.array([[0.0, 0.0], [1.0, 1.0], [-1.0, -1.0], [2.0, 0.0]])
    return model, data.Dataset(x, jnp.array([1.0, -1.0, -1.0, 1.0]))


@pytest.mark.parametrize("output_bias, expected", [(0.0, 2), (-1.0, 1), (2.0, 1)])
def test_frozen_patterns_are_the_unsatisfied_ones_no_weight_but_the_output_bias_moves(output_bias, expected):
    model, ds = _frozen_problem(output_bias)
    count = int(end_state.frozen_patterns(LOSS, model, ds))
    assert count == expected
    # the definition, checked by its consequence: ∇_θ f(x_μ) is the output bias's unit vector
    params, static = nets.partition(model)
    theta, unravel = ravel_pytree(params)
    grads = jax.vmap(jax.grad(lambda th, x: eqx.combine(unravel(th), static)(x)), (None, 0))(theta, ds.x)
    only_bias = np.all(np.asarray(grads[:, :-1]) == 0, axis=1) & (np.asarray(grads[:, -1]) == 1)
    unsatisfied = np.asarray(LOSS.gaps(jax.vmap(model)(ds.x), ds.y)) > 0
    assert count == np.sum(only_bias & unsatisfied)
    smooth = nets.MLP(jax.random.PRNGKey(0), 2, 3, 2, "tanh")
    smooth = eqx.tree_at(lambda m: (m.weights, m.biases), smooth, (model.weights, model.biases))
    assert int(end_state.frozen_patterns(LOSS, smooth, ds)) == 0  # tanh(0) = 0, but tanh′(0) = 1
    with pytest.raises(TypeError, match="model"):
        end_state.frozen_patterns(LOSS, Linear(jax.random.PRNGKey(0), 2), ds)


def test_a_pattern_dead_at_the_first_layer_is_frozen_though_the_last_layer_is_on():
    """The same hand-built net with second-layer biases 1 and output bias −3: x = 0 and (−1, −1)
    switch the first layer off, the second sees its biases only (all on), and f = 3 − 3 = 0 on both.
    Their labels differ, so one output cannot satisfy both: 2 frozen patterns, whose gradients are
    equal and vanish along the first layer."""
    model, ds = _frozen_problem(-3.0)
    model = eqx.tree_at(lambda m: m.biases[1], model, jnp.ones(3))
    assert all(bool(jnp.all(z > 0)) for z in model.preactivations(ds.x[0])[1:])  # the last layer is on
    assert int(end_state.frozen_patterns(LOSS, model, ds)) == 2
    params, static = nets.partition(model)
    theta, unravel = ravel_pytree(params)
    grads = jax.vmap(jax.grad(lambda th, x: eqx.combine(unravel(th), static)(x)), (None, 0))(theta, ds.x)
    marks = eqx.tree_at(lambda m: (m.weights[0], m.biases[0]), jax.tree.map(jnp.zeros_like, params),
                        (jnp.ones((3, 2)), jnp.ones(3)))  # fmt: skip
    first = np.asarray(ravel_pytree(marks)[0]) == 1  # the first layer's weights and biases
    grads = np.asarray(grads)
    np.testing.assert_array_equal(grads[0], grads[2])
    assert np.all(grads[[0, 2]][:, first] == 0) and np.any(grads[[1, 3]][:, first] != 0)


def test_mark_frozen_only_relabels_jammed_runs_held_by_frozen_patterns():
    outcome = np.array([JAMMED, JAMMED, FITTED, UNDECIDED, JAMMED])
    n_delta = np.array([10, 10, 0, 10, 3])
    n_frozen = np.array([10, 4, 0, 10, 0])
    marked = end_state.mark_frozen(outcome, n_delta, n_frozen)
    np.testing.assert_array_equal(marked, [end_state.FROZEN, JAMMED, FITTED, UNDECIDED, JAMMED])
    assert end_state.OUTCOMES[end_state.FROZEN] == "frozen"
    with pytest.raises(TypeCheckError, match="n_frozen"):
        end_state.mark_frozen(outcome, n_delta, n_frozen[:2])


def test_train_ends_a_run_held_by_dead_units_frozen():
    """The second hidden layer switched off on every pattern (bias −10): only the output bias moves,
    it sits at the optimum for balanced labels, the loss is flat and the plateau test passes, and
    all four unsatisfied patterns are frozen; the same weights with tanh are jammed, never frozen,
    and a linear model (no hidden layer) is not judged."""
    model, ds = _frozen_problem(0.0)
    dead = eqx.tree_at(lambda m: m.biases[1], model, jnp.full(3, -10.0))
    smooth = eqx.tree_at(lambda m: (m.weights, m.biases), nets.MLP(jax.random.PRNGKey(0), 2, 3, 2, "tanh"),
                         (dead.weights, dead.biases))  # fmt: skip
    assert end_state.can_freeze(dead) and not end_state.can_freeze(Linear(jax.random.PRNGKey(0), 2))
    end = EndCriterion(min_steps=100)
    method = train.Adam(lr=1e-2)
    _, history = train.train(dead, LOSS, ds, method, steps=2_000, end=end, progress=False)
    assert int(history.outcome) == end_state.FROZEN and int(history.n_frozen) == 4
    assert int(history.n_unsatisfied[-1]) == 4
    pair = jax.tree.map(lambda a: jnp.stack([a, a]) if eqx.is_array(a) else a, dead)
    _, both = train.train(pair, LOSS, ds, method, steps=2_000, end=end, ensemble=True, progress=False)
    np.testing.assert_array_equal(both.outcome, [end_state.FROZEN] * 2)
    np.testing.assert_array_equal(both.n_frozen, [4, 4])
    _, tanh = train.train(smooth, LOSS, ds, method, steps=2_000, end=end, progress=False)
    assert int(tanh.n_frozen) == 0 and int(tanh.outcome) != end_state.FROZEN
    _, linear = train.train(Linear(jax.random.PRNGKey(0), 2), LOSS, ds, method, steps=100, end=end,
                            progress=False)  # fmt: skip
    assert int(linear.n_frozen) == 0


def test_newton_certificate_agrees_with_a_dense_float64_check():
    """At the convex minimum of a linear model the dense gradient vanishes relative to the forces
    and the dense Hessian has no negative direction: what the Newton test certified."""
    key = jax.random.PRNGKey(1)
    ds = data.random_sphere(key, 40, 3)
    result = end_state.newton_minimum(LOSS, Linear(key, 3), ds)
    assert result.certified and result.loss > 0 and result.n_delta > 0
    assert result.loss == pytest.approx(convex_minimum(ds), rel=1e-9)
    theta, unravel = ravel_pytree(nets.partition(result.model)[0])
    static = nets.partition(result.model)[1]

    def objective(th):
        return jnp.mean(LOSS.value(jax.vmap(eqx.combine(unravel(th), static))(ds.x), ds.y))

    eigenvalues = np.linalg.eigvalsh(np.asarray(jax.hessian(objective)(theta)))
    assert eigenvalues[0] >= -1e-9 * eigenvalues[-1]
    assert float(end_state.force_balance(LOSS, result.model, ds)) == pytest.approx(result.force_balance)
    assert result.force_balance <= 1e-9


def test_newton_does_not_certify_a_run_that_drifts_to_infinity():
    """A tanh net far above its capacity lowers its loss by saturating its units: the weights grow
    without bound along a direction of vanishing curvature, there is no minimum at finite weights,
    and the Newton test must say so rather than certify."""
    key = jax.random.PRNGKey(2)
    ds = data.random_sphere(key, 50, 2, center=True, balanced=True)
    model = nets.MLP(jax.random.fold_in(key, 7), 2, 3, 1, "tanh", init="orthogonal")
    model, _ = train.train(model, LOSS, ds, train.Adam(lr=1e-2), steps=5000, progress=False)
    result = end_state.newton_minimum(LOSS, model, ds)
    assert not result.certified and result.iterations == 100
    growth = np.linalg.norm(nets.flat_params(result.model)) / np.linalg.norm(nets.flat_params(model))
    assert growth > 10


def test_newton_reports_a_run_on_its_way_to_fit():
    key = jax.random.PRNGKey(6)
    ds = separable(key, 20, 3)
    model = Linear(key, 3)
    result = end_state.newton_minimum(LOSS, model, ds)
    assert not result.certified
    assert result.loss <= 1e-24 or result.n_delta == 0
