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
