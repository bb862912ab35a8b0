"""Matplotlib figures of the experiments (each returns a Figure; saving is the caller's)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .typing import typechecked  # noqa: E402

__all__ = ["jamming_demo_figure"]


@typechecked
def jamming_demo_figure(results: xr.Dataset) -> Figure:
    """N_Δ/N and the final loss against P/N, one point per seed (000 Fig. 6a style)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    ratio = np.repeat(results["p_over_n"].values[:, None], results.sizes["seed"], axis=1)
    n_delta = results["n_delta"].values / results["n_params"].values[:, None]
    left.scatter(ratio.ravel(), n_delta.ravel(), s=14, alpha=0.7)
    left.plot(results["p_over_n"], np.median(n_delta, axis=1), "k-", lw=1, label="median over seeds")
    left.set(xlabel="P / N", ylabel=r"$N_\Delta / N$", title="unsatisfied patterns at the end")
    left.legend(frameon=False)
    loss = results["loss"].values.ravel()
    fitted = loss == 0
    floor = loss[~fitted].min() / 10 if np.any(~fitted) else 1e-12
    right.scatter(ratio.ravel()[~fitted], loss[~fitted], s=14, alpha=0.7, label="loss > 0")
    right.scatter(ratio.ravel()[fitted], np.full(fitted.sum(), floor), marker="v", s=18, c="k",
                  label="loss = 0 (fitted)")  # fmt: skip
    right.set(xlabel="P / N", ylabel="final loss", yscale="log", title="final loss")
    right.legend(frameon=False, loc="lower right")
    fig.suptitle(
        f"jamming demo: P = {results.attrs['n_train']}, d = {results.attrs['dim']}, "
        f"L = {results.attrs['depth']}, ReLU, quadratic hinge"
    )
    return fig
