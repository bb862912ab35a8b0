"""Isotropic kernels of thesis ch. 6 (Laplace, Gaussian, Matérn ν) and their Gram matrices in blocks.

Conventions (thesis ch. 6 §3 and App. E eq. 25): K(x, x′) = k(‖x − x′‖) with k(0) = 1 and a length σ,

- Laplace   k(r) = exp(−r/σ),                                  α = d + 1;
- Gaussian  k(r) = exp(−r²/(2σ²)),                             α = ∞;
- Matérn    k(r) = 2^(1−ν)/Γ(ν) z^ν K_ν(z),  z = √(2ν) r/σ,     α = d + 2ν

(K_ν the modified Bessel function of the second kind; ν = 1/2 is Laplace, ν → ∞ Gaussian). α is the
exponent of the decay of the Fourier transform k̂(w) ∼ ‖w‖^(−α) in d dimensions, which fixes the
learning-curve exponent of Theorem 1 ([`predicted_beta`][jamscope.teacher_student.predicted_beta]).
`spectral_density` is that transform, $\\hat k(w) = \\int_{ℝ^d} e^{-i w·x} k(‖x‖)\\, dx$ (Rasmussen &
Williams eq.
4.15 for Matérn), used by the lattice oracle of eq. 39.

[`gram`][jamscope.kernels.gram] evaluates K(x_μ, y_ν) by blocks of rows, so that only the result and
one block of squared distances are in memory;
[`nearest_neighbour_distances`][jamscope.kernels.nearest_neighbour_distances] uses the same blocks for
δ_min of §7.
"""

import abc
import math
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.special
from jaxtyping import Array, Float

from ._checks import as_float64, check_finite, check_int_at_least, check_nonempty
from .typing import typechecked

__all__ = [
    "AbstractKernel",
    "Laplace",
    "Gaussian",
    "Matern",
    "kernel_named",
    "gram",
    "nearest_neighbour_distances",
]


def _check_length(sigma: float | int) -> Array:
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"`sigma` (the kernel's length) must be a finite number > 0, got {sigma!r}")
    return jnp.asarray(sigma, dtype=jnp.zeros(()).dtype)


class AbstractKernel(eqx.Module):
    """An isotropic, translation-invariant, positive-definite kernel K(x, x′) = k(‖x − x′‖), k(0) = 1."""

    sigma: eqx.AbstractVar[Float[Array, ""]]

    @abc.abstractmethod
    def profile(self, r: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """k(r) for distances r ≥ 0."""

    @abc.abstractmethod
    def decay_exponent(self, d: int) -> float:
        """α such that k̂(w) ∼ ‖w‖^(−α) as ‖w‖ → ∞ in d dimensions (``inf`` for the Gaussian)."""

    @abc.abstractmethod
    def spectral_density(self, w: np.ndarray, d: int) -> np.ndarray:
        """$\\hat k(‖w‖) = \\int_{ℝ^d} e^{-i w·x} k(‖x‖)\\, dx$ at the frequencies' norms `w` (NumPy,
        float64)."""


@eqx.filter_jit
def _matern_half_integer(r, sigma, p):
    """k(r) for ν = p + 1/2: e^(−z) p!/(2p)! Σ_{i ≤ p} (p + i)!/(i! (p − i)!) (2z)^(p − i) (R&W eq. 4.16)."""
    z = math.sqrt(2 * p + 1) * r / sigma
    total = jnp.zeros_like(z)
    for i in range(p + 1):
        weight = math.factorial(p + i) / (math.factorial(i) * math.factorial(p - i))
        total = total + weight * (2 * z) ** (p - i)
    return jnp.exp(-z) * total * (math.factorial(p) / math.factorial(2 * p))


def _matern_host(z, nu):
    z = np.asarray(z)
    safe = np.where(z > 0, z, 1.0)
    value = 2 ** (1 - nu) / scipy.special.gamma(nu) * safe**nu * scipy.special.kv(nu, safe)
    return np.where(z > 0, value, 1.0).astype(z.dtype)


def _matern_fourier(w, d, sigma, nu):
    """R&W eq. 4.15: 2^d π^(d/2) Γ(ν + d/2) (2ν)^ν / (Γ(ν) σ^(2ν)) · (2ν/σ² + w²)^(−(ν + d/2))."""
    log_c = (
        d * math.log(2)
        + 0.5 * d * math.log(math.pi)
        + math.lgamma(nu + d / 2)
        + nu * math.log(2 * nu)
        - math.lgamma(nu)
        - 2 * nu * math.log(sigma)
    )
    return np.exp(log_c) * (2 * nu / sigma**2 + np.asarray(w, float) ** 2) ** (-(nu + d / 2))


@final
class Laplace(AbstractKernel):
    """k(r) = exp(−r/σ) (thesis ch. 6 §3), α = d + 1 (§5)."""

    sigma: Float[Array, ""]

    @typechecked
    def __init__(self, sigma: float | int = 1.0):
        self.sigma = _check_length(sigma)

    def profile(self, r):
        return jnp.exp(-r / self.sigma.astype(r.dtype))

    def decay_exponent(self, d: int) -> float:
        return d + 1.0

    def spectral_density(self, w, d):
        return _matern_fourier(w, d, float(self.sigma), 0.5)


@final
class Gaussian(AbstractKernel):
    """k(r) = exp(−r²/(2σ²)) (thesis ch. 6 §3), α = ∞; k̂(w) = (2π)^(d/2) σ^d e^(−σ²w²/2)."""

    sigma: Float[Array, ""]

    @typechecked
    def __init__(self, sigma: float | int = 1.0):
        self.sigma = _check_length(sigma)

    def profile(self, r):
        return jnp.exp(-0.5 * (r / self.sigma.astype(r.dtype)) ** 2)

    def decay_exponent(self, d: int) -> float:
        return math.inf

    def spectral_density(self, w, d):
        s = float(self.sigma)
        return (2 * math.pi) ** (d / 2) * s**d * np.exp(-0.5 * (s * np.asarray(w, float)) ** 2)


@final
class Matern(AbstractKernel):
    """k(r) = 2^(1−ν)/Γ(ν) z^ν K_ν(z), z = √(2ν) r/σ (thesis ch. 6 App. E eq. 25), α = d + 2ν.

    Half-integer ν (1/2, 3/2, 5/2, …) use the closed form (R&W eq. 4.16) in JAX; other ν call
    scipy's K_ν on the host through `jax.pure_callback` (no derivatives, slower).
    """

    nu: float = eqx.field(static=True)
    sigma: Float[Array, ""]

    @typechecked
    def __init__(self, nu: float | int, sigma: float | int = 1.0):
        if not (math.isfinite(nu) and nu > 0):
            raise ValueError(f"`nu` (the Matérn smoothness) must be a finite number > 0, got {nu!r}")
        self.nu = float(nu)
        self.sigma = _check_length(sigma)

    def profile(self, r):
        p = self.nu - 0.5
        if p == int(p):
            return _matern_half_integer(r, self.sigma.astype(r.dtype), int(p))
        z = math.sqrt(2 * self.nu) * r / self.sigma.astype(r.dtype)
        shape = jax.ShapeDtypeStruct(jnp.shape(z), z.dtype)
        return jax.pure_callback(lambda a: _matern_host(a, self.nu), shape, z, vmap_method="broadcast_all")

    def decay_exponent(self, d: int) -> float:
        return d + 2 * self.nu

    def spectral_density(self, w, d):
        return _matern_fourier(w, d, float(self.sigma), self.nu)


_KERNELS = {"laplace": Laplace, "gaussian": Gaussian}


@typechecked
def kernel_named(name: str, sigma: float | int = 1.0) -> AbstractKernel:
    """The kernel called `name` with length `sigma`: ``laplace``, ``gaussian`` or ``matern<ν>``
    (e.g. ``matern1.5``)."""
    if name.startswith("matern"):
        try:
            nu = float(name.removeprefix("matern"))
        except ValueError:
            nu = None
        if nu is not None:
            return Matern(nu, sigma)
    if name not in _KERNELS:
        raise ValueError(
            f"unknown kernel {name!r} (`name`): expected laplace, gaussian or matern<ν> (e.g. matern1.5)"
        )
    return _KERNELS[name](sigma)


def _squared_distances(row, index, y, exclude_self):
    """‖row − y_ν‖² for all ν (clamped at 0); +inf at ν = index when `exclude_self`, 0 when the rows
    are the same set (the diagonal of a symmetric Gram matrix is exact)."""
    d2 = jnp.maximum(jnp.sum(row**2) + jnp.sum(y**2, axis=1) - 2 * (y @ row), 0.0)
    if exclude_self is None:
        return d2
    same = jnp.arange(y.shape[0]) == index
    return jnp.where(same, jnp.inf if exclude_self else 0.0, d2)


@eqx.filter_jit
def _gram(kernel, x, y, block_size, symmetric):
    exclude = False if symmetric else None
    rows = (x, jnp.arange(x.shape[0]))
    return jax.lax.map(
        lambda a: kernel.profile(jnp.sqrt(_squared_distances(a[0], a[1], y, exclude))),
        rows,
        batch_size=block_size,
    )


def _check_points(name, x):
    check_nonempty(name, x)
    check_finite(name, x)


@typechecked
def gram(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"] | None = None,
    *,
    block_size: int = 512,
) -> Float[Array, "n m"]:
    """The Gram matrix K(x_μ, y_ν) (or K(x_μ, x_ν) when `y` is None, with an exact unit diagonal).

    Rows are computed `block_size` at a time (`lax.map`), so the memory beyond the result is one
    `block_size` × m block. Distances use ‖x‖² + ‖y‖² − 2 x·y (clamped at 0).
    """
    _check_points("x", x)
    check_int_at_least("block_size", block_size, 1)
    if y is not None:
        _check_points("y", y)
        if y.dtype != x.dtype:
            raise ValueError(f"`x` and `y` must have the same dtype, got {x.dtype} and {y.dtype}")
    return _gram(kernel, x, x if y is None else y, block_size, y is None)


@eqx.filter_jit
def _nearest(x, block_size):
    rows = (x, jnp.arange(x.shape[0]))
    return jnp.sqrt(
        jax.lax.map(lambda a: jnp.min(_squared_distances(a[0], a[1], x, True)), rows, batch_size=block_size)
    )


@typechecked
def nearest_neighbour_distances(x: Float[Array, "n d"], *, block_size: int = 512) -> Float[Array, " n"]:
    """$δ_{\\min}(x_μ) = \\min_{ν ≠ μ} ‖x_μ - x_ν‖$ for every point (thesis ch. 6 §7, eq. 15), by blocks of
    rows.

    Computed in float64 whatever the dtype of `x` (`ValueError` when float64 is off): the blocks use
    ‖x‖² + ‖x′‖² − 2x·x′, which cancels in float32 for close points (4000 evenly spaced points on
    S¹: errors up to 4 % in float32)."""
    _check_points("x", x)
    if x.shape[0] < 2:
        raise ValueError(f"`x` needs at least 2 points for nearest neighbours, got {x.shape[0]}")
    check_int_at_least("block_size", block_size, 1)
    return _nearest(as_float64("nearest_neighbour_distances", x), block_size)
