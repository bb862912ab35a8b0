"""Matplotlib figures of the experiments (each returns a Figure; saving is the caller's)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .typing import Float, typechecked  # noqa: E402

__all__ = ["jamming_demo_figure", "hessian_spectra_figure"]


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


@typechecked
def hessian_spectra_figure(
    h: Float[np.ndarray, " N"],
    h0: Float[np.ndarray, " N"],
    hp: Float[np.ndarray, " N"],
    loss: float,
    *,
    zero_rtol: float | None = None,
    n_bins: int = 40,
) -> Figure:
    """The four panels of 000 Fig. 7 from the eigenvalues of H, H0 and Hp (log-binned densities).

    (a) positive part of sp(Hp); (b) the same against λ/√L, the variable in which 000 Fig. 7b
    collapses spectra taken at different losses L; (c) sp(H0) with the weight of its zero-mode
    peak; (d) sp(H), positive and negative parts. In every panel eigenvalues with
    |λ| ≤ `zero_rtol` · max|λ| (default N · ε) are zero modes: they are counted, not binned.
    Densities are normalized by N (000 Fig. 7), so each curve integrates to its share of modes.
    `loss` is the training loss L > 0.
    """
    from .fits import log_binned_density

    n = h.shape[0]
    rtol = n * np.finfo(float).eps if zero_rtol is None else zero_rtol
    if not loss > 0:
        raise ValueError(f"`loss` must be > 0 (λ is rescaled by √L), got {loss}")

    def nonzero(lam):
        return lam[np.abs(lam) > rtol * np.max(np.abs(lam))]

    def draw(ax, values, **kwargs):
        if np.any(values > 0):
            x, rho = log_binned_density(values, n_bins=n_bins, total=n)
            ax.loglog(x, np.where(rho > 0, rho, np.nan), ".-", **kwargs)

    fig, (a, b, c, d) = plt.subplots(1, 4, figsize=(15, 3.4), constrained_layout=True)
    hp_modes = nonzero(hp)
    draw(a, hp_modes)
    a.set(xlabel=r"$\lambda$", ylabel=r"$D(\lambda)$", title=r"(a) sp($H_p$), $\lambda > 0$")
    draw(b, hp_modes / np.sqrt(loss), label=r"$\lambda > 0$")
    draw(b, -hp_modes / np.sqrt(loss), label=r"$\lambda < 0$ (as $|\lambda|$)")
    b.set(xlabel=r"$|\lambda| / \sqrt{\mathcal{L}}$", ylabel=r"$D$", title=r"(b) sp($H_p$) rescaled")
    b.legend(frameon=False)
    h0_modes = nonzero(h0)
    draw(c, h0_modes)
    c.set(xlabel=r"$\lambda$", ylabel=r"$D(\lambda)$", title=r"(c) sp($H_0$)")
    c.text(0.05, 0.05, f"zero modes: {1 - h0_modes.size / n:.2f} N", transform=c.transAxes)
    h_modes = nonzero(h)
    draw(d, h_modes, label=r"$\lambda > 0$")
    draw(d, -h_modes, label=r"$\lambda < 0$ (as $|\lambda|$)")
    d.set(xlabel=r"$|\lambda|$", ylabel=r"$D(\lambda)$", title=r"(d) sp($H$)")
    d.legend(frameon=False)
    return fig
