"""Observables of the lazy/feature regimes and of output fluctuations (thesis ch. 3, 001, 004): the
relative change of the weights during training, and the statistics of an ensemble of independently
initialized networks (the mean predictor F̄, its error, the variance of the outputs), and the
conversion of the α-trick's scale and time from the authors' public code (feature_lazy).

The sweep over (h, α√h) and over widths that measures them is the experiment
[`jamscope.experiments.regimes`][jamscope.experiments.regimes] (``jamscope regimes``).
"""

import math

import jax.numpy as jnp
import numpy as np
import xarray as xr

from ._checks import check_int_at_least, check_positive
from .losses import error_rate
from .nets import AbstractNet, flat_params
from .typing import Array, Float, typechecked

__all__ = [
    "relative_weight_change",
    "ensemble_statistics",
    "scale_from_feature_lazy",
    "time_from_feature_lazy",
]


@typechecked
def relative_weight_change(model: AbstractNet, initial: AbstractNet) -> Float[Array, ""]:
    """‖w − w₀‖/‖w₀‖: how far training moved the weights from their initialization (thesis ch. 3
    §6: ∼ (α√h)^(−1) in the lazy regime). `model` and `initial` must have the same structure."""
    w, w_0 = flat_params(model), flat_params(initial)
    if w.shape != w_0.shape:
        raise ValueError(
            f"`model` and `initial` must have the same parameters, got {w.shape} and {w_0.shape}"
        )
    return jnp.linalg.norm(w - w_0) / jnp.linalg.norm(w_0)


@typechecked
def scale_from_feature_lazy(alpha: float, width: int) -> float:
    """The output scale α of [`Centered`][jamscope.nets.Centered] (thesis ch. 3's α) for the public
    code's (mariogeiger/feature_lazy) ``--alpha`` at width h: the code scales the output by α_code/h
    and the loss by 1/α_code, the article by α/√h and 1/α², so α = α_code/√h. The code's α_code is
    the α√h of jamscope's phase diagrams (``jamscope regimes``'s `scaled_scales`)."""
    check_positive("alpha", alpha)
    check_int_at_least("width", width, 1)
    return alpha / math.sqrt(width)


@typechecked
def time_from_feature_lazy(time: float, alpha: float, width: int) -> float:
    """The gradient-flow time t of jamscope (and of thesis ch. 3) for the public code's time t_code
    at ``--alpha`` α_code and width h: t_code/h = t/(√h α), so t = α_code t_code/h."""
    check_positive("time", time, allow_zero=True)
    check_positive("alpha", alpha)
    check_int_at_least("width", width, 1)
    return alpha * time / width


def _error_of(outputs: xr.DataArray, y: xr.DataArray) -> xr.DataArray:
    """The error rate ([`error_rate`][jamscope.losses.error_rate]) of labelled outputs, over ``test``."""
    f = outputs.transpose(..., "test")
    rate = error_rate(jnp.asarray(f.values), jnp.asarray(y.values))
    return f.isel(test=0, drop=True).copy(data=np.asarray(rate))


@typechecked
def ensemble_statistics(results: xr.Dataset) -> xr.Dataset:
    """Per point, the seed averages and the ensemble quantities (thesis ch. 3 eqs. 15–16; 004 eq. 9).

    - `test_error` (mean over seeds) and `test_error_sem`; `ensemble_error`: ε̄, the test error of
      the ensemble predictor F̄ = (1/K) Σ_i F_i (its sign).
    - `variance`: Var F = (K/(K−1)) ⟨(F_i(x) − F̄(x))²⟩ over test points and members (the factor
      removes the bias of estimating F̄ from the same K nets); `fluctuation`: √Var F, an estimate
      of ‖F − F̄‖ with ‖g‖² = ⟨g(x)²⟩_test (004 eq. 9).
    - `output_norm`: ‖F‖ = √⟨F(x)²⟩_test averaged over seeds (004 Fig. 7; thesis ch. 3 eq. 31).
    - `kernel_change`, `weight_change`, `time`, `steps`: seed means; `fitted`: fraction of seeds
      that satisfied every margin.
    """
    outputs, y = results["outputs"], results["y_test"]
    k = results.sizes["seed"]
    mean_output = outputs.mean("seed")
    variance = ((outputs - mean_output) ** 2).mean(("seed", "test")) * k / (k - 1)
    stats = {
        "test_error": results["test_error"].mean("seed"),
        "test_error_sem": results["test_error"].std("seed", ddof=1) / math.sqrt(k),
        "ensemble_error": _error_of(mean_output, y),
        "variance": variance,
        "fluctuation": np.sqrt(variance),
        "output_norm": np.sqrt((outputs**2).mean("test")).mean("seed"),
    }
    for name in ("kernel_change", "weight_change", "time", "steps", "fitted", "train_error"):
        stats[name] = results[name].mean("seed")
    return xr.Dataset(stats).drop_vars("seed", errors="ignore")
