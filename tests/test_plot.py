"""Figures: the four panels of 000 Fig. 7 from a real decomposition."""

import jax
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from jamscope import curvature, data, losses, nets, plot  # noqa: E402


def test_hessian_spectra_figure_has_the_four_panels_of_fig7():
    key = jax.random.PRNGKey(0)
    ds = data.random_sphere(key, 40, 4)
    model = nets.FCNet(jax.random.fold_in(key, 1), 4, 6, 2, "relu")
    loss = losses.QuadraticHinge()
    parts = curvature.decompose(loss, model, ds)
    eig = [np.asarray(curvature.spectrum(m)) for m in (parts.h, parts.h0, parts.hp)]
    n_delta = int(np.sum(loss.unsatisfied(nets.outputs(model, ds.x), ds.y)))
    fig = plot.hessian_spectra_figure(*eig, 0.3, zero_rtol=1e-9)
    axes = fig.get_axes()
    assert [ax.get_title()[:3] for ax in axes] == ["(a)", "(b)", "(c)", "(d)"]
    assert all(ax.get_xscale() == "log" and ax.get_lines() for ax in axes)
    # the H0 panel reports the zero-mode peak: weight 1 − rank(H0)/N with rank(H0) = min(N_Δ, N)
    n = eig[1].size
    (label,) = axes[2].texts
    assert label.get_text() == f"zero modes: {1 - min(n_delta, n) / n:.2f} N"
    with pytest.raises(ValueError, match="`loss` must be > 0"):
        plot.hessian_spectra_figure(*eig, 0.0)


def test_jamming_figures_from_synthetic_results():
    """Fig. 6, Fig. 5c with P/N* against N, and Fig. 8 panels from a hand-made sweep result."""
    import xarray as xr

    from jamscope import jamming, sweep

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
    fig = plot.jamming_transition_figure(results)
    assert [ax.get_title()[:3] for ax in fig.get_axes()] == ["(a)", "(b)", "(c)"]
    assert len(fig.get_axes()[1].get_lines()) == 1  # the certified jammed runs of the one depth
    points = sweep.jamming_points(results)
    fig = plot.jamming_point_figure(points, sweep.jamming_times(results))
    a, b = fig.get_axes()
    assert len(a.containers) == 1 and len(b.containers) == 1  # one errorbar per depth in each panel
    rng = np.random.default_rng(0)
    gaps = np.concatenate([rng.random((3, 200)) * 0.1, -rng.random((3, 300))], axis=1)
    dist = jamming.overlap_distributions(gaps, np.array([1e-3, 2e-3, 3e-3]), n_bootstrap=10)
    fig = plot.overlap_figure(dist)
    labels = [t.get_text() for ax in fig.get_axes() for t in ax.get_legend().get_texts()]
    assert any(r"\theta" in label for label in labels) and any(r"\gamma" in label for label in labels)
