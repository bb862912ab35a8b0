"""Run a sweep and turn it into the figures and numbers of the papers: the jamming sweep (000 Figs. 5c,
6, 7, 8), the lazy/feature regimes sweep with its fluctuations (thesis ch. 3, 001 Fig. 4, 004), and
the relative stability to diffeomorphisms (thesis ch. 4 Figs. 1, 3, 6, 7, 8) and the kernel learning
curves (thesis ch. 6 Figs. 1–4)."""

import json
import math
from pathlib import Path

import numpy as np
import xarray as xr
from jax.sharding import Mesh

from .aging_sweep import (
    AgingConfig,
    aging_fits,
    collapse_exponents,
    gradient_rms,
    relaxation_times,
    run_aging,
)
from .diffeo_sweep import (
    DiffeoConfig,
    deformation_grid,
    field_statistics,
    image_side,
    load_images,
    run_diffeo,
    stability_slope,
    stability_summary,
)
from .end_state import FITTED, FROZEN, JAMMED, UNDECIDED
from .fits import scaling_fit
from .io import save_netcdf
from .jamming import overlap_distributions
from .kernel_sweep import (
    KernelsConfig,
    beta_table,
    data_betas,
    effective_dimensions,
    kpca_beta,
    run_kernels,
    teacher_student_fits,
)
from .plot import (
    aging_figure,
    aging_training_figure,
    data_curves_figure,
    deformation_grid_figure,
    effective_dimension_figure,
    field_statistics_figure,
    fluctuations_figure,
    hessian_spectra_figure,
    jamming_point_figure,
    jamming_transition_figure,
    overlap_figure,
    regimes_figure,
    stability_figure,
    stripe_figure,
    teacher_student_figure,
)
from .regimes import (
    FluctuationFits,
    RegimesConfig,
    crossover,
    ensemble_statistics,
    fluctuation_fits,
    kernel_change_slope,
    regimes_grid,
    run_regimes,
)
from .sweep import SweepConfig, extrapolate, jamming_points, jamming_times, near_jamming, run_sweep
from .typing import typechecked

__all__ = [
    "jamming_report", "summarize_sweep", "regimes_report", "summarize_regimes", "diffeo_report",
    "summarize_diffeo", "kernels_report", "summarize_kernels", "aging_report", "summarize_aging",
]  # fmt: skip


def _analyse(results: xr.Dataset):
    """P/N* brackets now and along the training time, the certified jammed runs next to the
    transition and their gap distributions (or why there are none)."""
    points = jamming_points(results)
    times = jamming_times(results)
    try:
        near = near_jamming(results)
    except ValueError as err:
        return points, times, None, f"no N_Δ/N, C0, θ, γ: {err}"
    try:
        return points, times, near, overlap_distributions(near["gaps"].values, near["loss"].values,
                                                          n_bootstrap=200)  # fmt: skip
    except ValueError as err:
        return points, times, near, f"gap exponents not fitted: {err}"


@typechecked
def summarize_sweep(results: xr.Dataset) -> str:
    """The numbers 000 reports, measured on certified runs of a sweep, each beside the paper's value
    and the size used: P/N* per (depth, N) with its bracket and its trend with the training time,
    the extrapolation N → ∞, N_Δ/N just past the jump, C0 = N₋/N of Hp, θ and γ of the gap
    distributions, and the bounds of 000 eqs. 11–13."""
    return _summary(results, *_analyse(results))


def _count_line(results: xr.Dataset) -> str:
    codes = results["outcome"].values.astype(int)
    plateau = float(results["plateau"].values[0])
    return (f"end states of {codes.size} runs after at most {int(results['time'].values[-1])} steps: "
            f"{np.sum(codes == FITTED)} fitted, {np.sum(codes == JAMMED)} jammed (loss fell < {plateau:.0%} "
            f"over a decade at constant lr), {np.sum(codes == FROZEN)} frozen (so stopped, every unsatisfied "
            f"pattern on dead units), {np.sum(codes == UNDECIDED)} undecided"
            f"{_marginal(results, codes)}")  # fmt: skip


def _marginal(results: xr.Dataset, codes: np.ndarray) -> str:
    """The fitted runs whose last patterns stopped at Δ = 0 to float64 precision (n_marginal)."""
    if "n_marginal" not in results:
        return ""
    on_margin = int(np.sum(results["n_marginal"].values[codes == FITTED] > 0))
    return f"; {on_margin} fitted runs end with patterns at Δ = 0 to float64 precision" if on_margin else ""


def _time_trend(times: xr.Dataset, g: int) -> str:
    """The bracket of group `g` as known at the training times of `times` (N*(P, t))."""
    parts = []
    for t in times["time"].values:
        row = times.sel(time=t).isel(group=g)
        low, high = float(row["ratio_fitted"]), float(row["ratio_jammed"])
        text = f"[{low:.2f}, {high:.2f})" if np.isfinite(low) else "not bracketed"
        parts.append(f"{t:.2g} steps: {text}")
    return "; ".join(parts)


_DRIFT = 2.0
"""Growth of the weights' norm under Newton beyond which the report flags a drift: L falling as the
weights grow (saturating tanh units feel exponentially small forces), not a minimum nearby."""


def _newton_lines(results: xr.Dataset) -> list[str]:
    """The Newton test of the runs that did not fit (smooth activations, `newton=True`)."""
    tested = results["newton_certified"].values if "newton_certified" in results else np.zeros(0)
    tested = tested[np.isfinite(tested)]
    if tested.size == 0:
        return []
    ok = results["newton_certified"].values == 1
    other = np.isfinite(results["newton_certified"].values) & ~ok
    lines = [f"Newton test of the {tested.size} runs that did not fit (force balance ≤ 1e-9, "
             f"λ_min/λ_max ≥ −1e-9): {int(ok.sum())} certified minima"]  # fmt: skip
    if ok.any():
        curvature, value, growth = (results[f"newton_{name}"].values[ok]
                                    for name in ("curvature", "loss", "growth"))  # fmt: skip
        lines[-1] += (f", λ_min/λ_max ≥ {curvature.min():.1e} (H ⪰ 0), L from {value.min():.3g} to "
                      f"{value.max():.3g}, the weights' norm ×{growth.min():.4g} to "
                      f"×{growth.max():.4g}")  # fmt: skip
        if growth.max() > _DRIFT:
            lines[-1] += " (grown: certified as its units saturated, not a minimum at finite weights nearby)"
    if other.any():
        balance, curvature, growth = (results[f"newton_{name}"].values[other]
                                      for name in ("force_balance", "curvature", "growth"))  # fmt: skip
        lines.append(f"  not certified: {int(other.sum())}, with force balance {balance.min():.1e} to "
                     f"{balance.max():.1e}, λ_min/λ_max {curvature.min():.1e} to {curvature.max():.1e}, the "
                     f"weights' norm ×{growth.min():.4g} to ×{growth.max():.4g} under Newton")  # fmt: skip
        if growth.max() > _DRIFT:
            lines[-1] += " (L falls as the weights grow: no minimum at finite weights nearby)"
    return lines


def _one_sided(row: xr.Dataset) -> str:
    """The bound that the decided points of one (depth, N) do give when they bracket nothing."""
    fitted, jammed = float(row["largest_fitted"]), float(row["smallest_jammed"])
    bounds = ([f"P/N* ≥ {fitted:.2f}: fitted there"] if np.isfinite(fitted) else []) + (
        [f"P/N* < {jammed:.2f}: jammed there"] if np.isfinite(jammed) else [])  # fmt: skip
    return f" ({', '.join(bounds)})" if bounds else ""


def _summary(results: xr.Dataset, points: xr.Dataset, times: xr.Dataset, near, dist) -> str:
    standard = results["parametrization"].values[0] == "standard"
    protocol = ("standard" if standard else "NTK") + " parametrization, orthogonal init"
    activation = str(results["activation"].values[0])
    lines = [
        f"jamming transition, {activation}, {protocol}, Adam lr {float(results['lr'].values[0]):g}, float64",
        "000 (N ≈ 8000, d = h, L = 2, 3, 5): P/N* ≈ 2.8–2.9; N_Δ/N jumps to ≈ 0.7–0.75 (ReLU)",
        _count_line(results),
        "P/N* from certified runs: [largest fitted, smallest jammed P/N), a point decided by half its runs:",
    ]
    for g in range(points.sizes["group"]):
        row = points.isel(group=g)
        depth, width, n = int(row["depth"]), int(row["width"]), int(row["n_weights"])
        low, high = float(row["ratio_fitted"]), float(row["ratio_jammed"])
        counts = (f"runs: {int(row['runs_fitted'])} fitted, {int(row['runs_jammed'])} jammed, "
                  f"{int(row['runs_frozen'])} frozen, {int(row['runs_undecided'])} undecided")  # fmt: skip
        if np.isfinite(low):
            text = f"P/N* ∈ [{low:.2f}, {high:.2f}) (P* ≈ {n * 0.5 * (low + high):.0f})"
        else:
            text = f"not bracketed by certified points{_one_sided(row)}"
        lines.append(f"  L = {depth}, h = d = {width}, N = {n}: {text}; {counts}")
        lines.append(f"      with training time: {_time_trend(times, g)}")
    fits = extrapolate(points)
    for depth, fit in fits.items():
        lines.append(f"  extrapolated to N → ∞ (P/N* = c∞ + b N^-1/2, {fit['sizes']} sizes): L = {depth}: "
                     f"c∞ = {fit['c_inf']:.2f} ± {fit['error']:.2f} (000: 2.8–2.9)")  # fmt: skip
    if not fits:
        lines.append("  no extrapolation N → ∞: fewer than two bracketed sizes per depth")
    bracketed = points["ratio_jammed"].values[np.isfinite(points["ratio_jammed"].values)]
    if bracketed.size:
        held = int(np.sum(bracketed >= 0.25))
        lines.append(f"  bound N* ≤ 4P (000 eq. 13: P/N* ≥ 1/4): holds for {held} of {bracketed.size}")
    lines += _near_lines(near, activation)
    lines += _newton_lines(results)
    if isinstance(dist, str):
        lines.append(dist)
    else:
        lines.append(
            f"gap exponents from {near.sizes['run']} certified jammed runs ({dist.n_plus} forces, "
            f"{dist.n_minus} gaps; 000: θ ≈ 0.3, γ ≈ 0.2 ReLU; θ ≈ 0.2, γ ≈ 0.16 tanh): "
            f"θ = {dist.theta.exponent:.2f} ± {dist.theta.stderr:.2f} on z ∈ [{dist.theta.low:.2g}, "
            f"{dist.theta.high:.2g}], γ = {-dist.gamma.exponent:.2f} ± {dist.gamma.stderr:.2f} on "
            f"|Δ| ∈ [{dist.gamma.low:.2g}, {dist.gamma.high:.2g}] (1 %–50 % quantile windows, bootstrap)"
        )
    return "\n".join(lines)


def _near_lines(near: xr.Dataset | None, activation: str) -> list[str]:
    """N_Δ/N at the jump, frozen patterns, C0 and the stability bounds on the runs next to jamming."""
    if near is None:
        return []
    lines = ["certified jammed runs at the smallest jammed P/N (000 Fig. 6b rectangle):"]
    for depth in np.unique(near["depth"].values):
        sel = near["depth"].values == depth
        ratio = near["n_delta"].values[sel] / near["n_weights"].values[sel]
        frozen = near["n_frozen"].values[sel]
        c0 = near["hp_c0"].values[sel]
        c0_text = f"{np.nanmean(c0):.2f}" if np.any(np.isfinite(c0)) else "n/a (no spectra there)"
        lines.append(
            f"  L = {depth}: {sel.sum()} runs, median N_Δ/N = {np.median(ratio):.2f} (000: ≈ 0.7–0.75 ReLU), "
            f"{np.sum(frozen > 0)} with some frozen patterns (on dead units, no force), "
            f"mean C0 of Hp = {c0_text} (000: 0.5 ReLU, 0.43 tanh)"
        )
    n_minus = near["hp_n_negative"].values
    has = np.isfinite(n_minus)
    if has.any():
        held = int(np.sum(near["n_delta"].values[has] >= n_minus[has]))
        kind = "a bound for smooth ρ" if activation != "relu" else "ReLU's cusps relax it to N₋ − N_c"
        lines.append(f"  N_Δ ≥ N₋ (000 eq. 11; {kind}): holds in {held} of {int(has.sum())} runs")
        if activation != "relu":
            jump = np.median(near["n_delta"].values[has] / near["n_weights"].values[has])
            c0 = np.nanmean(near["hp_c0"].values[has])
            lines.append(f"  N_Δ/N ≥ C0 at the jump (thesis ch. 2, smooth ρ): {jump:.2f} vs C0 = {c0:.2f}: "
                         f"{'holds' if jump >= c0 else 'VIOLATED'}")  # fmt: skip
    return lines


@typechecked
def jamming_report(
    config: SweepConfig, out: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> str:
    """Run (or resume) the sweep into ``out/jamming/`` and ``out/jamming.nc`` and write the figures of
    000 to `out`: ``jamming_transition.png`` (Fig. 6), ``jamming_point.png`` (Fig. 5c and P/N*
    against N with its training-time trend), ``hessian_spectra.png`` (Fig. 7, of the certified
    jammed run next to the transition whose Hp has the most non-zero modes) and ``overlaps.png``
    (Fig. 8). Returns the summary of [`summarize_sweep`][jamscope.report.summarize_sweep]."""
    results = run_sweep(config, out, mesh=mesh, progress=progress)
    written = [out / "jamming.nc"]

    def save(fig, name):
        fig.savefig(out / name, dpi=120)
        written.append(out / name)

    save(jamming_transition_figure(results), "jamming_transition.png")
    points, times, near, dist = _analyse(results)
    save(jamming_point_figure(points, times), "jamming_point.png")
    if near is not None:
        with_spectra = np.flatnonzero(np.isfinite(near["hp_c0"].values))
        if with_spectra.size:
            active = near["n_params"].values[with_spectra] - near["hp_n_zero"].values[with_spectra]
            run = near.isel(run=with_spectra[np.argmax(active)])
            eig = {name: run[f"eig_{name}"].dropna("mode").values for name in ("h", "h0", "hp")}
            save(hessian_spectra_figure(eig["h"], eig["h0"], eig["hp"], float(run["loss"]), zero_rtol=1e-9),
                 "hessian_spectra.png")  # fmt: skip
    if not isinstance(dist, str):
        save(overlap_figure(dist), "overlaps.png")
    return "\n".join([f"wrote {', '.join(map(str, written))}", _summary(results, points, times, near, dist)])


@typechecked
def summarize_regimes(results: xr.Dataset, config: RegimesConfig) -> str:
    """The numbers of thesis ch. 3 and 004 measured on a regimes sweep, next to the predictions:
    the crossover α*√h (kernel change = 1) per width, the lazy slope of the kernel change, the test
    errors of the feature and lazy ends and of the ensembles, N*, the fluctuation exponent and the
    fits ε∞ + B N^(−1/2)."""
    stats = ensemble_statistics(results)
    return _regimes_summary(stats, config, _fluctuation_fits_or_reason(stats, config))


def _fluctuation_fits_or_reason(stats: xr.Dataset, config: RegimesConfig) -> FluctuationFits | str:
    try:
        return fluctuation_fits(stats, config)
    except ValueError as err:
        return f"fluctuations not fitted: {err}"


def _regimes_summary(stats: xr.Dataset, config: RegimesConfig, fits: FluctuationFits | str) -> str:
    cross = crossover(stats, config)
    lines = ["lazy/feature crossover, ‖Θ_t − Θ_0‖/‖Θ_0‖ = 1 (thesis ch. 3: α* ∼ h^(−1/2), α*√h = O(1)):"]
    for h, a, s in zip(cross.widths, cross.alpha_star, cross.scaled_alpha_star, strict=True):
        lines.append(f"  h = {h}: α* = {a:.3g}, α*√h = {s:.3g}")
    finite = np.isfinite(cross.alpha_star)
    if finite.sum() >= 2:
        fit = scaling_fit(np.asarray(cross.widths, dtype=float)[finite], np.asarray(cross.alpha_star)[finite])
        lines.append(f"  α* ∝ h^{fit.exponent:.2f} (prediction −0.5)")
    try:
        slope = kernel_change_slope(stats, config)
        lines.append(
            f"kernel change for α√h ≥ {slope.low:g}: slope {slope.exponent:.2f} ± {slope.stderr:.2f} "
            f"over {slope.n_used} points (prediction −1)"
        )
    except ValueError as err:
        lines.append(f"kernel change slope not fitted: {err}")
    grid = regimes_grid(stats, config)
    lazy_ref = stats.isel(point=np.flatnonzero(stats["kind"].values == "linearized"))
    lines.append("test error, single nets / ensemble (feature: smallest α√h, lazy: largest; frozen NTK):")
    for h in config.widths:
        row = grid.sel(width=h)
        ntk = lazy_ref["test_error"].values[lazy_ref["width"].values == h]
        lines.append(
            f"  h = {h}: feature {float(row['test_error'][0]):.3f} / {float(row['ensemble_error'][0]):.3f}, "
            f"lazy {float(row['test_error'][-1]):.3f} / {float(row['ensemble_error'][-1]):.3f}, "
            f"frozen NTK {float(ntk[0]) if ntk.size else math.nan:.3f}"
        )
    gain = float((grid["test_error"] - grid["ensemble_error"]).mean())
    lines.append(f"  ensemble gain ε − ε̄, mean over the grid: {gain:.4f}")
    lines += _fluctuation_lines(fits, config)
    return "\n".join(lines)


def _fluctuation_lines(fits: FluctuationFits | str, config: RegimesConfig) -> list[str]:
    if isinstance(fits, str):
        return [fits]
    f, e, eb = fits.fluctuation, fits.error, fits.ensemble_error
    return [
        f"width sweep at α = {config.fluctuation_scale:g} (004): N* ≈ {fits.n_star:.0f}",
        f"  ‖F − F̄‖ ∝ N^({f.exponent:.3f} ± {f.stderr:.3f}) for N ≥ {f.low:.0f}, {f.n_used} widths "
        "(004 eq. 9: −1/4)",
        f"  ε(N) = {e.offset:.4f} + {e.prefactor:.3g} N^(−1/2); "
        f"ε̄(N) = {eb.offset:.4f} + {eb.prefactor:.3g} N^(−1/2) (004 eq. 13)",
    ]


@typechecked
def regimes_report(
    config: RegimesConfig, out: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> str:
    """Run (or resume) the regimes sweep into ``out/regimes.nc``, draw ``out/regimes.png`` (thesis
    ch. 3 Figs. 3–5, 001 Fig. 4) and ``out/fluctuations.png`` (004 Figs. 2, 5, 7), and return the
    summary of [`summarize_regimes`][jamscope.report.summarize_regimes]."""
    path = out / "regimes.nc"
    results = run_regimes(config, path, mesh=mesh, progress=progress)
    stats = ensemble_statistics(results)
    written = [path, out / "regimes.png"]
    regimes_figure(stats, config).savefig(written[-1], dpi=120)
    fits = _fluctuation_fits_or_reason(stats, config)
    if not isinstance(fits, str):
        written.append(out / "fluctuations.png")
        fluctuations_figure(stats, config, fits).savefig(written[-1], dpi=120)
    return "\n".join([f"wrote {', '.join(map(str, written))}", _regimes_summary(stats, config, fits)])


def _field_lines(fields: xr.Dataset) -> list[str]:
    lines = [f"diffeomorphisms (thesis ch. 4 Fig. 8; n = {fields.attrs.get('n', 0)}):"]
    for cutoff in fields["cutoff"].values:
        row = fields.sel(cutoff=cutoff)
        lines.append(
            f"  c = {cutoff:g}: δ measured/eq. 3 = {float((row['delta'] / row['delta_eq3']).mean()):.3f} "
            f"(exact App. B sum/eq. 3 = {float((row['delta_exact'] / row['delta_eq3']).mean()):.3f}); "
            f"median max Ξ / eq. 13 = {float((row['median_max_xi'] / row['max_xi_eq13']).mean()):.3f}; "
            f"bijective at T_max: {float(row['bijective_at_t_max']):.2f} (eq. 14: ≈ 1/2)"
        )
    return lines


def _slope_text(summary: xr.Dataset, kind: str, arch: str) -> str:
    try:
        fit = stability_slope(summary, kind, arch)
    except ValueError:
        return "no slope (fewer than two sizes)"
    error = f" ± {fit.stderr:.2f}" if np.isfinite(fit.stderr) else ""
    return f"R_f ∝ P^({fit.exponent:.2f}{error}) over {fit.n_used} sizes"


@typechecked
def summarize_diffeo(summary: xr.Dataset, fields: xr.Dataset) -> str:
    """The numbers of thesis ch. 4 measured on the sweep: δ and max Ξ against eqs. 3, 13, 14; R_f,
    D_f, G_f at initialization and after training per architecture and P; the stripe model's R_f(P)."""
    lines = _field_lines(fields)
    lines.append("relative stability (thesis ch. 4: R_f0 ≈ 1; FullConn R_f grows with training; "
                 "ResNets R_f ≈ 10⁻²–10⁻¹ ∝ 1/P):")  # fmt: skip
    for kind in ("image", "stripe"):
        sel_kind = summary.isel(point=np.flatnonzero(summary["kind"].values == kind))
        for arch in sorted(set(sel_kind["arch"].values.tolist())):
            mask = (sel_kind["arch"] == arch).values
            sel = sel_kind.isel(point=np.flatnonzero(mask))
            sel = sel.isel(point=np.argsort(sel["n_train"].values))
            name = "stripe model, eq. 6 (Fig. 7: ∝ 1/P)" if kind == "stripe" else arch
            lines.append(f"  {name}: {_slope_text(summary, kind, arch)} after training")
            for i in range(sel.sizes["point"]):
                row = sel.isel(point=i)
                init, trained = row.sel(state="init"), row.sel(state="trained")
                lines.append(
                    f"    P = {int(row['n_train'])}: "
                    f"R_f {float(init['r_f']):.3g} → {float(trained['r_f']):.3g}, "
                    f"D_f {float(init['d_f']):.3g} → {float(trained['d_f']):.3g}, "
                    f"G_f {float(init['g_f']):.3g} → {float(trained['g_f']):.3g}, "
                    f"test error {float(trained['test_error']):.3f}"
                )
    return "\n".join(lines)


@typechecked
def diffeo_report(
    config: DiffeoConfig, out: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> str:
    """Run (or resume) the sweep into ``out/diffeo.nc``, measure the fields into
    ``out/diffeo_fields.nc``, and draw ``diffeo_grid.png`` (Fig. 1), ``diffeo_fields.png`` (Fig. 8),
    ``stability.png`` (Figs. 3-right, 6) and ``stripe.png`` (Fig. 7). Returns
    [`summarize_diffeo`][jamscope.report.summarize_diffeo]."""
    import jax

    path = out / "diffeo.nc"
    results = run_diffeo(config, path, mesh=mesh, progress=progress)
    summary = stability_summary(results)
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 7)
    n = image_side(config)
    fields = field_statistics(config, n, key).assign_attrs(n=n)
    written = [path, save_netcdf(fields, out / "diffeo_fields.nc")]

    def save(fig, name):
        fig.savefig(out / name, dpi=120)
        written.append(out / name)

    image = load_images(config, jax.random.PRNGKey(config.seed)).x_test[0]
    save(deformation_grid_figure(**deformation_grid(config, image, key)), "diffeo_grid.png")
    save(field_statistics_figure(fields), "diffeo_fields.png")
    if np.any(summary["kind"].values == "image"):
        save(stability_figure(summary), "stability.png")
    if np.any(summary["kind"].values == "stripe"):
        save(stripe_figure(summary), "stripe.png")
    return "\n".join([f"wrote {', '.join(map(str, written))}", summarize_diffeo(summary, fields)])


def _interval(fit) -> str:
    if fit is None:
        return "no fit (fewer than two positive values in the window)"
    return f"{fit.exponent:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}]"


def _analyse_kernels(results: xr.Dataset, config: KernelsConfig) -> dict:
    """Every fit of the kernel experiment, computed once for the summary and the figures."""
    return {
        "fits": teacher_student_fits(results, config),
        "betas": beta_table(results, config),
        "data": data_betas(results, config),
        "kpca": {k: kpca_beta(results, k) for k in config.data_kernels},
        "d_eff": effective_dimensions(results),
    }


def _kernels_text(results: xr.Dataset, config: KernelsConfig, analysis: dict) -> str:
    betas = analysis["betas"]
    lines = [f"teacher–student, Laplace student, σ = d, β fitted for n ≥ {config.fit_low} "
             "(95 % bootstrap interval) vs Theorem 1 (eq. 7):"]  # fmt: skip
    for teacher in config.teachers:
        for d in config.dims:
            row = betas.sel(teacher=teacher, d=d)
            lines.append(f"  {teacher:8s} teacher, d = {d:2d}: β = {float(row['beta']):.3f} "
                         f"[{float(row['ci_low']):.3f}, {float(row['ci_high']):.3f}], "
                         f"predicted {float(row['predicted']):.3f}")  # fmt: skip
    sigma = results.attrs["data_sigma"]
    lines.append(f"{config.data} parity (paper: MNIST β ≈ 0.4, CIFAR-10 ≈ 0.1), σ = {sigma:.3g}, "
                 f"β fitted for n ≥ {config.data_fit_low}:")  # fmt: skip
    for (kernel, task), fit in analysis["data"].items():
        lines.append(f"  {kernel:8s} {task:14s}: β = {_interval(fit)}")
    for kernel, fit in analysis["kpca"].items():
        lines.append(f"  kernel PCA tail (eq. 14), {kernel}: β̂ = a − 1 = {fit.exponent:.3f} "
                     f"± {fit.stderr:.3f} (paper: MNIST 0.36, CIFAR-10 0.07)")  # fmt: skip
    d_eff = analysis["d_eff"]
    spheres = ", ".join(f"{k}: {v:.2f}" for k, v in d_eff.items() if k != "data")
    lines.append(f"effective dimension ⟨δ_min⟩ ∼ n^(−1/d_eff) (eq. 15): {spheres}; {config.data}: "
                 f"{d_eff['data']:.1f} (paper: MNIST ≈ 15, CIFAR-10 ≈ 35)")  # fmt: skip
    return "\n".join(lines)


@typechecked
def summarize_kernels(results: xr.Dataset, config: KernelsConfig) -> str:
    """The numbers of thesis ch. 6 measured on the sweep: fitted β against Theorem 1 per (teacher, d), β
    of the real-data curves and of the kernel-PCA tail, and d_eff of spheres and data."""
    return _kernels_text(results, config, _analyse_kernels(results, config))


@typechecked
def kernels_report(config: KernelsConfig, out: Path, *, progress: bool = True) -> str:
    """Run (or resume) the experiment into ``out/kernels.nc`` and draw ``teacher_student.png`` (Fig. 2),
    ``learning_curves.png`` (Figs. 1, 3) and ``effective_dimension.png`` (Fig. 4). Returns
    [`summarize_kernels`][jamscope.report.summarize_kernels]."""
    path = out / "kernels.nc"
    results = run_kernels(config, path, progress=progress)
    analysis = _analyse_kernels(results, config)
    written = [path]
    for name, fig in (
        ("teacher_student.png", teacher_student_figure(results, analysis["betas"], analysis["fits"])),
        ("learning_curves.png", data_curves_figure(results, analysis["data"], analysis["kpca"], config.data)),
        ("effective_dimension.png", effective_dimension_figure(results, analysis["d_eff"], config.data)),
    ):
        fig.savefig(out / name, dpi=120)
        written.append(out / name)
    return "\n".join([f"wrote {', '.join(map(str, written))}", _kernels_text(results, config, analysis)])


_AGING_PAPER = (
    "003: μ = 0.709 ± 0.017 (MNIST, H = 3, widths 7–17); LJAT19 gradient-norm RMS 0.02 / 0.07 / "
    "0.12 for H = 1 / 2 / 3"
)


def _spectrum_line(results: xr.Dataset, depth: int) -> str:
    count = int(results["n_params"].sel(depth=depth))
    spectra = results["hessian"].sel(depth=depth).values[..., :count]
    if spectra.size == 0 or np.all(np.isnan(spectra)):
        return ""
    first, last = spectra[:, 0], spectra[:, -1]
    return (f"; Hessian: negative fraction {np.mean(first < 0):.2f} → {np.mean(last < 0):.2f}, "
            f"largest {np.max(first):.3g} → {np.max(last):.3g}")  # fmt: skip


def _aging_text(results: xr.Dataset, fits: dict, collapse: dict) -> str:
    config = json.loads(results.attrs["config"])
    n_train = int(results.attrs["n_train"])
    rms = gradient_rms(results)
    lines = [
        f"{results.attrs['data']}: N = {n_train}, batch {results.attrs['batch_size']}, "
        f"{results.attrs['steps']} SGD steps, {results.sizes['run']} runs; μ of t* ∼ t_w^μ "
        f"(Δ* = {config['delta_star']:g}, t_w ≥ {config['fit_low']}, 95 % bootstrap over runs):"
    ]
    for depth in (int(d) for d in results["depth"].values):
        count = int(results["n_params"].sel(depth=depth))
        width = int(results["width"].sel(depth=depth))
        fit = fits[depth]
        mu = "no fit (t* not reached)" if fit is None else (
            f"μ = {fit.mu:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}] on {fit.n_used} t_w")  # fmt: skip
        accuracy = results["accuracy"].sel(depth=depth).isel(record=-1).values
        under = " (underparametrized: < 0.99)" if accuracy.max() < 0.99 else ""
        test = np.nanmean(results["test_accuracy"].sel(depth=depth).values)
        gradients = rms.sel(depth=depth).values
        lines.append(
            f"  H = {depth}, w = {width}, P = {count} (P/N = {count / n_train:.3f}): {mu}, "
            f"collapse μ = {collapse[depth]:.2f}; train accuracy {accuracy.mean():.3f} ± {accuracy.std():.3f}"
            f"{under}, test {test:.3f}; ‖∇L‖ RMS (t > {config['gradient_after']}) "
            f"{gradients.mean():.3g} ± {gradients.std():.2g}" + _spectrum_line(results, depth)
        )
    return "\n".join(lines)


@typechecked
def summarize_aging(results: dict[str, xr.Dataset]) -> str:
    """The numbers of 003 measured on each data set: μ (with its bootstrap interval) and the collapse μ per
    depth, the final accuracies, the gradient-norm RMS (Fig. A.3) and the Hessian spectrum (Fig. 7)."""
    parts = [_aging_text(r, aging_fits(r), collapse_exponents(r)) for r in results.values()]
    return "\n".join([*parts, _AGING_PAPER])


@typechecked
def aging_report(
    config: AgingConfig, out: Path, *, mesh: Mesh | None = None, progress: bool = True
) -> str:
    """Run (or resume) the experiment into ``out/aging_<data>.nc`` and draw ``aging_<data>.png`` (003 Figs. 2,
    5, 6) and ``aging_training_<data>.png`` (Figs. 1, 4, 7, A.1, A.3) for each data set. Returns
    [`summarize_aging`][jamscope.report.summarize_aging]."""
    results = run_aging(config, out, mesh=mesh, progress=progress)
    written, parts = [], []
    for name, result in results.items():
        fits, collapse = aging_fits(result), collapse_exponents(result)
        written.append(out / f"aging_{name}.nc")
        for figure_name, fig in (
            (f"aging_{name}.png", aging_figure(result, relaxation_times(result), fits, collapse)),
            (f"aging_training_{name}.png", aging_training_figure(result)),
        ):
            fig.savefig(out / figure_name, dpi=120)
            written.append(out / figure_name)
        parts.append(_aging_text(result, fits, collapse))
    return "\n".join([f"wrote {', '.join(map(str, written))}", *parts, _AGING_PAPER])
