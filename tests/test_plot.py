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
    """Fig. 6, Fig. 5c and Fig. 8 panels from a hand-made sweep result and planted gap samples."""
    import xarray as xr

    from jamscope import jamming, sweep

    n = np.array([20, 40, 60, 20, 40, 60])
    n_delta = np.array([[30, 25], [0, 3], [0, 0], [40, 40], [0, 0], [0, 0]], dtype=float)
    results = xr.Dataset(
        {
            "n_delta": (("point", "seed"), n_delta),
            "loss": (("point", "seed"), n_delta / 100.0),
            "misclassified": (("point", "seed"), n_delta / 3),
        },
        coords={
            "depth": ("point", [2, 2, 2, 3, 3, 3]), "n_train": ("point", [100] * 6), "n_params": ("point", n),
            "p_over_n": ("point", 100 / n), "width": ("point", [2, 4, 6, 2, 4, 6]), "seed": [0, 1],
        },
    )  # fmt: skip
    fig = plot.jamming_transition_figure(results)
    assert [ax.get_title()[:3] for ax in fig.get_axes()] == ["(a)", "(b)", "(c)"]
    assert len(fig.get_axes()[0].get_lines()) == 4  # runs and medians for two depths
    points = sweep.jamming_points(results)
    fig = plot.jamming_point_figure(points)
    (ax,) = fig.get_axes()
    assert len(ax.containers) == 2  # one errorbar per depth
    rng = np.random.default_rng(0)
    gaps = np.concatenate([rng.random((3, 200)) * 0.1, -rng.random((3, 300))], axis=1)
    dist = jamming.overlap_distributions(gaps, np.array([1e-3, 2e-3, 3e-3]), n_bootstrap=10)
    fig = plot.overlap_figure(dist)
    labels = [t.get_text() for ax in fig.get_axes() for t in ax.get_legend().get_texts()]
    assert any(r"\theta" in label for label in labels) and any(r"\gamma" in label for label in labels)
