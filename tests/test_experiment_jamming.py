"""The jamming experiment: its plan, the paper's protocol, resuming through the store with certificates
intact, and the analysis of end states into P/N* brackets, their training-time trend and the
near-jamming runs."""

import dataclasses

import jax
import numpy as np
import pytest
import xarray as xr

from jamscope import curvature, data, io, losses, nets
from jamscope.end_state import FITTED, JAMMED, UNDECIDED
from jamscope.experiments import jamming as sweep
from jamscope.experiments import run

TINY = sweep.SweepConfig(
    sizes=(20,), depths=(1,), p_over_n=(0.3, 5.0), seeds=2, steps=4000, lr=1e-2, min_steps=500, n_records=40,
    spectra_window=(0.1, 10.0),
)  # fmt: skip


@pytest.mark.parametrize("dim", [None, 7])
def test_weight_count_matches_the_network(dim):
    config = dataclasses.replace(TINY, dim=dim)
    for width, depth in [(1, 1), (3, 2), (7, 5)]:
        in_dim = width if dim is None else dim
        model = nets.MLP(jax.random.PRNGKey(0), in_dim, width, depth, init="orthogonal")
        biases = depth * width + 1
        assert sweep.weight_count(config, width, depth) == nets.n_params(model) - biases


def test_plan_fixes_n_and_varies_p_around_the_target_ratios():
    config = dataclasses.replace(TINY, sizes=(100, 400), depths=(2, 3), p_over_n=(2.0, 2.8, 3.6))
    points = sweep.plan(config)
    assert [d for d, _, _ in points] == [2] * 6 + [3] * 6
    for depth, width, p in points:
        n = sweep.weight_count(config, width, depth)
        assert min(abs(p / n - r) for r in config.p_over_n) < 1.0 / n  # P rounded to an integer
    for depth in (2, 3):  # the width whose weight count is closest to each size
        widths = sorted({h for d, h, _ in points if d == depth})
        for size, h in zip(config.sizes, widths, strict=True):
            counts = {k: abs(sweep.weight_count(config, k, depth) - size) for k in range(1, 40)}
            assert counts[h] == min(counts.values())


def test_config_is_checked():
    with pytest.raises(ValueError, match="depths"):
        sweep.SweepConfig(depths=())
    with pytest.raises(ValueError, match="largest P"):
        sweep.SweepConfig(data="digits", sizes=(5000,))
    with pytest.raises(ValueError, match="data_root"):
        sweep.SweepConfig(data="mnist")
    with pytest.raises(ValueError, match="plateau"):
        sweep.SweepConfig(plateau=2.0)
    with pytest.raises(ValueError, match="fraction"):
        sweep.SweepConfig(fraction=0.0)


def test_the_default_protocol_is_the_papers():
    """000 §III with the authors' code: standard parametrization, orthogonal weights, zero biases,
    d = h, centred inputs on the sphere of radius √d, alternating labels, lr 10⁻⁴, margin 1/2."""
    config = sweep.QUICK
    assert config.parametrization == "standard" and config.dim is None and config.data == "sphere"
    assert config.margin == 0.5 and config.activation == "relu" and config.decay_every is None
    assert sweep.PAPER.lr == 1e-4 and config.lr == 1e-3  # the CPU presets' stated departure
    models = sweep._networks(config, 6, 6, 2, 2)
    first = jax.tree.map(lambda a: a[0], models)
    assert isinstance(first, nets.MLP)
    for w in first.weights:  # orthogonal layer by layer: orthonormal rows or columns
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-12)
    assert all(float(np.abs(b).max()) == 0.0 for b in first.biases)
    ds = sweep._point_data(config, 50, 6)
    np.testing.assert_allclose(np.linalg.norm(ds.x, axis=1), np.sqrt(6), rtol=1e-12)
    np.testing.assert_array_equal(ds.y, np.where(np.arange(50) % 2, 1.0, -1.0))


def test_sweep_records_certified_runs_and_resumes_with_certificates_intact(tmp_path, monkeypatch):
    full = run(TINY, tmp_path, progress=False)["jamming"]
    assert full.sizes["point"] == len(sweep.plan(TINY)) == 2 and full.sizes["member"] == 2
    # P/N = 0.3 fits; P/N = 5 is far above capacity and jams within the budget
    by_ratio = {round(float(r), 1): full["outcome"].values[i] for i, r in enumerate(full["p_over_n"].values)}
    np.testing.assert_array_equal(by_ratio[0.3], [FITTED] * 2)
    np.testing.assert_array_equal(by_ratio[5.0], [JAMMED] * 2)
    for name in ("loss", "n_delta", "misclassified", "decided_step", "force_balance", "n_frozen", "hp_c0"):
        assert full[name].dims == ("point", "member")
    assert full["loss_t"].dims == ("point", "member", "time")
    fitted = full["outcome"].values == FITTED
    # N_Δ and L are the verdict's: a fitted run has N_Δ = 0 and L = 0, every other run N_Δ > 0
    assert np.all(full["n_delta"].values[fitted] == 0) and np.all(full["loss"].values[fitted] == 0)
    assert np.all(full["n_delta"].values[~fitted] > 0)
    assert np.all(np.isnan(full["force_balance"].values[fitted]))  # no forces
    assert np.all(full["force_balance"].values[~fitted] >= 0)
    # frozen patterns (on dead units) are unsatisfied ones; a jammed run keeps others that move
    assert np.all(full["n_frozen"].values <= full["n_delta"].values)
    jammed = full["outcome"].values == JAMMED
    assert np.all(full["n_frozen"].values[jammed] < full["n_delta"].values[jammed])
    # gaps are Δ = ε − y f, evaluated again: N_Δ counts the positive ones up to patterns on the margin
    gaps, marginal = full["gaps"].values, full["n_marginal"].values  # NaN-padded to the largest P
    scale = np.maximum(TINY.margin, np.nanmax(np.abs(TINY.margin - gaps), axis=-1))  # |y f| = |ε − Δ|
    on_margin = np.abs(gaps) <= sweep.MARGIN_ROUNDING * scale[..., None]
    np.testing.assert_array_equal(on_margin.sum(-1), marginal)
    assert np.all((gaps > 0).sum(-1) - marginal <= full["n_delta"].values)
    assert np.all(full["n_delta"].values <= (gaps > 0).sum(-1) + marginal)
    assert np.all(full["max_gap"].values[fitted] <= sweep.MARGIN_ROUNDING * scale[fitted])
    assert np.all(full["h0_n_positive"].values <= full["n_delta"].values)

    # kill after the first point: drop the second point's file, run again
    store = io.ResultStore(tmp_path / "jamming")
    keys = io.stored_keys(store)
    assert len(keys) == 2
    (store.root / f"{full['key'].values[1]}.nc").unlink()
    calls = []
    original = sweep._run_point
    monkeypatch.setattr(sweep, "_run_point", lambda *a: calls.append(a[1:4]) or original(*a))
    resumed = run(TINY, tmp_path, progress=False)["jamming"]
    assert len(calls) == 1  # only the missing point was trained
    xr.testing.assert_identical(resumed, full)
    calls.clear()
    run(TINY, tmp_path, progress=False)
    assert calls == []  # nothing left to do
    # growing the grid reuses the finished points (their key holds the protocol, not the grid)
    grown = dataclasses.replace(TINY, p_over_n=(0.3, 2.0, 5.0))
    run(grown, tmp_path, progress=False)
    assert len(calls) == 1


def _synthetic_results() -> xr.Dataset:
    """Depth 2 (N = 100): P/N = 2, 2.5 fit, 3 is undecided, 3.5 and 4 jam; depth 3 (N = 150): nothing
    certified jammed (P/N = 3: one run undecided, one frozen, one jammed). Decision steps let the
    jammed side appear only after 10⁵ steps."""
    ratio = np.array([2.0, 2.5, 3.0, 3.5, 4.0, 2.0, 3.0])
    outcome = np.array([[1, 1, 1], [1, 1, 2], [2, 0, 1], [2, 2, 0], [2, 2, 2], [1, 1, 1], [0, 3, 2]])
    decided = np.where(outcome == 2, 2e5, 1e4)
    n_delta = np.where(outcome == 1, 0.0, 70.0)
    n = np.array([100] * 5 + [150] * 2)
    times = np.array([0, 1e3, 1e4, 1e5, 1e6])
    return xr.Dataset(
        {name: (("point", "member"), value) for name, value in [
            ("outcome", outcome.astype(float)), ("decided_step", decided), ("n_delta", n_delta),
            ("loss", n_delta / 1e4), ("misclassified", n_delta / 3)]},
        coords={"depth": ("point", [2] * 5 + [3] * 2), "width": ("point", [7] * 5 + [7] * 2),
                "n_weights": ("point", n), "p_over_n": ("point", ratio), "n_train": ("point", ratio * n),
                "time": times},
    )  # fmt: skip


def test_jamming_points_from_certified_runs():
    results = _synthetic_results()
    points = sweep.jamming_points(results)
    two = points.isel(group=0)
    assert (float(two["ratio_fitted"]), float(two["ratio_jammed"])) == (2.5, 3.5)  # 3.0 undecided
    assert float(two["p_over_n_star"]) == 3.0 and float(two["p_star"]) == 300.0
    assert int(two["runs_fitted"]) == 6 and int(two["runs_jammed"]) == 7 and int(two["runs_undecided"]) == 2
    assert int(two["points_undecided"]) == 1
    assert (float(two["largest_fitted"]), float(two["smallest_jammed"])) == (2.5, 3.5)
    three = points.isel(group=1)
    assert np.isnan(float(three["ratio_jammed"]))  # never a certified jammed point: a frozen run is not
    assert int(three["runs_frozen"]) == 1 and int(three["runs_jammed"]) == 1
    assert int(three["points_undecided"]) == 1
    assert float(three["largest_fitted"]) == 2.0 and np.isnan(float(three["smallest_jammed"]))
    # as known at t = 10⁴ no run is certified jammed yet: no bracket
    early = sweep.jamming_points(results, time=1e4)
    assert np.isnan(float(early.isel(group=0)["ratio_jammed"]))
    assert int(early.isel(group=0)["runs_undecided"]) == 2 + 7
    times = sweep.jamming_times(results)  # the records nearest 1/30, 1/10, 1/3 and all of the budget
    np.testing.assert_array_equal(times["time"].values, [1e4, 1e5, 1e6])
    assert np.isnan(times["ratio_jammed"].values[1, 0]) and times["ratio_jammed"].values[2, 0] == 3.5
    chosen = sweep.jamming_times(results, times=(0.0, 1e6))
    assert chosen.sizes["time"] == 2 and chosen["runs_undecided"].values[0, 0] == 15
    near = sweep.near_jamming(results)
    assert near.sizes["run"] == 2 and np.all(near["outcome"].values == JAMMED)
    np.testing.assert_array_equal(near["p_over_n"].values, [3.5, 3.5])


def test_extrapolation_recovers_a_planted_finite_size_law():
    c_inf, b = 2.8, -6.0
    n = np.array([100.0, 200.0, 400.0, 800.0])
    star = c_inf + b / np.sqrt(n)
    points = xr.Dataset(
        {"n_weights": ("group", n), "ratio_fitted": ("group", star - 0.01),
         "ratio_jammed": ("group", star + 0.01), "p_over_n_star": ("group", star)},
        coords={"depth": ("group", [2] * 4), "width": ("group", [7, 10, 14, 20])},
    )  # fmt: skip
    fit = sweep.extrapolate(points)[2]
    assert fit["c_inf"] == pytest.approx(c_inf, abs=1e-9) and 0 < fit["error"] < 0.1 and fit["sizes"] == 4
    assert sweep.extrapolate(points.isel(group=[0])) == {}


def test_run_outcomes_at_a_time():
    results = _synthetic_results()
    np.testing.assert_array_equal(sweep.run_outcomes(results).values, results["outcome"].values.astype(int))
    early = sweep.run_outcomes(results, time=1e4).values
    assert np.all(early[results["outcome"].values == JAMMED] == UNDECIDED)


def test_the_report_states_the_newton_test_and_one_sided_bounds():
    """Smooth activations: how many non-fitted runs Newton certified, with H's worst curvature, and
    what the others did; a (depth, N) that brackets nothing still gives the bound its points give."""
    nan = np.nan
    runs = xr.Dataset({name: (("point", "member"), np.array(values)) for name, values in [
        ("newton_certified", [[1.0, 0.0, nan]]), ("newton_curvature", [[-1e-12, -1e-7, nan]]),
        ("newton_loss", [[0.01, 0.02, nan]]), ("newton_force_balance", [[1e-10, 1e-4, nan]]),
        ("newton_growth", [[1.0, 30.0, nan]])]})  # fmt: skip
    first, second = sweep._newton_lines(runs)
    assert "of the 2 runs" in first and "1 certified" in first and "≥ -1.0e-12 (H ⪰ 0)" in first
    assert "×1 to ×1" in first and "saturated" not in first
    grown = runs.assign(newton_growth=(("point", "member"), np.array([[132.0, 30.0, nan]])))
    assert "×132 to ×132 (grown: certified as its units saturated" in sweep._newton_lines(grown)[0]
    assert "not certified: 1" in second and "×30 to ×30" in second and "-1.0e-07" in second
    assert sweep._newton_lines(runs.drop_vars("newton_certified")) == []
    points = sweep.jamming_points(_synthetic_results())  # depth 3: P/N = 2 fitted, 3 undecided
    assert sweep._one_sided(points.isel(group=1)) == " (P/N* ≥ 2.00: fitted there)"
    both = " (P/N* ≥ 2.50: fitted there, P/N* < 3.50: jammed there)"
    assert sweep._one_sided(points.isel(group=0)) == both


def test_hessian_spectra_figure_has_the_four_panels_of_fig7():
    key = jax.random.PRNGKey(0)
    ds = data.random_sphere(key, 40, 4)
    model = nets.FCNet(jax.random.fold_in(key, 1), 4, 6, 2, "relu")
    loss = losses.QuadraticHinge()
    parts = curvature.decompose(loss, model, ds)
    eig = [np.asarray(curvature.spectrum(m)) for m in (parts.h, parts.h0, parts.hp)]
    n_delta = int(np.sum(loss.unsatisfied(nets.outputs(model, ds.x), ds.y)))
    fig = sweep.hessian_spectra_figure(*eig, 0.3, zero_rtol=1e-9)
    axes = fig.get_axes()
    assert [ax.get_title()[:3] for ax in axes] == ["(a)", "(b)", "(c)", "(d)"]
    assert all(ax.get_xscale() == "log" and ax.get_lines() for ax in axes)
    # the H0 panel reports the zero-mode peak: weight 1 − rank(H0)/N with rank(H0) = min(N_Δ, N)
    n = eig[1].size
    (label,) = axes[2].texts
    assert label.get_text() == f"zero modes: {1 - min(n_delta, n) / n:.2f} N"
    with pytest.raises(ValueError, match="`loss` must be > 0"):
        sweep.hessian_spectra_figure(*eig, 0.0)


def test_jamming_figures_from_synthetic_results():
    """Fig. 6, Fig. 5c with P/N* against N, and Fig. 8 panels from a hand-made sweep result."""
    import xarray as xr

    from jamscope import jamming

    ratio = np.array([2.0, 2.5, 3.0, 3.5, 2.0, 2.5, 3.0, 3.5])
    outcome = np.array([[1, 1], [1, 0], [2, 2], [2, 2], [1, 1], [1, 1], [0, 2], [2, 2]])
    n_delta = np.where(outcome == 1, 0.0, 70.0)
    n = np.array([100] * 4 + [200] * 4)
    results = xr.Dataset(
        {name: (("point", "member"), value) for name, value in [
            ("outcome", outcome.astype(float)), ("decided_step", np.full(outcome.shape, 1e3)),
            ("n_delta", n_delta), ("loss", n_delta / 1e4), ("misclassified", n_delta / 3)]},
        coords={"depth": ("point", [2] * 8), "width": ("point", [7] * 4 + [10] * 4),
                "n_weights": ("point", n), "p_over_n": ("point", ratio), "time": [0, 1e3]},
    )  # fmt: skip
    fig = sweep.jamming_transition_figure(results)
    assert [ax.get_title()[:3] for ax in fig.get_axes()] == ["(a)", "(b)", "(c)"]
    assert len(fig.get_axes()[1].get_lines()) == 1  # the certified jammed runs of the one depth
    points = sweep.jamming_points(results)
    fig = sweep.jamming_point_figure(points, sweep.jamming_times(results))
    a, b = fig.get_axes()
    assert len(a.containers) == 1 and len(b.containers) == 1  # one errorbar per depth in each panel
    rng = np.random.default_rng(0)
    gaps = np.concatenate([rng.random((3, 200)) * 0.1, -rng.random((3, 300))], axis=1)
    dist = jamming.overlap_distributions(gaps, np.array([1e-3, 2e-3, 3e-3]), n_bootstrap=10)
    fig = sweep.overlap_figure(dist)
    labels = [t.get_text() for ax in fig.get_axes() for t in ax.get_legend().get_texts()]
    assert any(r"\theta" in label for label in labels) and any(r"\gamma" in label for label in labels)
