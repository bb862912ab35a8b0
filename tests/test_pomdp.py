"""The two-hypothesis POMDP of thesis ch. 7: the exact chain (Def. 2.3, Lemma 2.1, App. B), its invariances,
derivatives and a Monte-Carlo agent, the column of confidence (Def. 3.1, eqs. 6–7) and the necklace policy
(Def. 4.1, Thm. 4.3) against the closed forms and reference numbers."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jamscope import pomdp, train

MU = 0.1


def alpha(mu):
    return (1 - mu) / (1 + mu)


def memory_of(kind, size, seed):
    key = jax.random.key(seed)
    return pomdp.RAM.random(key, size) if kind == "ram" else pomdp.Memento.random(key, size)


MEMORIES = st.one_of(
    st.tuples(st.just("ram"), st.integers(1, 3), st.integers(0, 2**16)),
    st.tuples(st.just("memento"), st.integers(1, 2), st.integers(0, 2**16)),
)


# ----------------------------------------------------------------------------------------------
# Construction


def test_problem_and_memories_refuse_bad_values():
    for mu, reset in ((1.0, 0.1), (-0.1, 0.1), (0.1, 0.0), (0.1, 1.0), (float("nan"), 0.1)):
        with pytest.raises(ValueError, match="mu|reset"):
            pomdp.TwoHypothesis(mu, reset)
    problem = pomdp.TwoHypothesis(0.0, 0.5)  # μ = 0 is allowed
    assert float(problem.gamma) == 0.5 and float(problem.alpha) == 1.0
    with pytest.raises(ValueError, match="policy_logits"):
        pomdp.RAM(jnp.zeros((10, 5)), jnp.zeros(2))
    with pytest.raises(ValueError, match="policy_logits"):
        pomdp.RAM(jnp.zeros((10, 4)).at[0, 0].set(-jnp.inf), jnp.zeros(2))
    with pytest.raises(ValueError, match="policy_logits"):
        pomdp.Memento(jnp.zeros((20, 2)))
    with pytest.raises(ValueError, match="epsilon"):
        pomdp.column_of_confidence(3, 1.5)
    assert pomdp.Memento(jnp.zeros((21, 2))).length == 2
    assert pomdp.Memento(jnp.zeros((21, 2))).n_states == 20
    assert pomdp.RAM.random(jax.random.key(0), 3).n_states == 12


def test_float32_is_refused_and_float32_logits_are_computed_in_float64():
    problem = pomdp.TwoHypothesis(0.3, 0.05)
    memory = memory_of("ram", 2, 0)
    q64 = pomdp.worst_arm_probability(problem, memory)
    low = pomdp.RAM(memory.policy_logits.astype(jnp.float32), memory.reset_logits.astype(jnp.float32))
    q = pomdp.worst_arm_probability(problem, low)
    assert q.dtype == jnp.float64 and abs(float(q - q64)) < 1e-6
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="float64"):
            pomdp.worst_arm_probability(problem, memory)
    finally:
        jax.config.update("jax_enable_x64", True)


@given(arms=st.text("AB", min_size=1, max_size=6), data=st.data())
def test_history_index_round_trips(arms, data):
    rewards = data.draw(st.text("+-", min_size=len(arms), max_size=len(arms)))
    index = pomdp.history_index(arms, rewards)
    assert pomdp.history(index) == (arms, rewards)
    assert index % 4 == 2 * "AB".index(arms[-1]) + "-+".index(rewards[-1])  # the last play is s mod 4


def test_memento_shifts_as_in_def_2_6_with_the_rewards_corrected():
    # Def. 2.6: from AABB ++−− (most recent on the right), playing A and receiving +1 gives ABBA +−−+
    memory = pomdp.Memento(jnp.zeros((341, 2)).at[:, 1].set(pomdp.FORBIDDEN_LOGIT))  # m = 4, always A
    problem = pomdp.TwoHypothesis(0.4, 0.1)
    t, _ = pomdp.transition_matrix(problem, memory)
    start = pomdp.history_index("AABB", "++--")
    column = np.asarray(t[0, :, start])
    win, lose = pomdp.history_index("ABBA", "+--+"), pomdp.history_index("ABBA", "+---")
    assert np.flatnonzero(column).tolist() == sorted([win, lose])
    np.testing.assert_allclose(column[[win, lose]], [0.7, 0.3], rtol=1e-14)
    # a partial history grows without dropping anything
    column = np.asarray(t[1, :, pomdp.history_index("AB", "+-")])
    np.testing.assert_allclose(column[pomdp.history_index("ABA", "+-+")], 0.3, rtol=1e-14)


# ----------------------------------------------------------------------------------------------
# The chain


@given(spec=MEMORIES, mu=st.floats(0.05, 0.9), reset=st.floats(0.01, 0.5))
def test_chain_is_stochastic_and_the_solvers_agree(spec, mu, reset):
    problem, memory = pomdp.TwoHypothesis(mu, reset), memory_of(*spec)
    t, p0 = (np.asarray(a) for a in pomdp.transition_matrix(problem, memory))
    assert t.min() >= 0 and p0.min() >= 0
    np.testing.assert_allclose(t.sum(axis=1), 1.0, atol=1e-13)
    np.testing.assert_allclose(p0.sum(axis=1), 1.0, atol=1e-13)
    p = np.asarray(pomdp.steady_state(problem, memory))
    assert p.min() > -1e-15
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    # p = r p0′ + γ T p (App. A eq. 11) and the repeated squaring of Alg. 1
    np.testing.assert_allclose(p, reset * p0 + (1 - reset) * np.einsum("hij,hj->hi", t, p), atol=1e-13)
    np.testing.assert_allclose(pomdp.steady_state_power(problem, memory), p, atol=1e-10)
    # E_p[R] = μ(1 − 2q) and G = E_p[R]/r
    q = pomdp.worst_arm_probability(problem, memory)
    reward = pomdp.mean_reward(problem, memory)
    np.testing.assert_allclose(reward, mu * (1 - 2 * q), atol=1e-13)
    np.testing.assert_allclose(pomdp.expected_gain(problem, memory), reward / reset, rtol=1e-12)


@pytest.mark.parametrize("spec", [("ram", 3, 11), ("memento", 2, 12)])
def test_gain_is_the_discounted_sum_of_eq_2_and_not_the_printed_relation(spec):
    problem, memory = pomdp.TwoHypothesis(0.3, 0.05), memory_of(*spec)
    t, x = (np.asarray(a) for a in pomdp.transition_matrix(problem, memory))
    rewards = memory.last_rewards()
    total, gamma = 0.0, 0.95
    for step in range(1500):  # G = E[Σ_t γ^t R(s_t)], s_0 ∼ p0′, averaged over H_A and H_B
        total += gamma**step * 0.5 * float(np.sum(x @ rewards))
        x = np.einsum("hij,hj->hi", t, x)
    gain = float(pomdp.expected_gain(problem, memory))
    assert abs(gain - total) < 1e-11 * abs(total) + 1e-13
    q = float(pomdp.worst_arm_probability(problem, memory))
    np.testing.assert_allclose(gain, 0.3 / 0.05 * (1 - 2 * q), rtol=1e-12)
    printed = 0.05 / 0.95 * (1 - 2 * q)  # §2.3: G = r/(1 − r)(1 − 2q)
    assert abs(gain - printed) > 0.5 * abs(gain)


@given(spec=MEMORIES, reset=st.floats(0.01, 0.5))
def test_no_information_or_no_preference_gives_q_one_half(spec, reset):
    problem, memory = pomdp.TwoHypothesis(0.0, reset), memory_of(*spec)
    np.testing.assert_allclose(pomdp.worst_arm_probability(problem, memory), 0.5, atol=1e-13)
    q = pomdp.worst_arm_probability(problem, memory, per_hypothesis=True)  # P(B) and P(A)
    assert abs(float(q[0] - q[1])) > 1e-8
    problem = pomdp.TwoHypothesis(0.4, reset)
    uniform = jax.tree_util.tree_map(jnp.zeros_like, memory_of(*spec))
    np.testing.assert_allclose(pomdp.worst_arm_probability(problem, uniform), 0.5, atol=1e-13)
    np.testing.assert_allclose(pomdp.expected_gain(problem, uniform), 0.0, atol=1e-11)
    always_a = pomdp.Memento(jnp.zeros((21, 2)).at[:, 1].set(pomdp.FORBIDDEN_LOGIT))
    q = pomdp.worst_arm_probability(problem, always_a, per_hypothesis=True)
    np.testing.assert_allclose(q, [0, 1], atol=1e-15)
    np.testing.assert_allclose(pomdp.expected_gain(problem, always_a), 0.0, atol=1e-11)


def permute_ram(memory, perm):
    """Relabel the memory states i → perm[i]: rows 4i + 2a + y and 4M + i, columns 2j + b, reset i."""
    size = memory.size
    rows = np.concatenate([4 * perm[np.arange(4 * size) // 4] + np.arange(4 * size) % 4, 4 * size + perm])
    cols = 2 * perm[np.arange(2 * size) // 2] + np.arange(2 * size) % 2
    policy = jnp.zeros_like(memory.policy_logits).at[rows[:, None], cols[None, :]].set(memory.policy_logits)
    return pomdp.RAM(policy, jnp.zeros_like(memory.reset_logits).at[perm].set(memory.reset_logits))


def swap_arms(memory):
    """Exchange A and B in the observations (the last arm) and in the actions."""
    if isinstance(memory, pomdp.RAM):
        rows = np.arange(memory.n_observations)
        rows = np.where(rows < memory.n_states, rows ^ 2, rows)  # 4i + 2a + y → 4i + 2(1 − a) + y
        return pomdp.RAM(memory.policy_logits[rows][:, np.arange(memory.n_actions) ^ 1], memory.reset_logits)
    rows = []
    for s in range(memory.n_states):
        arms, rewards = pomdp.history(s)
        rows.append(pomdp.history_index(arms.translate(str.maketrans("AB", "BA")), rewards))
    rows.append(memory.n_states)
    return pomdp.Memento(memory.policy_logits[np.array(rows)][:, ::-1])


@settings(max_examples=15)
@given(size=st.integers(2, 3), seed=st.integers(0, 2**16), data=st.data())
def test_relabelling_the_ram_memory_leaves_q_unchanged(size, seed, data):
    problem, memory = pomdp.TwoHypothesis(0.3, 0.05), memory_of("ram", size, seed)
    perm = np.array(data.draw(st.permutations(range(size))))
    q = pomdp.worst_arm_probability(problem, memory, per_hypothesis=True)
    np.testing.assert_allclose(
        pomdp.worst_arm_probability(problem, permute_ram(memory, perm), per_hypothesis=True), q, rtol=1e-12
    )


@given(spec=MEMORIES)
def test_swapping_the_arms_swaps_the_hypotheses(spec):
    problem, memory = pomdp.TwoHypothesis(0.3, 0.05), memory_of(*spec)
    q = np.asarray(pomdp.worst_arm_probability(problem, memory, per_hypothesis=True))
    swapped = np.asarray(pomdp.worst_arm_probability(problem, swap_arms(memory), per_hypothesis=True))
    np.testing.assert_allclose(swapped, q[::-1], rtol=1e-12)
    assert abs(q[0] - q[1]) > 1e-6  # a random policy is not symmetric: the check above can fail


def test_symmetric_policies_are_equally_good_under_both_hypotheses():
    problem = pomdp.TwoHypothesis(0.2, 1e-3)
    for memory in (pomdp.column_of_confidence(5, 0.05), pomdp.necklace_policy(4, 0.03, 0.2)):
        q = pomdp.worst_arm_probability(problem, memory, per_hypothesis=True)
        np.testing.assert_allclose(q[0], q[1], rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# Derivatives and batches


def gain_of(problem):
    return lambda memory: pomdp.expected_gain(problem, memory)


@pytest.mark.parametrize("spec", [("ram", 3, 3), ("memento", 2, 4)])
def test_autodiff_gradient_matches_finite_differences(spec):
    problem, memory = pomdp.TwoHypothesis(0.3, 0.1), memory_of(*spec)
    gain = eqx.filter_jit(gain_of(problem))
    grad = eqx.filter_grad(gain_of(problem))(memory)
    leaves = jax.tree_util.tree_leaves(memory)
    assert max(float(jnp.max(jnp.abs(g))) for g in jax.tree_util.tree_leaves(grad)) > 1e-2
    rng = np.random.default_rng(0)
    h = 1e-4
    for _ in range(4):
        direction = [jnp.asarray(rng.normal(size=leaf.shape)) for leaf in leaves]
        moved = [
            jax.tree_util.tree_unflatten(
                jax.tree_util.tree_structure(memory),
                [x + c * d for x, d in zip(leaves, direction, strict=True)],
            )
            for c in (h, -h)
        ]
        numeric = (float(gain(moved[0])) - float(gain(moved[1]))) / (2 * h)
        exact = sum(
            float(jnp.sum(g * d)) for g, d in zip(jax.tree_util.tree_leaves(grad), direction, strict=True)
        )
        np.testing.assert_allclose(exact, numeric, rtol=1e-6)


@given(spec=MEMORIES)
def test_the_softmax_shift_does_not_move_the_gain(spec):
    problem, memory = pomdp.TwoHypothesis(0.3, 0.1), memory_of(*spec)
    grad = eqx.filter_grad(gain_of(problem))(memory)
    np.testing.assert_allclose(jnp.sum(grad.policy_logits, axis=-1), 0.0, atol=1e-12)
    if isinstance(memory, pomdp.RAM):
        np.testing.assert_allclose(jnp.sum(grad.reset_logits), 0.0, atol=1e-12)
    assert float(jnp.max(jnp.abs(grad.policy_logits))) > 1e-4


@pytest.mark.parametrize("kind", ["ram", "memento"])
def test_vmap_over_a_batch_of_memories_equals_the_loop(kind):
    problem = pomdp.TwoHypothesis(0.3, 0.02)
    keys = jax.random.split(jax.random.key(5), 4)
    cls = pomdp.RAM if kind == "ram" else pomdp.Memento
    batch = eqx.filter_vmap(lambda k: cls.random(k, 2))(keys)
    assert batch.policy_logits.shape[0] == 4
    q = eqx.filter_vmap(pomdp.worst_arm_probability, in_axes=(None, 0))(problem, batch)
    gain = eqx.filter_vmap(pomdp.expected_gain, in_axes=(None, 0))(problem, batch)
    p = eqx.filter_vmap(pomdp.steady_state, in_axes=(None, 0))(problem, batch)
    for i, key in enumerate(keys):
        one = cls.random(key, 2)
        np.testing.assert_allclose(q[i], pomdp.worst_arm_probability(problem, one), rtol=1e-13)
        np.testing.assert_allclose(gain[i], pomdp.expected_gain(problem, one), rtol=1e-13)
        np.testing.assert_allclose(p[i], pomdp.steady_state(problem, one), atol=1e-14)
    assert float(jnp.std(q)) > 1e-4


# ----------------------------------------------------------------------------------------------
# Monte Carlo: the agent itself, written from the layouts of the docstrings


def simulate(mu, reset, memory, *, agents=2000, steps=3000, burn_in=300, seed=0):
    """Each agent's frequencies of the chain states after each play, (agents, S), and its hypothesis.

    The agents are independent (half under H_A, half under H_B), so their time averages are independent
    samples and the standard error is their spread over √(agents/2) (no correlation within a run enters)."""
    rng = np.random.default_rng(seed)
    ram = isinstance(memory, pomdp.RAM)
    cumulative = np.cumsum(np.asarray(memory.policy()), axis=1)
    n_states, n_actions = memory.n_states, memory.n_actions
    hypothesis = np.arange(agents) % 2
    win_probability = np.where(hypothesis[:, None] == np.arange(2)[None, :], (1 + mu) / 2, (1 - mu) / 2)
    p0 = np.cumsum(np.asarray(memory.reset_distribution()))
    m = 0 if ram else memory.length
    counts = np.zeros((agents, n_states))
    state = np.full(agents, -1)  # RAM: 4i + 2a + y; -1 before the first play
    length, code = np.zeros(agents, int), np.zeros(agents, int)  # Memento: plays remembered, base-4 code
    agent = np.arange(agents)
    for step in range(steps):
        fresh = (rng.random(agents) < reset) | (state < 0)
        if ram:  # a reset starts from the blank observation of a memory drawn from p0
            blank = 4 * memory.size + np.minimum(
                np.searchsorted(p0, rng.random(agents), "right"), memory.size - 1
            )
            obs = np.where(fresh, blank, state)
        else:  # ... or from the empty history
            length, code = np.where(fresh, 0, length), np.where(fresh, 0, code)
            obs = np.where(length == 0, n_states, (4**length - 4) // 3 + code)
        action = np.minimum((rng.random(agents)[:, None] >= cumulative[obs]).sum(axis=1), n_actions - 1)
        arm = action % 2 if ram else action
        win = (rng.random(agents) < win_probability[agent, arm]).astype(int)
        if ram:
            state = 4 * (action // 2) + 2 * arm + win
        else:  # append the play, drop the oldest when m are remembered
            code = (code % 4 ** np.minimum(length, m - 1)) * 4 + 2 * arm + win
            length = np.minimum(length + 1, m)
            state = (4**length - 4) // 3 + code
        if step >= burn_in:
            counts[agent, state] += 1
    return counts / (steps - burn_in), hypothesis


def mean_and_error(samples, hypothesis):
    """Per hypothesis: the mean over agents and its standard error."""
    groups = [samples[hypothesis == h] for h in (0, 1)]
    return (np.stack([g.mean(axis=0) for g in groups]),
            np.stack([g.std(axis=0, ddof=1) / np.sqrt(len(g)) for g in groups]))  # fmt: skip


@pytest.mark.parametrize("spec", [("ram", 3, 21), ("memento", 2, 22)])
def test_a_simulated_agent_visits_the_states_as_the_steady_state_says(spec):
    mu, reset = 0.4, 0.05
    memory = memory_of(*spec)
    problem = pomdp.TwoHypothesis(mu, reset)
    freq, hypothesis = simulate(mu, reset, memory)
    mean, error = mean_and_error(freq, hypothesis)
    p = np.asarray(pomdp.steady_state(problem, memory))
    assert np.all(np.abs(mean - p) <= 4 * error), np.max(np.abs(mean - p) / error)
    # q: the frequency of the worst arm, per agent
    wrong = np.stack([memory.last_arms() == 1, memory.last_arms() == 0]).astype(float)
    q_mc, q_error = mean_and_error(np.sum(freq * wrong[hypothesis], axis=1), hypothesis)
    q = np.asarray(pomdp.worst_arm_probability(problem, memory, per_hypothesis=True))
    assert np.all(np.abs(q_mc - q) < 4 * q_error), (q_mc, q, q_error)
    assert np.all(np.abs(q - 0.5) > 10 * q_error)  # the policy matters at this precision
    assert np.all(q_error < 2e-3)


# ----------------------------------------------------------------------------------------------
# Column of confidence (Def. 3.1, App. C)


def q_ccp(mu, size):
    """Eq. 7: α^{2M−1}/(α^{2M−1} + 1)."""
    a = alpha(mu) ** (2 * size - 1)
    return a / (a + 1)


def test_ccp_is_the_two_column_walk_of_fig_1c():
    memory = pomdp.column_of_confidence(3, 0.2)
    pi = np.asarray(memory.policy())
    # (level i, arm a, reward y) → action 2j + b; level 3 is the top
    np.testing.assert_allclose(pi[4 * 0 + 2 * 0 + 1, 2 * 1 + 0], 1.0)  # 1A + → 2A
    np.testing.assert_allclose(pi[4 * 0 + 2 * 1 + 0, 2 * 0 + 0], 1.0)  # 1B − → 1A
    np.testing.assert_allclose(pi[4 * 1 + 2 * 1 + 0, 2 * 0 + 1], 1.0)  # 2B − → 1B
    np.testing.assert_allclose(pi[4 * 2 + 2 * 0 + 1, 2 * 2 + 0], 1.0)  # 3A + stays
    np.testing.assert_allclose(pi[4 * 2 + 2 * 0 + 0, [2 * 2 + 0, 2 * 1 + 0]], [0.8, 0.2])  # 3A − : ε down
    np.testing.assert_allclose(pi[12:, [0, 1]], 0.5)  # after a reset: level 1, A or B
    np.testing.assert_allclose(memory.reset_distribution(), [1, 0, 0])
    offset = pomdp.column_of_confidence(3, 0.2, offset=1e-4).policy()
    np.testing.assert_allclose(offset, (pi + 1e-4) / (1 + 6e-4), rtol=1e-12)


def test_ccp_q_tends_to_eq_7_at_rate_sqrt_r():
    # μ = 0.1, M = 10: q(ε*) = 0.03806, 0.02309, 0.02176 at r = 1e-4, 1e-6, 1e-8 (jamscope's reference,
    # computed with the reset state counted as a state of weight r and q = ½: q′ = (1 − r) q + r/2)
    limit = q_ccp(MU, 10)
    np.testing.assert_allclose(limit, pomdp.ccp_q(MU, 10), rtol=1e-12)
    np.testing.assert_allclose(limit, 0.021610, rtol=1e-4)
    slopes = []
    for reset, reference in ((1e-4, 0.03806), (1e-6, 0.02309), (1e-8, 0.02176)):
        problem = pomdp.TwoHypothesis(MU, reset)
        eps = pomdp.optimal_ccp_exit_rate(problem, 10)
        q = float(pomdp.worst_arm_probability(problem, pomdp.column_of_confidence(10, eps)))
        np.testing.assert_allclose(q, reference, rtol=2e-3)
        np.testing.assert_allclose((1 - reset) * q + reset / 2, reference, rtol=3e-4)
        slopes.append((q - limit) / math.sqrt(reset))
    # q − q_CCP ≈ c √r with c → 1.46
    np.testing.assert_allclose(slopes, [1.64, 1.48, 1.46], rtol=0.02)


def test_ccp_optimal_exit_rate_follows_the_corrected_eq_6_not_the_printed_one():
    reference = {2: 1.26010, 3: 1.09233, 5: 1.03365, 8: 1.01758}  # ε*²/(2r) as r → 0 at μ = 0.1
    for size, coefficient in reference.items():
        corrected = pomdp.ccp_exit_rate(MU, size, 1e-6) ** 2 / 2e-6
        np.testing.assert_allclose(corrected, coefficient, rtol=1e-5)
        printed = pomdp.ccp_exit_rate_printed(MU, size, 1e-6) ** 2 / 2e-6
        far = {}
        for reset in (1e-4, 1e-6):
            eps = pomdp.optimal_ccp_exit_rate(pomdp.TwoHypothesis(MU, reset), size)
            far[reset] = abs(eps**2 / (2 * reset) / coefficient - 1)
            assert abs(eps**2 / (2 * reset) / printed - 1) > 0.5
        # O(√r) corrections: 0.6–1.2 % at r = 1e-4, 0.03–0.13 % at r = 1e-6
        assert far[1e-6] < 1.5e-3 and far[1e-6] < far[1e-4] / 3


def test_ccp_optimum_at_the_parameters_of_fig_4():
    for size, eps_ref, q_ref in ((8, 0.0443, 0.1077), (20, 0.0441, 0.0473)):
        problem = pomdp.TwoHypothesis(MU, 1e-3)
        eps = pomdp.optimal_ccp_exit_rate(problem, size)
        np.testing.assert_allclose(eps, eps_ref, rtol=1.5e-3)
        memory = pomdp.column_of_confidence(size, eps)
        np.testing.assert_allclose(pomdp.worst_arm_probability(problem, memory), q_ref, rtol=1e-3)
        if size == 8:  # the CCP start of Figs. 2 and 4: log(π_CCP + 1e-4)
            start = pomdp.ccp_ram(problem, size)
            np.testing.assert_allclose(start.policy(), (memory.policy() + 1e-4) / (1 + 16e-4), rtol=1e-6)
        profile = pomdp.ccp_exit_rate_profile(problem, size, jnp.asarray([0.5 * eps, eps, 2 * eps]))
        assert profile[1] < profile[0] and profile[1] < profile[2]


# ----------------------------------------------------------------------------------------------
# Fig. 4 initialisations and the necklace policy (Def. 4.1, Thm. 4.3)


def test_fig_4_ram_initialisations_keep_their_structure():
    key, size = jax.random.key(3), 5
    rows = np.concatenate([np.arange(4 * size) // 4, np.arange(size)])
    last_arm = np.concatenate([(np.arange(4 * size) // 2) % 2, np.full(size, -1)])
    cols = np.arange(2 * size)
    jump = np.abs(cols[None, :] // 2 - rows[:, None]) > 1
    switch = (last_arm[:, None] >= 0) & (cols[None, :] % 2 != last_arm[:, None]) & (rows[:, None] > 0)
    floor = 1e-4 / (1 + 2 * size * 1e-4)
    linear = np.asarray(pomdp.linear_ram(key, size).policy())
    np.testing.assert_allclose(linear[jump], floor, rtol=1e-10)
    assert linear[~jump].min() > floor
    columns = np.asarray(pomdp.columns_ram(key, size).policy())
    np.testing.assert_allclose(columns[jump | switch], floor, rtol=1e-10)
    assert columns[~(jump | switch)].min() > floor


def test_cycles_play_the_oldest_arm_except_on_maximally_informative_histories():
    m = 3
    pi = np.asarray(pomdp.cycles_memento(jax.random.key(0), m, offset=0.0).policy())
    informative = 0
    for s in range((4**m - 4) // 3, (4 ** (m + 1) - 4) // 3):
        arms, rewards = pomdp.history(s)
        toward_a = all((a == "A") == (y == "+") for a, y in zip(arms, rewards, strict=True))
        toward_b = all((a == "B") == (y == "+") for a, y in zip(arms, rewards, strict=True))
        if toward_a or toward_b:
            informative += 1
            assert 0 < pi[s, 0] < 1
        else:
            assert pi[s, "AB".index(arms[0])] == 1.0
    assert informative == 2 * 2**m


def test_necklace_policy_exits_only_at_its_exit_states():
    m, eps0, eps1 = 3, 0.01, 0.2
    pi = np.asarray(pomdp.necklace_policy(m, eps0, eps1).policy())
    switches = {}
    for s in range((4**m - 4) // 3, (4 ** (m + 1) - 4) // 3):
        arms, rewards = pomdp.history(s)
        switch = pi[s, 1 - "AB".index(arms[0])]
        if switch > 0:
            switches[arms + rewards] = switch
    # the ends leave on all-negative rewards, AAB → ABB through ABA, ABB → AAB through BAB (one output
    # per direction), each on its maximally informative rewards; the walk AAA–AAB–ABB–BBB is n(3) = 4 long
    expected = {"AAA---": eps0, "BBB---": eps0, "BAA-++": eps1, "ABA-+-": eps1, "BAB-+-": eps1,
                "ABB-++": eps1}  # fmt: skip
    assert switches == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(pi[: (4**m - 4) // 3], 0.5)  # partial histories: uniform
    np.testing.assert_allclose(pi[-1], 0.5)


def test_necklace_policy_tends_to_q_star_from_above():
    # μ = 0.1, ε0 = √r, ε1 = r^{1/4}: q = 0.291, 0.184, 0.154, 0.145 at r = 1e-3, 1e-5, 1e-7, 1e-9 (m = 3)
    q_star = pomdp.necklace_bound(MU, 3)
    np.testing.assert_allclose(q_star, 1 / (1 + alpha(MU) ** -9), rtol=1e-12)
    previous = 1.0
    for reset, reference in ((1e-3, 0.291), (1e-5, 0.184), (1e-7, 0.154), (1e-9, 0.145)):
        memory = pomdp.necklace_policy(3, math.sqrt(reset), reset**0.25)
        q = float(pomdp.worst_arm_probability(pomdp.TwoHypothesis(MU, reset), memory))
        np.testing.assert_allclose(q, reference, atol=1e-3)
        assert q_star < q < previous
        previous = q
    # m = 4 (Gray chain AAAA–AAAB–AABB–ABBB–BBBB, ABAB off the chain escapes with ε1): q → q*(4) = 0.0388
    memory = pomdp.necklace_policy(4, 10**-4.5, 10**-2.25)
    q4 = float(pomdp.worst_arm_probability(pomdp.TwoHypothesis(MU, 1e-9), memory))
    assert pomdp.necklace_bound(MU, 4) < q4 < pomdp.necklace_bound(MU, 4) + 0.01


@settings(max_examples=10)
@given(log_eps0=st.floats(-8, -1), log_eps1=st.floats(-4, -0.1))
def test_no_necklace_policy_beats_q_star(log_eps0, log_eps1):
    problem = pomdp.TwoHypothesis(MU, 1e-6)
    memory = pomdp.necklace_policy(3, 10**log_eps0, 10**log_eps1)
    assert float(pomdp.worst_arm_probability(problem, memory)) > pomdp.necklace_bound(MU, 3)


# ----------------------------------------------------------------------------------------------
# Learning and the landscape (NegativeGain, gain_hessian)


@pytest.mark.parametrize(("kind", "size"), [("ram", 2), ("memento", 2)])
def test_gain_hessian_is_the_derivative_of_the_gradient(kind, size):
    """Against central differences of the autodiff gradient (float64), with the exact zero modes of
    the softmax shifts: one per row of logits, and one for the reset logits of a RAM."""
    problem = pomdp.TwoHypothesis(mu=0.2, reset=0.05)
    memory = memory_of(kind, size, 3)
    params, static = eqx.partition(memory, eqx.is_inexact_array)
    theta, unravel = jax.flatten_util.ravel_pytree(params)
    grad = jax.jit(jax.grad(lambda t: pomdp.expected_gain(problem, eqx.combine(unravel(t), static))))
    hessian = np.asarray(pomdp.gain_hessian(problem, memory))
    h = 1e-5
    columns = [(grad(theta + h * e) - grad(theta - h * e)) / (2 * h) for e in np.eye(theta.size)]
    scale = np.abs(hessian).max()
    np.testing.assert_allclose(hessian, np.stack(columns, axis=1), rtol=1e-5, atol=1e-7 * scale)
    np.testing.assert_allclose(hessian, hessian.T, atol=1e-10 * np.abs(hessian).max())
    shifts = memory.policy_logits.shape[0] + (1 if kind == "ram" else 0)
    rows = np.split(np.arange(theta.size), np.cumsum([leaf.size for leaf in jax.tree.leaves(params)])[:-1])
    ones = np.zeros((shifts, theta.size))  # a unit shift of each softmax's logits
    k = 0
    for leaf, index in zip(jax.tree.leaves(params), rows, strict=True):
        block = index.reshape(leaf.shape)
        for row in block.reshape(-1, block.shape[-1]):
            ones[k, row] = 1.0
            k += 1
    np.testing.assert_allclose(hessian @ ones.T, 0.0, atol=1e-9 * np.abs(hessian).max())


def test_gradient_flow_on_the_negative_gain_climbs_g_and_returns_to_the_ccp():
    """Eq. 3 through the training engine: G never falls between records, and from the CCP + 10⁻⁴ the
    flow returns to within 0.1 % of the exact CCP's q (thesis ch. 7 Fig. 2)."""
    problem = pomdp.TwoHypothesis(mu=0.1, reset=1e-3)
    start = jax.tree.map(lambda a: a[None], pomdp.ccp_ram(problem, 4))
    trained, history = train.gradient_flow(start, pomdp.NegativeGain(problem), None, steps=5_000,
                                           ensemble=True, progress=False)  # fmt: skip
    gain = -np.asarray(history.loss[0])
    assert np.all(np.diff(gain) >= -1e-9 * np.abs(gain).max())
    exact = float(pomdp.worst_arm_probability(problem, pomdp.ccp_ram(problem, 4, offset=0.0)))
    learned = float(pomdp.worst_arm_probability(problem, jax.tree.map(lambda a: a[0], trained)))
    start_q = float(pomdp.worst_arm_probability(problem, jax.tree.map(lambda a: a[0], start)))
    assert start_q > exact * 1.01 and abs(learned / exact - 1) < 1e-3
