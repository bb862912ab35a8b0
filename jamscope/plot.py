"""Matplotlib figures of the experiments (each returns a Figure; saving is the caller's)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from .end_state import FITTED, FROZEN, JAMMED, UNDECIDED  # noqa: E402
from .jamming import OverlapDistributions  # noqa: E402
from .regimes import FluctuationFits, RegimesConfig, regimes_grid, width_sweep  # noqa: E402
from .typing import Bool, Float, typechecked  # noqa: E402

__all__ = [
    "jamming_transition_figure",
    "jamming_point_figure",
    "overlap_figure",
    "hessian_spectra_figure",
    "regimes_figure",
    "fluctuations_figure",
    "deformation_grid_figure",
    "field_statistics_figure",
    "stability_figure",
    "stripe_figure",
    "teacher_student_figure",
    "data_curves_figure",
    "effective_dimension_figure",
    "aging_figure",
    "aging_training_figure",
]


def _legend(ax, **kwargs) -> None:
    """A legend only when something labelled was drawn."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, **kwargs)


def _depth_colors(depths) -> dict[int, str]:
    return {int(d): f"C{i}" for i, d in enumerate(sorted({int(v) for v in depths}))}


_OUTCOME_STYLE = {FITTED: ("o", "fitted"), JAMMED: ("s", "jammed (certified)"),
                  FROZEN: ("v", "frozen (dead units)"), UNDECIDED: ("x", "undecided")}  # fmt: skip
_CERTIFIED = (FITTED, JAMMED)


@typechecked
def jamming_transition_figure(results: xr.Dataset) -> Figure:
    """000 Fig. 6 from a [`run_sweep`][jamscope.sweep.run_sweep] result, by end state: (a) N_Δ/N
    against P/N (filled: certified fitted or jammed runs, line: median over the certified runs of a
    point; open triangles: frozen runs, crosses: undecided ones, both excluded from every
    statistic); (b) N_Δ/N against the final loss L of the certified jammed runs; (c) their
    misclassified patterns against L. Colours: depth L."""
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 3.8), constrained_layout=True)
    colors = _depth_colors(results["depth"].values)
    ratio = (results["n_delta"] / results["n_weights"]).values
    outcome = results["outcome"].values.astype(int)
    loss = results["loss"].values
    for depth, color in colors.items():
        sel = results["depth"].values == depth
        for width in np.unique(results["width"].values[sel]):
            pts = np.flatnonzero(sel & (results["width"].values == width))
            order = pts[np.argsort(results["p_over_n"].values[pts])]
            x = np.repeat(results["p_over_n"].values[order][:, None], ratio.shape[1], 1)
            for code, (marker, _) in _OUTCOME_STYLE.items():
                hit = outcome[order] == code
                face = color if code in _CERTIFIED else "none"
                a.plot(x[hit], ratio[order][hit], marker, ms=4, color=color, mfc=face, alpha=0.6)
            certified = np.where(np.isin(outcome[order], _CERTIFIED), ratio[order], np.nan)
            median = np.array([np.nanmedian(r) if np.any(np.isfinite(r)) else np.nan for r in certified])
            n = int(results["n_weights"].values[pts[0]])
            a.plot(x[:, 0], median, "-", color=color, alpha=0.8, label=f"L = {depth}, N = {n}")
        jammed = sel[:, None] & (outcome == JAMMED)
        b.semilogx(loss[jammed], ratio[jammed], "s", ms=3, color=color, label=f"L = {depth}")
        c.semilogx(loss[jammed], results["misclassified"].values[jammed], "s", ms=3, color=color)
    for code, (marker, name) in _OUTCOME_STYLE.items():
        a.plot([], [], marker, color="k", mfc="k" if code in _CERTIFIED else "none", label=name)
    a.axvspan(2.8, 2.9, color="0.85", label="000: P/N* (N ≈ 8000)")
    a.set(xlabel="P / N", ylabel=r"$N_\Delta / N$", title=r"(a) $N_\Delta/N$ vs $P/N$ (000 Fig. 6a)")
    _legend(a, fontsize=7)
    b.set(xlabel=r"loss $\mathcal{L}$", ylabel=r"$N_\Delta / N$",
          title=r"(b) certified jammed runs (000 Fig. 6b)")  # fmt: skip
    c.set(xlabel=r"loss $\mathcal{L}$", ylabel="misclassified", title="(c) misclassified (000 Fig. 6c)")
    _legend(b)
    return fig


@typechecked
def jamming_point_figure(points: xr.Dataset, times: xr.Dataset | None = None) -> Figure:
    """000 Fig. 5(c) and the finite-size trend, from [`jamming_points`][jamscope.sweep.jamming_points]:
    (a) the jamming point P* against N per depth, bars spanning the bracket of certified runs, with
    P* = 2.85 N (000, N ≈ 8000) and the bound N* ≤ 4P (000 eq. 13, P* ≥ N/4); (b) P/N* against P*
    with 000's band 2.8–2.9 and, from `times` ([`jamming_times`][jamscope.sweep.jamming_times]), the
    brackets known at earlier training times (lighter: earlier)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for depth, color in _depth_colors(points["depth"].values).items():
        groups = np.flatnonzero(points["depth"].values == depth)
        row = points.isel(group=groups)
        n, low, high = row["n_weights"].values, row["ratio_fitted"].values, row["ratio_jammed"].values
        a.errorbar(n, n * 0.5 * (low + high), yerr=n * 0.5 * (high - low), fmt="o", color=color, capsize=3,
                   label=f"L = {depth}")  # fmt: skip
        p_star = n * 0.5 * (low + high)
        if times is not None:
            shown = times["time"].values
            for i, t in enumerate(shown):
                past = times.sel(time=t).isel(group=groups)
                b.vlines(p_star * (1.0 - 0.02 * (len(shown) - i)), past["ratio_fitted"].values,
                         past["ratio_jammed"].values, color=color, alpha=0.2 + 0.6 * i / len(shown), lw=2)
        b.errorbar(p_star, 0.5 * (low + high), yerr=0.5 * (high - low), fmt="o", color=color, capsize=3,
                   label=f"L = {depth}")  # fmt: skip
    finite = np.isfinite(points["n_weights"].values)
    grid = np.linspace(0, np.nanmax(points["n_weights"].values[finite]) * 1.1, 50)
    a.plot(grid, 2.85 * grid, "k--", lw=1, label=r"$P^* = 2.85\,N$ (000, $N \approx 8000$)")
    a.plot(grid, grid / 4, "k:", lw=1, label=r"bound $N^* \leq 4P$")
    a.set(xlabel="N (weights)", ylabel=r"$P^*$", title="(a) jamming point (000 Fig. 5c)")
    _legend(a, fontsize=8)
    b.axhspan(2.8, 2.9, color="0.85", label="000: 2.8–2.9 (N ≈ 8000)")
    b.set(xscale="log", xlabel=r"$P^*$", ylabel=r"$P/N^*$",
          title=r"(b) $P/N^*$ (bars: certified brackets; light: earlier times)")  # fmt: skip
    _legend(b, fontsize=8)
    return fig


@typechecked
def overlap_figure(distributions: OverlapDistributions) -> Figure:
    """000 Fig. 8: P₊(z), z = Δ/√L, and P₋(|Δ|) on log–log axes with the fitted power laws."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    for ax, x, rho, fit, sign, name in (
        (a, distributions.z, distributions.p_plus, distributions.theta, 1, r"\theta"),
        (b, distributions.abs_delta, distributions.p_minus, distributions.gamma, -1, r"\gamma"),
    ):
        ax.loglog(x, np.where(rho > 0, rho, np.nan), ".", label="data")
        window = np.geomspace(fit.low, fit.high, 20)
        inside = (x >= fit.low) & (x <= fit.high) & (rho > 0)
        anchor = (
            np.exp(np.mean(np.log(rho[inside]) - fit.exponent * np.log(x[inside]))) if inside.any() else 1.0
        )
        value = sign * fit.exponent
        ax.loglog(window, anchor * window**fit.exponent, "k-",
                  label=rf"${name} = {value:.2f} \pm {fit.stderr:.2f}$")  # fmt: skip
        _legend(ax)
    a.set(
        xlabel=r"$z = \Delta/\sqrt{\mathcal{L}}$", ylabel=r"$P_+(z)$", title=r"(a) unsatisfied, $\Delta > 0$"
    )
    b.set(xlabel=r"$|\Delta|$", ylabel=r"$P_-(\Delta)$", title=r"(b) satisfied, $\Delta < 0$")
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
    _legend(b)
    h0_modes = nonzero(h0)
    draw(c, h0_modes)
    c.set(xlabel=r"$\lambda$", ylabel=r"$D(\lambda)$", title=r"(c) sp($H_0$)")
    c.text(0.05, 0.05, f"zero modes: {1 - h0_modes.size / n:.2f} N", transform=c.transAxes)
    h_modes = nonzero(h)
    draw(d, h_modes, label=r"$\lambda > 0$")
    draw(d, -h_modes, label=r"$\lambda < 0$ (as $|\lambda|$)")
    d.set(xlabel=r"$|\lambda|$", ylabel=r"$D(\lambda)$", title=r"(d) sp($H$)")
    _legend(d)
    return fig


def _linearized_errors(stats: xr.Dataset) -> dict[int, float]:
    lin = stats.isel(point=np.flatnonzero(stats["kind"].values == "linearized"))
    return {int(h): float(e) for h, e in zip(lin["width"].values, lin["test_error"].values, strict=True)}


@typechecked
def regimes_figure(stats: xr.Dataset, config: RegimesConfig) -> Figure:
    """Lazy vs feature learning from [`ensemble_statistics`][jamscope.regimes.ensemble_statistics]:
    (a) test error of single nets (solid, ± s.e.m.) and of the ensemble (dashed) against α√h per
    width, the frozen-NTK (linearized) error as dotted lines (thesis ch. 3 Figs. 3d, 4c);
    (b) ‖Θ_t − Θ_0‖/‖Θ_0‖ against α√h with the lazy prediction ∝ (α√h)^(−1) (Fig. 5a);
    (c) h · Var F against α√h (Fig. 4b); (d) the (h, α√h) phase diagram of the ensemble test error
    with the contour ‖ΔΘ‖/‖Θ_0‖ = 1 (001 Fig. 4)."""
    grid = regimes_grid(stats, config)
    s = grid["scaled_alpha"].values
    lazy = _linearized_errors(stats)
    fig, (a, b, c, d) = plt.subplots(1, 4, figsize=(17, 3.8), constrained_layout=True)
    for i, h in enumerate(config.widths):
        row, color = grid.sel(width=h), f"C{i}"
        err, sem = row["test_error"].values, row["test_error_sem"].values
        a.semilogx(s, err, "o-", color=color, label=f"h = {h}")
        a.fill_between(s, err - sem, err + sem, color=color, alpha=0.15)
        a.semilogx(s, row["ensemble_error"].values, "s--", color=color, mfc="none")
        if h in lazy:
            a.axhline(lazy[h], color=color, ls=":", lw=1)
        b.loglog(s, row["kernel_change"].values, "o-", color=color, label=f"h = {h}")
        c.loglog(s, h * row["variance"].values, "o-", color=color, label=f"h = {h}")
    a.set(xlabel=r"$\alpha\sqrt{h}$", ylabel="test error", title="(a) single (—), ensemble (- -), NTK (···)")
    _legend(a, fontsize=8)
    ref = s[s >= 10]
    if ref.size:
        level = float(np.nanmean(grid["kernel_change"].sel(scaled_alpha=ref[0]).values))
        b.loglog(ref, level * ref[0] / ref, "k--", lw=1, label=r"$\propto (\alpha\sqrt{h})^{-1}$")
    b.axhline(1.0, color="gray", lw=0.8)
    b.set(
        xlabel=r"$\alpha\sqrt{h}$",
        ylabel=r"$\|\Theta_t - \Theta_0\| / \|\Theta_0\|$",
        title="(b) kernel change",
    )
    _legend(b, fontsize=8)
    c.set(xlabel=r"$\alpha\sqrt{h}$", ylabel=r"$h \, \mathrm{Var}\, F$", title="(c) output variance")
    _legend(c, fontsize=8)
    widths = np.asarray(config.widths, dtype=float)
    mesh = d.pcolormesh(widths, s, grid["ensemble_error"].values.T, shading="nearest", cmap="viridis")
    if widths.size > 1:
        d.contour(widths, s, grid["kernel_change"].values.T, levels=[1.0], colors="w", linewidths=1.5)
    fig.colorbar(mesh, ax=d, label="ensemble test error")
    d.set(xscale="log", yscale="log", xticks=widths, xticklabels=[str(int(h)) for h in widths])
    d.xaxis.set_minor_formatter(NullFormatter())
    d.set(xlabel="width h", ylabel=r"$\alpha\sqrt{h}$",
          title=r"(d) phase diagram, $\|\Delta\Theta\|/\|\Theta_0\| = 1$ (white)")  # fmt: skip
    return fig


@typechecked
def fluctuations_figure(stats: xr.Dataset, config: RegimesConfig, fits: FluctuationFits) -> Figure:
    """Output fluctuations and ensembling against the number of parameters N (004 Figs. 2, 5, 7):
    (a) test error of single nets ε(N) and of the ensemble ε̄(N) with the fits ε∞ + B N^(−1/2);
    (b) ‖F − F̄‖ with the fitted exponent and the predicted N^(−1/4); (c) the output norm ‖F‖,
    which grows approaching N* from above. The vertical line marks N*."""
    sweep = width_sweep(stats, config)
    n = sweep["n_params"].values.astype(float)
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 3.8), constrained_layout=True)
    above = np.geomspace(fits.error.low, n.max(), 50)
    a.semilogx(n, sweep["test_error"].values, "o-", label=r"single nets $\epsilon$")
    a.semilogx(n, sweep["ensemble_error"].values, "s-", label=r"ensemble $\bar\epsilon$")
    for fit, color in ((fits.error, "C0"), (fits.ensemble_error, "C1")):
        a.semilogx(above, fit.offset + fit.prefactor * above**fit.exponent, "--", color=color, lw=1,
                   label=rf"${fit.offset:.3f} + {fit.prefactor:.2g}\,N^{{-1/2}}$")  # fmt: skip
    a.set(xlabel="N", ylabel="test error", title=r"(a) $\epsilon(N)$ and $\bar\epsilon(N)$")
    _legend(a, fontsize=8)
    b.loglog(n, sweep["fluctuation"].values, "o-", label=r"$\|F - \bar F\|$")
    f = fits.fluctuation
    b.loglog(above, f.prefactor * above**f.exponent, "k--", lw=1, label=rf"fit $N^{{{f.exponent:.2f}}}$")
    anchor = f.prefactor * above[0] ** f.exponent
    b.loglog(above, anchor * (above / above[0]) ** -0.25, ":", color="gray", label=r"$N^{-1/4}$ (004)")
    b.set(xlabel="N", ylabel=r"$\|F - \bar F\|$", title="(b) output fluctuations")
    _legend(b, fontsize=8)
    c.loglog(n, sweep["output_norm"].values, "o-")
    c.set(xlabel="N", ylabel=r"$\|F\|$", title=r"(c) output norm")
    for ax in (a, b, c):
        ax.axvline(fits.n_star, color="gray", ls="--", lw=0.8)
    return fig


@typechecked
def deformation_grid_figure(
    images: Float[np.ndarray, "rows cols H W"],
    cutoffs: Float[np.ndarray, " rows"],
    temperatures: Float[np.ndarray, " cols"],
    admissible: Bool[np.ndarray, "rows cols"],
    deltas: Float[np.ndarray, "rows cols"],
) -> Figure:
    """One image deformed over the (T, c) plane (thesis ch. 4 Fig. 1): rows are cutoffs c, columns
    temperatures T; the frames of the admissible band T_min(c) < T < T_max(c) are green, and each cell
    shows δ (eq. 3)."""
    rows, cols = admissible.shape
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.4 * rows), squeeze=False)
    low, high = float(images.min()), float(images.max())
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            ax.imshow(images[i, j], cmap="gray_r", vmin=low, vmax=high)
            ax.set_xticks([])
            ax.set_yticks([])
            color, width = ("tab:green", 3) if admissible[i, j] else ("lightgray", 1)
            for spine in ax.spines.values():
                spine.set(color=color, linewidth=width)
            ax.set_title(rf"$\delta$={deltas[i, j]:.2g}", fontsize=7, pad=2)
            if j == 0:
                ax.set_ylabel(f"c = {cutoffs[i]:g}")
            if i == rows - 1:
                ax.set_xlabel(f"T = {temperatures[j]:.1e}", fontsize=7)
    fig.suptitle(r"$[\tau x](s) = x(s - \tau(s))$; green: $T_{\min}(c) < T < T_{\max}(c)$ (eqs. 8, 14)")
    fig.tight_layout()
    return fig


@typechecked
def field_statistics_figure(fields: xr.Dataset) -> Figure:
    """Thesis ch. 4 Fig. 8 from [`field_statistics`][jamscope.diffeo_sweep.field_statistics]:
    (a) the measured δ against eq. 3's (π/4) n² T ln c, with the exact App. B sum (dashed);
    (b) the median of max_s Ξ against eq. 13's (c/2)√(π³ T ln c); (c) the fraction of bijective
    fields (max Ξ < 1) against T/T_max(c)."""
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    for i, cutoff in enumerate(fields["cutoff"].values):
        row, color = fields.sel(cutoff=cutoff), f"C{i}"
        a.loglog(row["delta_eq3"], row["delta"], "o", color=color, label=f"c = {cutoff:g}")
        a.loglog(row["delta_eq3"], row["delta_exact"], "--", color=color, lw=1)
        b.loglog(row["max_xi_eq13"], row["median_max_xi"], "o", color=color, label=f"c = {cutoff:g}")
        c.semilogx(
            row["temperature"] / row["t_max"], row["bijective"], "o-", color=color, label=f"c = {cutoff:g}"
        )
    for ax in (a, b):
        lo, hi = ax.get_xlim()
        ax.loglog([lo, hi], [lo, hi], "k:", lw=1, label="y = x")
        _legend(ax, fontsize=8)
    a.set(
        xlabel=r"$\delta$ of eq. 3", ylabel=r"measured $\delta$", title=r"(a) displacement (- -: exact sum)"
    )
    b.axhline(1.0, color="gray", lw=0.8)
    b.set(
        xlabel=r"$(c/2)\sqrt{\pi^3 T \ln c}$ (eq. 13)",
        ylabel=r"median $\max_s \Xi$",
        title=r"(b) $\max_s\Xi$",
    )
    c.axvline(1.0, color="gray", ls="--", lw=0.8)
    c.axhline(0.5, color="gray", lw=0.8)
    c.set(xlabel=r"$T / T_{\max}(c)$", ylabel=r"fraction with $\max_s\Xi < 1$", title="(c) bijective fields")
    _legend(c, fontsize=8)
    return fig


def _select(summary: xr.Dataset, kind: str, arch: str) -> xr.Dataset:
    mask = (summary["kind"] == kind) & (summary["arch"] == arch)
    sel = summary.isel(point=np.flatnonzero(mask.values))
    return sel.isel(point=np.argsort(sel["n_train"].values))


@typechecked
def stability_figure(summary: xr.Dataset) -> Figure:
    """D_f, G_f, R_f and the test error against P at initialization (dashed) and after training
    (solid), one colour per architecture (thesis ch. 4 Figs. 3-right and 6), from
    [`stability_summary`][jamscope.diffeo_sweep.stability_summary]."""
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8), constrained_layout=True)
    names = [("d_f", "$D_f$"), ("g_f", "$G_f$"), ("r_f", "$R_f$"), ("test_error", "test error")]
    images = summary.isel(point=np.flatnonzero(summary["kind"].values == "image"))
    for i, arch in enumerate(sorted(set(images["arch"].values.tolist()))):
        sel = _select(summary, "image", arch)
        p = sel["n_train"].values
        for ax, (name, label) in zip(axes, names, strict=True):
            ax.loglog(p, sel[name].sel(state="trained"), "o-", color=f"C{i}", label=f"{arch} trained")
            if name != "test_error":
                ax.loglog(
                    p, sel[name].sel(state="init"), "o--", color=f"C{i}", mfc="none", label=f"{arch} init"
                )
            ax.set(xlabel="training-set size P", ylabel=label, xticks=p, xticklabels=[str(int(v)) for v in p])
            ax.xaxis.set_minor_formatter(NullFormatter())
    axes[2].axhline(1.0, color="gray", lw=0.8)
    for ax, title in zip(
        axes, ("(a) diffeomorphisms", "(b) noise", "(c) relative stability", "(d)"), strict=True
    ):
        ax.set_title(title)
    _legend(axes[2], fontsize=8)
    return fig


@typechecked
def stripe_figure(summary: xr.Dataset) -> Figure:
    """R_f of eq. 6 against P for the stripe model (thesis ch. 4 Fig. 7-right), at initialization
    (of f₀, dashed) and after training (solid), with the predicted P⁻¹."""
    sel = _select(summary, "stripe", "fc")
    p = sel["n_train"].values.astype(float)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.8), constrained_layout=True)
    trained = sel["r_f"].sel(state="trained").values
    a.loglog(p, trained, "o-", label="trained")
    a.loglog(p, sel["r_f"].sel(state="init").values, "o--", mfc="none", label="init")
    a.loglog(p, trained[0] * p[0] / p, "k:", lw=1, label=r"$\propto P^{-1}$")
    a.set(xlabel="P", ylabel="$R_f$ (eq. 6)", title="(a) stripe model")
    _legend(a, fontsize=8)
    b.semilogx(p, sel["test_error"].sel(state="trained").values, "o-")
    b.set(xlabel="P", ylabel="test error", title="(b)")
    return fig


def _power_law(ax, n, fit, style="--", color="k", label=None) -> None:
    """The fitted C n^(−b) over the fit window (clipped to the data)."""
    shown = n[(n >= fit.low) & (n <= fit.high)]
    ax.loglog(shown, fit.prefactor * shown ** (-fit.exponent), style, color=color, lw=1, label=label)


def teacher_student_figure(results: xr.Dataset, betas: xr.Dataset, fits: dict) -> Figure:
    """Thesis ch. 6 Fig. 2: E MSE against n for each d (one panel per teacher, Laplace student) with the
    fitted power laws, and the fitted β against d with Theorem 1's prediction (eq. 7)."""
    teachers = results["teacher"].values.tolist()
    fig, axes = plt.subplots(1, len(teachers) + 1, figsize=(4.6 * (len(teachers) + 1), 3.8),
                             constrained_layout=True)  # fmt: skip
    n = results["n"].values.astype(float)
    colors = plt.cm.viridis(np.linspace(0, 0.9, results.sizes["d"]))
    for ax, teacher in zip(axes, teachers, strict=False):
        for color, d in zip(colors, results["d"].values, strict=False):
            mean = results["teacher_student"].sel(teacher=teacher, d=d).mean("repeat").values
            ax.loglog(n, mean, "o-", color=color, ms=3, label=f"d = {d}")
            if fits.get((teacher, int(d))) is not None:
                _power_law(ax, n, fits[(teacher, int(d))], color=color)
        ax.set(xlabel="n", ylabel="E MSE", title=f"{teacher} teacher, Laplace student")
        _legend(ax, fontsize=7)
    ax = axes[-1]
    d = betas["d"].values
    for teacher, marker in zip(teachers, "os", strict=False):
        row = betas.sel(teacher=teacher)
        err = np.abs(np.stack([(row["beta"] - row["ci_low"]).values, (row["ci_high"] - row["beta"]).values]))
        ax.errorbar(d, row["beta"].values, yerr=err, fmt=marker, mfc="none", label=f"{teacher}: fitted")
        ax.plot(d, row["predicted"].values, "-", lw=1.5, label=f"{teacher}: Theorem 1")
    ax.set(xlabel="d", ylabel=r"$\beta$", yscale="log", title=r"$\beta = \min(\alpha_T - d, 2\alpha_S)/d$")
    _legend(ax, fontsize=7)
    return fig


def data_curves_figure(results: xr.Dataset, fits: dict, kpca: dict, name: str) -> Figure:
    """Thesis ch. 6 Figs. 1 and 3: regression MSE and SVM error against n for each kernel with the fitted
    β, and the kernel-PCA tail Σ_{ρ ≥ n} (Z·φ_ρ)² (eq. 14) with its fit."""
    tasks = results["task"].values.tolist()
    fig, axes = plt.subplots(
        1, len(tasks) + 1, figsize=(4.6 * (len(tasks) + 1), 3.8), constrained_layout=True
    )
    n = results["data_n"].values.astype(float)
    for ax, task in zip(axes, tasks, strict=False):
        for kernel, color in zip(results["kernel"].values, ("C0", "C1"), strict=False):
            mean = results["data_error"].sel(kernel=kernel, task=task).mean("data_repeat").values
            fit = fits.get((str(kernel), task))
            label = str(kernel) + ("" if fit is None else f": β = {fit.exponent:.2f}")
            ax.loglog(n, mean, "o-", color=color, ms=3, label=label)
            if fit is not None:
                _power_law(ax, n, fit, color=color)
        ylabel = "test MSE (eq. 4)" if task == "regression" else "test error (eq. 24, SVM)"
        ax.set(xlabel="n", ylabel=ylabel, title=f"{name} parity, {task}")
        _legend(ax, fontsize=7)
    ax = axes[-1]
    rank = results["rank"].values.astype(float)
    for kernel, color in zip(results["kernel"].values, ("C0", "C1"), strict=False):
        fit = kpca[str(kernel)]
        ax.loglog(rank, results["kpca_tail"].sel(kernel=kernel).values, color=color,
                  label=f"{kernel}: β̂ = a − 1 = {fit.exponent:.2f}")  # fmt: skip
        _power_law(ax, rank, fit, color=color)
    ax.set(
        xlabel=r"rank $n$", ylabel=r"$\sum_{\rho \geq n} (Z\cdot\phi_\rho)^2$", title="kernel PCA (eq. 14)"
    )
    _legend(ax, fontsize=7)
    return fig


def effective_dimension_figure(results: xr.Dataset, d_eff: dict[str, float], name: str) -> Figure:
    """Thesis ch. 6 Fig. 4: ⟨δ_min⟩ against n on spheres S^d and on the data, each rescaled to 1 at its
    smallest n, with the fitted d_eff (eq. 15)."""
    fig, ax = plt.subplots(figsize=(5.4, 4), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0, 0.9, results.sizes["sphere_d"]))
    for color, d in zip(colors, results["sphere_d"].values, strict=False):
        mean = results["sphere_delta_min"].sel(sphere_d=d).mean("nn_repeat").values
        n = results["sphere_n"].values.astype(float)
        ax.loglog(n, mean / mean[0], "o-", ms=3, color=color, label=f"$S^{{{d}}}$: fit {d_eff[f'S^{d}']:.1f}")
        ax.loglog(n, (n / n[0]) ** (-1 / d), ":", lw=1, color=color)
    mean = results["data_delta_min"].mean("nn_repeat").values
    n = results["data_nn_n"].values.astype(float)
    ax.loglog(n, mean / mean[0], "s-", color="C3", label=f"{name}: $d_{{eff}}$ = {d_eff['data']:.1f}")
    ax.set(
        xlabel="n",
        ylabel=r"$\langle\delta_{\min}\rangle$ (rescaled)",
        title=r"$\langle\delta_{\min}\rangle \sim n^{-1/d_{eff}}$ (eq. 15); dotted: $n^{-1/d}$",
    )
    _legend(ax, fontsize=7)
    return fig


PAPER_MU = (0.709, 0.017)
"""003 Fig. 6: μ = 0.709 ± 0.017 (MNIST, H = 3, widths 7–17)."""


def _mu_text(fit) -> str:
    return "no fit" if fit is None else f"μ = {fit.mu:.2f} [{fit.ci_low:.2f}, {fit.ci_high:.2f}]"


def aging_figure(results: xr.Dataset, t_star: xr.DataArray, fits: dict, collapse: dict) -> Figure:
    """003 Figs. 2 and 5: Δ(t_w, t_w + t) against t for several t_w (one panel per depth, run average,
    Δ* dashed) and t* against t_w with the fitted t_w^μ (top); Δ against t/t_w^μ with the fitted μ, and μ
    per depth against 003's 0.709 ± 0.017 (bottom)."""
    depths = [int(d) for d in results["depth"].values]
    colors = _depth_colors(depths)
    fig, axes = plt.subplots(
        2, len(depths) + 1, figsize=(3.8 * (len(depths) + 1), 6.8), constrained_layout=True
    )
    t = results["t"].values.astype(float)
    t_w = results["t_w"].values.astype(float)
    shades = plt.cm.viridis(np.linspace(0, 0.9, t_w.size))
    delta_star = float(np.asarray(results.attrs.get("delta_star", 1e-2)))
    for column, depth in enumerate(depths):
        mean = results["msd"].sel(depth=depth).mean("run").values
        fit = fits.get(depth)
        mu = fit.mu if fit is not None else collapse.get(depth, 1.0)
        for row, exponent in ((0, 0.0), (1, mu)):
            ax = axes[row, column]
            for shade, w, curve in zip(shades, t_w, mean, strict=True):
                keep = (t > 0) & np.isfinite(curve)
                ax.loglog(
                    t[keep] / w**exponent, curve[keep], "-", color=shade, lw=1, label=f"$t_w$ = {w:.0f}"
                )
            ax.axhline(delta_star, color="k", ls="--", lw=0.8)
        width, count = int(results["width"].sel(depth=depth)), int(results["n_params"].sel(depth=depth))
        axes[0, column].set(
            xlabel="t", ylabel=r"$\Delta(t_w, t_w + t)$", title=f"H = {depth}, w = {width}, P = {count}"
        )
        axes[1, column].set(xlabel=rf"$t / t_w^{{{mu:.2f}}}$", ylabel=r"$\Delta$", title="collapse")
    _legend(axes[0, 0], fontsize=6)
    ax = axes[0, -1]
    for depth in depths:
        values = t_star.sel(depth=depth).values
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.log(np.where(values > 0, values, np.nan))
        finite = np.isfinite(logs).sum(axis=0) > 0
        mean = np.full(t_w.size, np.nan)
        mean[finite] = np.exp(np.nanmean(logs[:, finite], axis=0))
        ax.loglog(
            t_w, mean, "o", color=colors[depth], mfc="none", label=f"H = {depth}: {_mu_text(fits.get(depth))}"
        )
        fit = fits.get(depth)
        if fit is not None:
            shown = t_w[(t_w >= fit.low) & (t_w <= fit.high)]
            ax.loglog(shown, fit.prefactor * shown**fit.mu, "-", color=colors[depth], lw=1)
    ax.set(xlabel=r"$t_w$", ylabel=rf"$t^*$ ($\Delta^*$ = {delta_star:g})", title=r"$t^* \sim t_w^\mu$")
    _legend(ax, fontsize=6)
    ax = axes[1, -1]
    ax.axhspan(PAPER_MU[0] - PAPER_MU[1], PAPER_MU[0] + PAPER_MU[1], color="0.85", label="003: 0.709 ± 0.017")
    for depth in depths:
        fit = fits.get(depth)
        if fit is not None:
            ax.errorbar([depth], [fit.mu], yerr=[[fit.mu - fit.ci_low], [fit.ci_high - fit.mu]], fmt="o",
                        color=colors[depth])  # fmt: skip
        ax.plot([depth], [collapse.get(depth, np.nan)], "x", color=colors[depth])
    ax.axhline(1.0, color="k", lw=0.6, ls=":")
    ax.set(xlabel="H", ylabel=r"$\mu$", title="fit (o, 95 % CI) and collapse (x)", xticks=depths)
    _legend(ax, fontsize=7)
    return fig


def aging_training_figure(results: xr.Dataset, hessian_depth: int | None = None) -> Figure:
    """003 Figs. 1, 4, A.3, 7 and A.1: training loss (cross-entropy) and accuracy against the step, the
    full-batch gradient norm, the Hessian spectrum at a few snapshots (boxplots, first run) and the
    sorted eigenvalues at the first and last of them, for depth `hessian_depth` (default: the middle one)."""
    depths = [int(d) for d in results["depth"].values]
    colors = _depth_colors(depths)
    fig, axes = plt.subplots(1, 5, figsize=(20, 3.8), constrained_layout=True)
    steps = np.maximum(results["record_step"].values, 1)
    snapshot_steps = np.maximum(results["snapshot_step"].values, 1)
    for depth in depths:
        label = f"H = {depth}"
        for ax, name in zip(axes[:2], ("loss", "accuracy"), strict=True):
            ax.semilogx(
                steps, results[name].sel(depth=depth).mean("run").values, color=colors[depth], label=label
            )
        axes[2].loglog(snapshot_steps, results["gradient_norm"].sel(depth=depth).mean("run").values,
                       color=colors[depth], lw=1, label=label)  # fmt: skip
    axes[0].set(xlabel="step t", ylabel="training cross-entropy", title="loss (run average)")
    axes[1].set(xlabel="step t", ylabel="training accuracy", title="accuracy (run average)")
    axes[2].set(xlabel="step t", ylabel=r"$\|\nabla L_D\|$", title="full-batch gradient norm")
    for ax in axes[:3]:
        _legend(ax, fontsize=7)
    depth = depths[len(depths) // 2] if hessian_depth is None else hessian_depth
    spectra = results["hessian"].sel(depth=depth)
    count = int(results["n_params"].sel(depth=depth))
    if spectra.sizes["hessian_run"] and not np.all(np.isnan(spectra.values)):
        eigen = spectra.isel(hessian_run=0).values[:, :count]
        labels = [f"{s:.0f}" for s in results["hessian_snapshot_step"].values]
        axes[3].boxplot(list(eigen), tick_labels=labels, showfliers=True, flierprops={"markersize": 2})
        axes[3].set_yscale("symlog", linthresh=1e-3)
        axes[4].plot(np.arange(1, count + 1), eigen[0], "o", ms=2, label=f"t = {labels[0]}")
        axes[4].plot(np.arange(1, count + 1), eigen[-1], "o", ms=2, label=f"t = {labels[-1]}")
        axes[4].set_yscale("symlog", linthresh=1e-3)
        _legend(axes[4], fontsize=7)
    axes[3].set(xlabel="step t", ylabel="Hessian eigenvalues", title=f"H = {depth}, run 0 (003 Fig. 7)")
    axes[4].set(xlabel="rank", ylabel="eigenvalue (sorted)", title=f"H = {depth} (003 Fig. A.1)")
    return fig
