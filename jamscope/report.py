"""Run the jamming sweep and turn it into the figures and numbers of 000 (Figs. 5c, 6, 7, 8)."""

from pathlib import Path

import numpy as np
import xarray as xr

from .jamming import fitted_runs, overlap_distributions
from .plot import hessian_spectra_figure, jamming_point_figure, jamming_transition_figure, overlap_figure
from .sweep import SweepConfig, jamming_points, near_jamming, run_sweep
from .typing import typechecked

__all__ = ["jamming_report", "summarize_sweep"]


def _analyse(results: xr.Dataset):
    """N* brackets, the near-jamming runs and their gap distributions (or why there are none)."""
    points = jamming_points(results)
    try:
        near = near_jamming(results)
    except ValueError:
        return points, None, "no jammed runs next to a bracketed transition: no N_Δ/N, C0, θ, γ"
    try:
        return points, near, overlap_distributions(near["gaps"].values, near["loss"].values, n_bootstrap=100)
    except ValueError as err:
        return points, near, f"gap exponents not fitted: {err}"


@typechecked
def summarize_sweep(results: xr.Dataset) -> str:
    """The numbers 000 reports, measured on a sweep: P/N* per (depth, P), N_Δ/N just past the jump,
    C0 = N₋/N of Hp and θ, γ of the gap distributions, each next to the paper's value."""
    return _summary(results, *_analyse(results))


def _summary(results: xr.Dataset, points: xr.Dataset, near: xr.Dataset | None, dist) -> str:
    lines = ["jamming point (000: P/N* ≈ 2.8–2.9 at N ≈ 8000; N_Δ/N jumps to ≈ 0.7–0.75):"]
    for depth in points["depth"].values:
        for p in points["n_train"].values:
            row = points.sel(depth=depth, n_train=p)
            text = f"  depth {depth}, P = {p}: "
            if np.isnan(row["n_star"]):
                text += "N* not bracketed by the sweep"
            else:
                low, high = p / float(row["n_fitting"]), p / float(row["n_jammed"])
                bracket = f"({int(row['n_jammed'])}, {int(row['n_fitting'])}]"
                text += f"N* ∈ {bracket}, P/N* ∈ [{low:.2f}, {high:.2f})"
            lines.append(text + _first_jammed(results, depth, p))
    if near is not None:
        lines.append("jammed runs next to the transition (000 Fig. 6b rectangle):")
        for depth in np.unique(near["depth"].values):
            sel = near["depth"].values == depth
            ratio = near["n_delta"].values[sel] / near["n_params"].values[sel]
            c0 = near["hp_c0"].values[sel]
            c0_text = f"{np.nanmean(c0):.3f}" if np.any(np.isfinite(c0)) else "n/a (no spectra at that N)"
            lines.append(
                f"  depth {depth}: {sel.sum()} runs, median N_Δ/N = {np.median(ratio):.2f} "
                f"(000: ≈ 0.7–0.75), mean C0 of Hp = {c0_text} (000: ≈ 0.5 ReLU, 0.43 tanh)"
            )
    if isinstance(dist, str):
        lines.append(dist)
    else:
        lines.append(
            f"gap exponents ({dist.n_plus} forces, {dist.n_minus} gaps; 000: θ ≈ 0.3, γ ≈ 0.2 for ReLU): "
            f"θ = {dist.theta.exponent:.2f} ± {dist.theta.stderr:.2f} on z ∈ [{dist.theta.low:.2g}, "
            f"{dist.theta.high:.2g}], γ = {-dist.gamma.exponent:.2f} ± {dist.gamma.stderr:.2f} on "
            f"|Δ| ∈ [{dist.gamma.low:.2g}, {dist.gamma.high:.2g}]"
        )
    return "\n".join(lines)


def _first_jammed(results: xr.Dataset, depth, p) -> str:
    """N_Δ/N at the largest N where every seed is jammed: the value N_Δ/N jumps to (000 Fig. 6a),
    free of the runs near N* that stop with a few unsatisfied patterns (budget too short)."""
    sel = np.flatnonzero((results["depth"].values == depth) & (results["n_train"].values == p))
    jammed = [
        i for i in sel if not np.any(fitted_runs(results["n_delta"].values[i], results["loss"].values[i]))
    ]
    if not jammed:
        return ""
    i = max(jammed, key=lambda k: results["n_params"].values[k])
    ratio = np.median(results["n_delta"].values[i]) / results["n_params"].values[i]
    return f"; all seeds jammed from P/N = {results['p_over_n'].values[i]:.2f}: median N_Δ/N = {ratio:.2f}"


@typechecked
def jamming_report(config: SweepConfig, out: Path, *, progress: bool = True) -> str:
    """Run (or resume) the sweep into ``out/jamming.nc`` and write the figures of 000 to `out`:
    ``jamming_transition.png`` (Fig. 6), ``jamming_point.png`` (Fig. 5c), ``hessian_spectra.png``
    (Fig. 7, of the jammed run next to the transition whose Hp has the most non-zero modes) and
    ``overlaps.png`` (Fig. 8). Returns the summary of [`summarize_sweep`][jamscope.report.summarize_sweep]."""
    path = out / "jamming.nc"
    results = run_sweep(config, path, progress=progress)
    written = [path]

    def save(fig, name):
        fig.savefig(out / name, dpi=120)
        written.append(out / name)

    save(jamming_transition_figure(results), "jamming_transition.png")
    points, near, dist = _analyse(results)
    if np.any(np.isfinite(points["n_star"].values)):
        save(jamming_point_figure(points), "jamming_point.png")
    if near is not None:
        with_spectra = np.flatnonzero(np.isfinite(near["hp_c0"].values))
        if with_spectra.size:
            # the run whose Hp has the most non-zero modes: narrow ReLU nets also jam with patterns
            # stuck on dead units (f constant there), where Hp vanishes and the spectra say little
            active = near["n_params"].values[with_spectra] - near["hp_n_zero"].values[with_spectra]
            run = near.isel(run=with_spectra[np.argmax(active)])
            eig = {name: run[f"eig_{name}"].dropna("mode").values for name in ("h", "h0", "hp")}
            save(hessian_spectra_figure(eig["h"], eig["h0"], eig["hp"], float(run["loss"]), zero_rtol=1e-9),
                 "hessian_spectra.png")  # fmt: skip
    if not isinstance(dist, str):
        save(overlap_figure(dist), "overlaps.png")
    return "\n".join([f"wrote {', '.join(map(str, written))}", _summary(results, points, near, dist)])
