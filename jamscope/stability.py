"""Relative stability to diffeomorphisms R_f = D_f / G_f (thesis ch. 4 §3, eqs. 4–6).

For a function f of images (a network's output, or a hidden layer) and test images x, z:

    D_f = ⟨‖f(τx) − f(x)‖²⟩_{x,τ} / ⟨‖f(x) − f(z)‖²⟩_{x,z}     (eq. 5, diffeomorphisms)
    G_f = ⟨‖f(x + η) − f(x)‖²⟩_{x,η} / ⟨‖f(x) − f(z)‖²⟩_{x,z}   (eq. 5, noise)
    R_f = D_f / G_f                                                 (eq. 4)

with τ from a [`MaxEntDiffeo`][jamscope.diffeo.MaxEntDiffeo] and η isotropic noise of the norm of
τx − x ([`matched_noise`][jamscope.stability.matched_noise], §3). ⟨·⟩ is the median (the thesis's
main text) or the mean (its Fig. 17). Conventions, stated where the thesis is silent:

- x is replaced by the smoothed x̃ = (τx at T = 0) everywhere (App. C; x̃ = x except for the Gaussian
  interpolation), and η is added to x̃, as in the authors' public code.
- ⟨‖·‖²⟩ is the median (or mean) over images of the squared norm of the output difference; the
  public code instead sums per-coordinate medians. The denominator runs over the pairs x ≠ z of the
  probe set (the public code also counts the zero diagonal).
- One τ and one η per image.
"""

from collections.abc import Callable, Sequence
from typing import Literal, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_finite, check_nonempty, check_positive
from .diffeo import AbstractDiffeo, Interpolation, deform, rms_displacement, smoothed
from .typing import Array, Float, PRNGKeyArray, typechecked

__all__ = [
    "Average",
    "Stability",
    "Perturbations",
    "matched_noise",
    "perturb",
    "stability_of",
    "stability",
    "layerwise_stability",
    "invariant_perturbations",
]

Average = Literal["median", "mean"]


@final
class Stability(eqx.Module):
    """D_f, G_f and R_f = D_f/G_f (thesis ch. 4 eqs. 4–5), and the typical size of the perturbation.

    - `d_f`: stability to the perturbation of interest (diffeomorphisms, or the invariant directions
      of the stripe model).
    - `g_f`: stability to isotropic noise of the same norm.
    - `r_f`: relative stability D_f/G_f.
    - `delta`: the median displacement δ of the fields in pixels (NaN without fields).
    """

    d_f: Float[Array, "*layers"]
    g_f: Float[Array, "*layers"]
    r_f: Float[Array, "*layers"]
    delta: Float[Array, "*layers"]


@final
class Perturbations(eqx.Module):
    """The probe inputs of one measurement: the reference x̃, the deformed τx (or any perturbation
    of interest), the noisy x̃ + η, and the displacement δ of every field (NaN when not a diffeo)."""

    reference: Float[Array, " P *input"]
    deformed: Float[Array, " P *input"]
    noisy: Float[Array, " P *input"]
    delta: Float[Array, " P"]


def _norms(x: Array) -> Array:
    return jnp.sqrt(jnp.sum(x.reshape(x.shape[0], -1) ** 2, axis=1))


@typechecked
def matched_noise(
    key: PRNGKeyArray, x: Float[Array, " P *input"], deformed: Float[Array, " P *input"]
) -> Float[Array, " P *input"]:
    """η_μ uniform on the sphere of radius ‖τx_μ − x_μ‖ (norm over channels and pixels), one per
    image (thesis ch. 4 §3; the norm is matched per image and per field, as in the public code)."""
    if x.shape != deformed.shape:
        raise ValueError(f"`deformed` must have the shape of `x`, {x.shape}, got {deformed.shape}")
    check_nonempty("x", x)
    check_finite("x", x)
    check_finite("deformed", deformed)
    g = jax.random.normal(key, x.shape, x.dtype)
    scale = _norms(deformed - x) / _norms(g)
    return g * scale.reshape((-1,) + (1,) * (x.ndim - 1))


@typechecked
def perturb(
    key: PRNGKeyArray,
    x: Float[Array, "P C H W"],
    diffeo: AbstractDiffeo,
    interpolation: Interpolation = "bilinear",
) -> Perturbations:
    """One field τ_μ per image, the deformed τ_μ x_μ, the reference x̃ and the noisy x̃ + η_μ."""
    check_nonempty("x", x)
    check_finite("x", x)
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"`x` must hold square images (C, n, n), got {x.shape[1:]}")
    return _perturb(key, x, diffeo, interpolation)


@eqx.filter_jit
def _perturb(key: PRNGKeyArray, x: Array, diffeo: AbstractDiffeo, interpolation: str) -> Perturbations:
    k_field, k_noise = jax.random.split(key)
    fields = diffeo.sample(k_field, x.shape[-1], count=x.shape[0]).astype(x.dtype)
    reference = smoothed(x, interpolation)
    deformed = deform(x, fields, interpolation)
    noisy = reference + matched_noise(k_noise, reference, deformed)
    return Perturbations(reference, deformed, noisy, rms_displacement(fields))


@typechecked
def invariant_perturbations(
    key: PRNGKeyArray, x: Float[Array, "P d"], noise_norm: float, n_informative: int = 1
) -> Perturbations:
    """The probes of the stripe model (thesis ch. 4 §6, eq. 6): ν isotropic in the invariant directions
    $x_⊥ = (x_{k+1}, …, x_d)$ and η isotropic in all d directions, both of norm `noise_norm`; the first
    `n_informative` = k coordinates are x_∥. [`stability_of`][jamscope.stability.stability_of] then
    gives R_f of eq. 6 (and D_f, G_f with the same denominator ⟨‖f(x) − f(z)‖²⟩)."""
    check_nonempty("x", x)
    check_finite("x", x)
    check_positive("noise_norm", noise_norm)
    if not 0 <= n_informative < x.shape[1]:
        raise ValueError(f"`n_informative` must lie in [0, {x.shape[1] - 1}] (d − 1), got {n_informative}")
    k_nu, k_eta = jax.random.split(key)
    nu = jax.random.normal(k_nu, x.shape, x.dtype).at[:, :n_informative].set(0.0)
    eta = jax.random.normal(k_eta, x.shape, x.dtype)
    nu = nu * (noise_norm / _norms(nu))[:, None]
    eta = eta * (noise_norm / _norms(eta))[:, None]
    return Perturbations(x, x + nu, x + eta, jnp.full(x.shape[0], jnp.nan, x.dtype))


def _average(values: Array, average: Average) -> Array:
    return jnp.median(values) if average == "median" else jnp.mean(values)


def _squared_distances(a: Array, b: Array) -> Array:
    return jnp.sum((a - b).reshape(a.shape[0], -1) ** 2, axis=1)


def _pair_distances(f: Array) -> Array:
    """‖f(x) − f(z)‖² over the pairs x ≠ z (upper triangle)."""
    flat = f.reshape(f.shape[0], -1)
    sq = jnp.sum(flat**2, axis=1)
    gram = flat @ flat.T
    d2 = jnp.maximum(sq[:, None] + sq[None, :] - 2 * gram, 0.0)
    i, j = np.triu_indices(f.shape[0], k=1)
    return d2[i, j]


@typechecked
def stability_of(f: Callable, probes: Perturbations, average: Average = "median") -> Stability:
    """D_f, G_f, R_f of `f` (any function of a batch of inputs) on the given probes (eqs. 4–5)."""
    if probes.reference.shape[0] < 2:
        raise ValueError("the probe set must hold at least 2 inputs (the pairs x ≠ z of eq. 5)")
    f_ref, f_def, f_noisy = f(probes.reference), f(probes.deformed), f(probes.noisy)
    deformation = _average(_squared_distances(f_def, f_ref), average)
    noise = _average(_squared_distances(f_noisy, f_ref), average)
    pairs = _average(_pair_distances(f_ref), average)
    return Stability(deformation / pairs, noise / pairs, deformation / noise, jnp.median(probes.delta))


@typechecked
def stability(
    f: Callable,
    x: Float[Array, "P C H W"],
    key: PRNGKeyArray,
    diffeo: AbstractDiffeo,
    *,
    interpolation: Interpolation = "bilinear",
    average: Average = "median",
) -> Stability:
    """D_f, G_f and R_f of `f` on the test images `x` (thesis ch. 4 eqs. 4–5): one field τ and one
    matched noise η per image, medians (default) or means over images and over pairs (x, z).

    `f` maps a batch ``(P, C, H, W)`` to outputs ``(P, …)`` (logits, a hidden layer, or x itself:
    for f(x) = x, R_f = 1 exactly with means, since ‖η‖ = ‖τx − x‖)."""
    return stability_of(f, perturb(key, x, diffeo, interpolation), average)


@typechecked
def layerwise_stability(
    features: Sequence[Callable],
    x: Float[Array, "P C H W"],
    key: PRNGKeyArray,
    diffeo: AbstractDiffeo,
    *,
    interpolation: Interpolation = "bilinear",
    average: Average = "median",
) -> tuple[np.ndarray, Stability]:
    """R_f (and D_f, G_f) of every feature map in `features`, first layer to output, with the same τ
    and η for all (thesis ch. 4 App. E, Fig. 14). Returns the relative depths ℓ/(L − 1) (0 = first
    layer, 1 = last) and a [`Stability`][jamscope.stability.Stability] with one entry per layer."""
    if not features:
        raise ValueError("`features` must hold at least one function")
    probes = perturb(key, x, diffeo, interpolation)
    layers = [stability_of(f, probes, average) for f in features]
    depth = np.linspace(0.0, 1.0, len(features)) if len(features) > 1 else np.zeros(1)
    return depth, jax.tree.map(lambda *v: jnp.stack(v), *layers)
