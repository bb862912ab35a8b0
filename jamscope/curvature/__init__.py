"""Curvature of the training loss: H = H0 + Hp, spectra at any size, and N_eff (000 §V, App. A–B).

One namespace for three layers:

- **dense and exact** (N up to a few thousand, float64): [`decompose`][jamscope.curvature.decompose]
  → [`HessianParts`][jamscope.curvature.HessianParts] with H, H0, Hp and the ℓ′, ℓ″ used;
  [`hessian`][jamscope.curvature.hessian]; [`jacobian`][jamscope.curvature.jacobian];
  [`spectrum`][jamscope.curvature.spectrum], [`summarize`][jamscope.curvature.summarize] and
  [`hessian_summaries`][jamscope.curvature.hessian_summaries] (zero modes, C0, odd moments, gap);
- **matrix-free** (N up to ~10⁶): [`hvp`][jamscope.curvature.hvp], [`h0vp`][jamscope.curvature.h0vp],
  [`hpvp`][jamscope.curvature.hpvp], and [`operator`][jamscope.curvature.operator] /
  [`operators`][jamscope.curvature.operators] for the Lanczos routines
  [`top_eigenvalues`][jamscope.curvature.top_eigenvalues],
  [`trace_estimate`][jamscope.curvature.trace_estimate],
  [`spectral_density`][jamscope.curvature.spectral_density] and
  [`log_spectral_density`][jamscope.curvature.log_spectral_density] (matfree underneath);
- **N_eff** (000 App. A eqs. A4–A5): [`n_eff`][jamscope.curvature.n_eff] →
  [`NEffResult`][jamscope.curvature.NEffResult], [`tangent_matrix`][jamscope.curvature.tangent_matrix].

Example (float64, a few seconds on a laptop):

    jax.config.update("jax_enable_x64", True)
    parts = js.curvature.decompose(loss, model, data)
    js.curvature.hessian_summaries(parts)["hp"].c0  # fraction of negative modes of Hp
    matvec, n = js.curvature.operator(loss, model, data, "h0")
    js.curvature.log_spectral_density(matvec, n, key).zero_mass  # delta peak of H0 at 0
"""

from typing import Literal

from ..data import Dataset
from ..losses import AbstractLoss
from ..nets import AbstractNet
from ..typing import MatVec, typechecked
from ._hessian import (
    HessianParts,
    SpectrumSummary,
    decompose,
    h0vp,
    hessian,
    hessian_summaries,
    hpvp,
    hvp,
    jacobian,
    operators,
    spectrum,
    summarize,
)
from ._lanczos import (
    LogSpectralDensity,
    SpectralDensity,
    log_spectral_density,
    peak_memory_estimate_bytes,
    spectral_density,
    top_eigenvalues,
    trace_estimate,
)
from ._neff import NEffResult, n_eff, tangent_matrix

__all__ = [
    "HessianParts", "SpectrumSummary", "SpectralDensity", "LogSpectralDensity", "NEffResult",
    "decompose", "hessian", "jacobian", "spectrum", "summarize", "hessian_summaries",
    "hvp", "h0vp", "hpvp", "operators", "operator",
    "top_eigenvalues", "trace_estimate", "spectral_density", "log_spectral_density",
    "peak_memory_estimate_bytes", "n_eff", "tangent_matrix",
]  # fmt: skip

_PARTS = ("h", "h0", "hp")


@typechecked
def operator(
    loss: AbstractLoss, model: AbstractNet, data: Dataset, part: Literal["h", "h0", "hp"]
) -> tuple[MatVec, int]:
    """``(matvec, N)`` for one part of the Hessian (000 eq. 3), ready for the Lanczos routines:

        matvec, n = operator(loss, model, data, "hp")
        density = spectral_density(matvec, n, key)

    `part` is ``"h"`` (H, by ``jvp(grad L)``), ``"h0"`` (H0 = Jᵀ diag(ℓ″/(α²P)) J) or ``"hp"``
    (Hp = ∇∇ Σ_μ sg(c_μ) F_μ); see [`operators`][jamscope.curvature.operators], which builds all three.
    """
    h_mv, h0_mv, hp_mv, n = operators(loss, model, data)
    return dict(zip(_PARTS, (h_mv, h0_mv, hp_mv), strict=True))[part], n
