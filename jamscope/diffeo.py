"""Maximum-entropy diffeomorphisms of images (thesis ch. 4 §2, App. A–C).

A displacement field τ = (τ_u, τ_v) on [0, 1]², zero on the frame, drawn from the maximum-entropy
ensemble at fixed ⟨‖∇τ‖²⟩ (thesis ch. 4 eq. 2):

    τ_u = Σ C_ij sin(iπu) sin(jπv),   τ_v = Σ D_ij sin(iπu) sin(jπv),
    C_ij, D_ij ~ N(0, T/(i² + j²)),

deforms an image as `[τx](s) = x(s − τ(s))` (§2.1). Conventions, fixed once for the whole library:

- **Image axes**: images are ``(C, H, W)``; u runs along the columns (W, horizontal), v along the rows
  (H, vertical). A field array is ``(2, H, W)``: ``field[0]`` = τ_u, ``field[1]`` = τ_v.
- **Grid**: pixel k sits at s_k = k/(n − 1), so the first and last rows and columns lie on the frame,
  where τ = 0 exactly (as in the authors' public code, pcsl-epfl/diffeomorphism).
- **Units**: fields are in pixels, n τ for an n × n image (pixel size 1/n, the convention of eqs. 3,
  8 and 14).
- **Cutoff**: the modes i, j ≥ 1 with i² + j² ≤ c² (the text after eq. 2), not the public code's
  √(i² + j²) < c + 1/2. c = 3 keeps (1,1), (1,2), (2,1), (2,2); c < √2 keeps nothing, so c ≥ √2.
  The public code's `cut` keeps the modes of jamscope's √(cut² + cut):
  [`cutoff_from_reference`][jamscope.diffeo.cutoff_from_reference].
- **δ**: eq. 3, δ² = (π/4) n² T ln c (large-c asymptote); ``exact=True`` gives the App. B sum
  $δ^2 = \\frac{n^2 T}{2} \\sum_{i^2+j^2≤c^2} \\frac{1}{i^2 + j^2}$, which is what
  [`rms_displacement`][jamscope.diffeo.rms_displacement]
  measures on average.
"""

import abc
import math
from functools import partial
from typing import Literal, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_finite, check_int_at_least, check_positive, is_concrete
from .typing import Array, Float, Int, PRNGKeyArray, typechecked

__all__ = [
    "GAUSSIAN_SIGMA",
    "Interpolation",
    "AbstractDiffeo",
    "MaxEntDiffeo",
    "deform",
    "random_deform",
    "RandomDiffeo",
    "cutoff_from_reference",
    "smoothed",
    "temperature_range",
    "typical_displacement",
    "temperature_for",
    "rms_displacement",
    "max_xi",
]

GAUSSIAN_SIGMA = 0.4715
"""σ of the Gaussian interpolation in pixels (thesis ch. 4 App. C, eq. 17)."""

_GAUSSIAN_RADIUS = 4
"""Half-width of the Gaussian window in pixels: the weight beyond it, exp(−16/(2σ²)) ≈ 10⁻¹⁶ of the
centre, is below float64 resolution, so the window equals the sum over all pixels of eq. 16."""

_MIN_CUTOFF = math.sqrt(2.0)

Interpolation = Literal["bilinear", "gaussian", "nearest"]


def _modes(cutoff: float | int) -> np.ndarray:
    """The (i, j), i, j ≥ 1, with i² + j² ≤ c², as an int array (M, 2), i along u and j along v."""
    top = int(math.floor(cutoff))
    i, j = np.meshgrid(np.arange(1, top + 1), np.arange(1, top + 1), indexing="ij")
    keep = i**2 + j**2 <= cutoff**2 * (1 + 1e-12)
    return np.stack([i[keep], j[keep]], axis=1)


class AbstractDiffeo(eqx.Module):
    """A distribution of displacement fields on n × n images."""

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray, n: int, count: int | None = None) -> Float[Array, "*count 2 n n"]:
        """One field ``(2, n, n)`` in pixels, or `count` of them ``(count, 2, n, n)``."""


@final
class MaxEntDiffeo(AbstractDiffeo):
    """The maximum-entropy ensemble of thesis ch. 4 eq. 2 at temperature T with cutoff c.

    **Arguments:**

    - `temperature`: T ≥ 0, the Lagrange multiplier fixing ⟨‖∇τ‖²⟩ = (π³/8) c² T (eq. 7). T = 0 is
      the identity. Stored as a 0-d array, so an ensemble of temperatures can be vmapped.
    - `cutoff`: c ≥ √2; the modes with i² + j² ≤ c² are kept (see the module's conventions).

    The admissible band of Fig. 1 is [`temperature_range`][jamscope.diffeo.temperature_range];
    [`temperature_for`][jamscope.diffeo.temperature_for] gives the T of a typical displacement δ.
    """

    temperature: Float[Array, ""]
    cutoff: float = eqx.field(static=True)

    @typechecked
    def __init__(self, temperature: float | Float[Array, ""], cutoff: float | int):
        if is_concrete(temperature):
            check_positive("temperature", float(temperature), allow_zero=True)
        if not (math.isfinite(cutoff) and cutoff >= _MIN_CUTOFF):
            raise ValueError(
                "`cutoff` must be a finite number ≥ √2 ≈ 1.414 (no mode has i² + j² ≤ c² below), "
                f"got {cutoff!r}"
            )
        self.temperature = jnp.asarray(temperature, dtype=jnp.zeros(()).dtype)
        self.cutoff = float(cutoff)

    @property
    def modes(self) -> Int[Array, "M 2"]:
        """The kept modes (i, j) (i along u, j along v), shape ``(M, 2)``."""
        return jnp.asarray(_modes(self.cutoff))

    def variances(self) -> Float[Array, " M"]:
        """⟨C_ij²⟩ = ⟨D_ij²⟩ = T/(i² + j²) for every kept mode (eq. 2; App. A, equipartition)."""
        m = _modes(self.cutoff)
        return self.temperature / jnp.asarray((m**2).sum(axis=1), self.temperature.dtype)

    @typechecked
    def coefficients(self, key: PRNGKeyArray) -> Float[Array, "2 M"]:
        """(C_ij, D_ij) of one field: row 0 for τ_u, row 1 for τ_v, in the order of `modes`."""
        var = self.variances()
        return jnp.sqrt(var)[None, :] * jax.random.normal(key, (2, var.shape[0]), var.dtype)

    @typechecked
    def field(self, coefficients: Float[Array, "2 M"], n: int) -> Float[Array, "2 n n"]:
        """The field of the given coefficients on the n × n grid s_k = k/(n − 1), in pixels (n τ)."""
        _check_size(n)
        m = _modes(self.cutoff)
        s = np.linspace(0.0, 1.0, n)
        dtype = coefficients.dtype
        sin_u = jnp.asarray(np.sin(np.pi * np.outer(m[:, 0], s)), dtype)  # (M, n) along columns
        sin_v = jnp.asarray(np.sin(np.pi * np.outer(m[:, 1], s)), dtype)  # (M, n) along rows
        return n * jnp.einsum("am,mr,mc->arc", coefficients, sin_v, sin_u)

    @typechecked
    def sample(self, key: PRNGKeyArray, n: int, count: int | None = None) -> Float[Array, "*count 2 n n"]:
        """One field ``(2, n, n)`` (pixels) or, with `count`, `count` independent ones."""
        if count is None:
            return self.field(self.coefficients(key), n)
        check_int_at_least("count", count, 1)
        return jax.vmap(lambda k: self.field(self.coefficients(k), n))(jax.random.split(key, count))


def _check_size(n: int) -> None:
    if n < 3:
        raise ValueError(f"`n` (pixels per side) must be an integer ≥ 3, got {n}")


# ----------------------------------------------------------------------------------------------
# Deformation τx(s) = x(s − τ(s)) with three interpolations (App. C)


def _source(field: Array) -> tuple[Array, Array]:
    """Row and column of the source point s − τ(s) of every pixel, clamped to the image."""
    h, w = field.shape[1:]
    rows = jnp.arange(h, dtype=field.dtype)[:, None] - field[1]
    cols = jnp.arange(w, dtype=field.dtype)[None, :] - field[0]
    return jnp.clip(rows, 0, h - 1), jnp.clip(cols, 0, w - 1)


def _bilinear(image: Array, field: Array) -> Array:
    """Eq. 15: the four neighbours weighted by (1 − u)(1 − v), u(1 − v), (1 − u)v, uv."""
    rows, cols = _source(field)
    h, w = field.shape[1:]
    r0 = jnp.clip(jnp.floor(rows), 0, h - 2).astype(jnp.int32)
    c0 = jnp.clip(jnp.floor(cols), 0, w - 2).astype(jnp.int32)
    fr = (rows - r0.astype(rows.dtype))[None]
    fc = (cols - c0.astype(cols.dtype))[None]
    top = image[:, r0, c0] * (1 - fc) + image[:, r0, c0 + 1] * fc
    bottom = image[:, r0 + 1, c0] * (1 - fc) + image[:, r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr


def _nearest(image: Array, field: Array) -> Array:
    rows, cols = _source(field)
    return image[:, jnp.round(rows).astype(jnp.int32), jnp.round(cols).astype(jnp.int32)]


def _gaussian_weights(position: Array, size: int) -> tuple[Array, Array]:
    """Indices (…, 2R+1) around `position` and their weights exp(−(s − s_i)²/2σ²), 0 off the image."""
    offsets = jnp.arange(-_GAUSSIAN_RADIUS, _GAUSSIAN_RADIUS + 1, dtype=jnp.int32)
    index = jnp.round(position).astype(jnp.int32)[..., None] + offsets[None, None, :]
    inside = (index >= 0) & (index < size)
    distance = position[..., None] - index.astype(position.dtype)
    weight = jnp.where(inside, jnp.exp(-(distance**2) / (2 * GAUSSIAN_SIGMA**2)), 0.0)
    return jnp.clip(index, 0, size - 1), weight


def _gaussian(image: Array, field: Array) -> Array:
    """Eq. 16: Σ_i x(s_i) G(s − s_i) / Σ_i G(s − s_i), G separable, σ = 0.4715 px."""
    rows, cols = _source(field)
    h, w = field.shape[1:]
    r_index, r_weight = _gaussian_weights(rows, h)  # (H, W, K)
    c_index, c_weight = _gaussian_weights(cols, w)
    window = image[:, r_index[..., :, None], c_index[..., None, :]]  # (C, H, W, K, K)
    value = jnp.einsum("chwab,hwa,hwb->chw", window, r_weight, c_weight)
    return value / (r_weight.sum(-1) * c_weight.sum(-1))[None]


_INTERPOLATIONS = {"bilinear": _bilinear, "gaussian": _gaussian, "nearest": _nearest}


@partial(jax.jit, static_argnames="interpolation")
def _deform_batch(images: Array, fields: Array, interpolation: str) -> Array:
    return jax.vmap(_INTERPOLATIONS[interpolation])(images, fields.astype(images.dtype))


@typechecked
def deform(
    images: Float[Array, "*batch C H W"],
    field: Float[Array, "*fields 2 H W"],
    interpolation: Interpolation = "bilinear",
) -> Float[Array, "*out C H W"]:
    """`[τx](s) = x(s − τ(s))` (thesis ch. 4 §2.1) for one image ``(C, H, W)`` or a batch.

    The leading axes of `images` and `field` broadcast: one field for a batch of images, one field
    per image (``(P, C, H, W)`` with ``(P, 2, H, W)``), or many fields for one image. The same τ
    moves every channel. Source points s − τ(s) outside the image are clamped to its border.

    - ``"bilinear"`` (eq. 15, the thesis's default): exact identity at τ = 0 and for integer shifts.
    - ``"gaussian"`` (eq. 16, σ = 0.4715 px): smooths even at τ = 0; compare with
      [`smoothed`][jamscope.diffeo.smoothed] images x̃, not with x (App. C).
    - ``"nearest"``: the closest pixel (the public code's third option); exact .5 ties round half to
      even (scipy's ``map_coordinates(order=0)`` rounds them up).
    """
    check_finite("images", images)
    check_finite("field", field)
    try:
        batch = jnp.broadcast_shapes(images.shape[:-3], field.shape[:-3])
    except ValueError:
        raise ValueError(
            f"the leading axes of `images` {images.shape[:-3]} and `field` {field.shape[:-3]} must broadcast"
        ) from None
    x = jnp.broadcast_to(images, batch + images.shape[-3:]).reshape((-1,) + images.shape[-3:])
    t = jnp.broadcast_to(field, batch + field.shape[-3:]).reshape((-1,) + field.shape[-3:])
    if x.shape[-2] < 2 or x.shape[-1] < 2:
        raise ValueError(f"`images` must be at least 2 × 2 pixels, got shape {images.shape}")
    out = _deform_batch(x, t, interpolation)
    return out.reshape(batch + images.shape[-3:])


@typechecked
def cutoff_from_reference(cut: float | int) -> float:
    """The jamscope cutoff that keeps the modes of the public code's (pcsl-epfl/diffeomorphism) `cut`.

    The public code keeps i, j ∈ {1, …, cut} with √(i² + j²) < cut + ½; i² + j² being an integer,
    that is i² + j² ≤ ⌈(cut + ½)²⌉ − 1, the modes of `MaxEntDiffeo` with c = √(⌈(cut + ½)²⌉ − 1),
    which is √(cut² + cut) for an integer cut (√12 ≈ 3.46 for cut = 3). The band of
    [`temperature_range`][jamscope.diffeo.temperature_range] and δ of eq. 3 take ln c: pass them
    the public code's `cut` to reproduce its numbers, and this cutoff to `MaxEntDiffeo`.
    """
    if not (math.isfinite(cut) and cut >= 1):
        raise ValueError(f"`cut` must be a finite number ≥ 1 (no mode is kept below), got {cut!r}")
    return math.sqrt(math.ceil((cut + 0.5) ** 2) - 1)


def _image_count(images: Array) -> int:
    count = math.prod(images.shape[:-3])
    if count == 0:
        raise ValueError(f"`images` must hold at least one image, got shape {images.shape}")
    return count


@typechecked
def random_deform(
    key: PRNGKeyArray,
    images: Float[Array, "*batch C n n"],
    temperature: float | Float[Array, ""],
    cutoff: float | int,
    interpolation: Interpolation = "bilinear",
) -> Float[Array, "*batch C n n"]:
    """τx with a new field of `MaxEntDiffeo(temperature, cutoff)` for every image, in one call (the
    public code's ``deform(img, T, cut)``, with jamscope's cutoff: see
    [`cutoff_from_reference`][jamscope.diffeo.cutoff_from_reference])."""
    batch, n = images.shape[:-3], images.shape[-1]
    count = _image_count(images)
    fields = MaxEntDiffeo(temperature, cutoff).sample(key, n, count=count)
    fields = fields.reshape(batch + (2, n, n)).astype(images.dtype)
    return deform(images, fields, interpolation)


@final
class RandomDiffeo(AbstractDiffeo):
    """Random deformations for training loops: every call draws, for each image, a cutoff c uniformly
    from `cutoffs`, a temperature in that cutoff's band of
    [`temperature_range`][jamscope.diffeo.temperature_range],

        T = T_min(c) + (T_max(c) − T_min(c)) u,   u ~ Beta(a, b),
        a + b = concentration,   a/b = bias,

    and a field of `MaxEntDiffeo(T, c)`, then deforms the image (thesis ch. 4 §2). The default
    a = b = 1 draws T uniformly in the band; a larger `concentration` peaks it, a `bias` above 1
    moves it towards T_max (the public code's augmentation uses the same two numbers, s = a + b and
    r = a/b, for its temperatures). As an `AbstractDiffeo`, `sample` gives the fields themselves
    (for [`stability`][jamscope.stability.stability], say). Jit-compatible: the modes are those of
    the largest cutoff, masked per field.

    **Arguments:**

    - `cutoffs`: the cutoffs to draw from, each ≥ √2 (jamscope's convention).
    - `concentration`, `bias`: the Beta law of u, both > 0.
    - `interpolation`: as in [`deform`][jamscope.diffeo.deform].
    """

    cutoffs: tuple[float, ...] = eqx.field(static=True)
    concentration: float = eqx.field(static=True)
    bias: float = eqx.field(static=True)
    interpolation: str = eqx.field(static=True)

    @typechecked
    def __init__(
        self,
        cutoffs: tuple[float | int, ...],
        *,
        concentration: float = 2.0,
        bias: float = 1.0,
        interpolation: Interpolation = "bilinear",
    ):
        if not cutoffs or not all(math.isfinite(c) and c >= _MIN_CUTOFF for c in cutoffs):
            raise ValueError(f"`cutoffs` must be a non-empty tuple of finite numbers ≥ √2, got {cutoffs!r}")
        check_positive("concentration", concentration)
        check_positive("bias", bias)
        self.cutoffs = tuple(float(c) for c in cutoffs)
        self.concentration, self.bias, self.interpolation = float(concentration), float(bias), interpolation

    def bands(self, n: int) -> Float[np.ndarray, "K 2"]:
        """(T_min, T_max) of every cutoff for n × n images; refuses an empty band."""
        bands = np.array([temperature_range(n, c) for c in self.cutoffs])
        empty = [c for c, (low, high) in zip(self.cutoffs, bands, strict=True) if low > high]
        if empty:
            raise ValueError(
                f"the temperature band T_min < T_max is empty for the cutoffs {empty} at n = {n} "
                "(thesis ch. 4 Fig. 1): use smaller `cutoffs`"
            )
        return bands

    @typechecked
    def sample(self, key: PRNGKeyArray, n: int, count: int | None = None) -> Float[Array, "*count 2 n n"]:
        """One field ``(2, n, n)`` (pixels) or `count` of them, each with its own (c, T)."""
        _check_size(n)
        if count is not None:
            check_int_at_least("count", count, 1)
        number = 1 if count is None else count
        dtype = jnp.zeros(()).dtype
        bands = jnp.asarray(self.bands(n), dtype)
        top = MaxEntDiffeo(0.0, max(self.cutoffs))
        squares = jnp.asarray((_modes(top.cutoff) ** 2).sum(axis=1), dtype)
        k_cut, k_temp, k_coef = jax.random.split(key, 3)
        which = jax.random.randint(k_cut, (number,), 0, len(self.cutoffs))
        a = self.concentration * self.bias / (1 + self.bias)
        u = jax.random.beta(k_temp, a, self.concentration - a, (number,), dtype)
        temperature = bands[which, 0] + (bands[which, 1] - bands[which, 0]) * u
        kept = squares[None, :] <= jnp.asarray(self.cutoffs, dtype)[which, None] ** 2 * (1 + 1e-12)
        std = jnp.where(kept, jnp.sqrt(temperature[:, None] / squares[None, :]), 0.0)
        noise = jax.random.normal(k_coef, (number, 2, squares.shape[0]), dtype)
        fields = jax.vmap(lambda c: top.field(c, n))(std[:, None, :] * noise)
        return fields[0] if count is None else fields

    @typechecked
    def __call__(
        self, key: PRNGKeyArray, images: Float[Array, "*batch C n n"]
    ) -> Float[Array, "*batch C n n"]:
        """Deform every image of `images` with its own (c, T, τ)."""
        check_finite("images", images)
        batch, n = images.shape[:-3], images.shape[-1]
        fields = self.sample(key, n, count=_image_count(images)).astype(images.dtype)
        return deform(images, fields.reshape(batch + (2, n, n)), self.interpolation)


@typechecked
def smoothed(
    images: Float[Array, "*batch C H W"], interpolation: Interpolation = "bilinear"
) -> Float[Array, "*batch C H W"]:
    """x̃ = τx at τ = 0: the reference of every comparison (App. C). The identity for bilinear and
    nearest; a Gaussian blur of σ = 0.4715 px for ``"gaussian"``."""
    zero = jnp.zeros((2,) + images.shape[-2:], images.dtype)
    return deform(images, zero, interpolation)


# ----------------------------------------------------------------------------------------------
# Temperatures, typical displacement, bijectivity


def _log_cutoff(cutoff: float | int) -> float:
    if not (math.isfinite(cutoff) and cutoff > 1):
        raise ValueError(f"`cutoff` must be a finite number > 1 (ln c > 0), got {cutoff!r}")
    return math.log(cutoff)


@typechecked
def temperature_range(n: int, cutoff: float | int) -> tuple[float, float]:
    """(T_min, T_max) of the admissible band of thesis ch. 4 Fig. 1 (App. B):

    T_min(c) = 1/(π n² ln c) (eq. 8: δ ≥ 1/2 pixel with eq. 3) and
    T_max(c) = 4/(π³ c² ln c) (eq. 14: median max_s Ξ < 1 with eq. 13, a diffeomorphism with
    probability about 1/2). The band is empty (T_min > T_max) for large c at small n.
    """
    _check_size(n)
    log_c = _log_cutoff(cutoff)
    return 1.0 / (math.pi * n**2 * log_c), 4.0 / (math.pi**3 * cutoff**2 * log_c)


@typechecked
def typical_displacement(
    temperature: float | int, cutoff: float | int, n: int, *, exact: bool = False
) -> float:
    """δ in pixels: eq. 3, δ = (n/2) √(π T ln c), the large-c asymptote (the thesis's and the public
    code's convention); ``exact=True``: the App. B spatial average
    $δ^2 = \\frac{n^2 T}{2} \\sum_{i^2+j^2≤c^2} \\frac{1}{i^2 + j^2}$
    for the modes actually kept (smaller at small c: 0.59× the asymptote at c = 3)."""
    _check_size(n)
    check_positive("temperature", temperature, allow_zero=True)
    if exact:
        if not cutoff >= _MIN_CUTOFF:
            raise ValueError(f"`cutoff` must be ≥ √2 ≈ 1.414, got {cutoff!r}")
        inverse = float(np.sum(1.0 / (_modes(cutoff) ** 2).sum(axis=1)))
        return n * math.sqrt(temperature * inverse / 2)
    return n * math.sqrt(math.pi * temperature * _log_cutoff(cutoff)) / 2


@typechecked
def temperature_for(delta: float | int, cutoff: float | int, n: int) -> float:
    """The T with typical displacement δ by eq. 3: T = 4δ²/(π n² ln c)."""
    _check_size(n)
    check_positive("delta", delta, allow_zero=True)
    return 4 * delta**2 / (math.pi * n**2 * _log_cutoff(cutoff))


@typechecked
def rms_displacement(field: Float[Array, "*batch 2 n n"]) -> Float[Array, "*batch"]:
    """√(n² ∫ ‖τ‖² ds) in pixels, the δ of App. B for one field, by the trapezoid rule on the grid
    s_k = k/(n − 1) (exact for sine series with modes below n − 1)."""
    n = field.shape[-1]
    _check_size(n)
    check_finite("field", field)
    return jnp.sqrt(jnp.sum(field**2, axis=(-3, -2, -1))) / (n - 1)


def _spectral_derivatives(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(Q, D): for a sine series f on the grid, f = Q f_int Qᵀ and ∂_s f = D f_int Qᵀ (per axis), with
    f_int the interior values; exact for modes 1 … n − 2 (discrete sine transform of type I)."""
    s = np.linspace(0.0, 1.0, n)
    k = np.arange(1, n - 1)
    sine = np.sin(np.pi * np.outer(s, k))
    inverse = np.linalg.inv(sine[1:-1])
    derivative = (np.pi * k) * np.cos(np.pi * np.outer(s, k))
    return sine @ inverse, derivative @ inverse


@typechecked
def max_xi(field: Float[Array, "*batch 2 n n"]) -> Float[Array, "*batch"]:
    """max_s Ξ(s), the bijectivity indicator of thesis ch. 4 App. B (eqs. 9–12), over the grid.

    With J_ab = ∂_b τ_a (τ in units of the image side), the map s ↦ s − τ(s) keeps u · u′ > 0 for
    u′ = u − (u · ∇)τ (eq. 9) iff the largest eigenvalue of the symmetric part of J is below 1:

        Ξ = ½ (√((∂_xτ_x − ∂_yτ_y)² + (∂_xτ_y + ∂_yτ_x)²) + ∂_xτ_x + ∂_yτ_y) < 1.

    Eq. 11 as printed has −Tr ∇τ, the same condition for s ↦ s + τ(s); both have the same
    distribution in the max-entropy ensemble, which is symmetric under τ → −τ. Derivatives are
    spectral (discrete sine transform of the interior), exact for the fields of
    [`MaxEntDiffeo`][jamscope.diffeo.MaxEntDiffeo] with c ≤ n − 2. Empirically the median over
    samples is ≈ (c/2) √(π³ T ln c) (eq. 13).
    """
    n = field.shape[-1]
    _check_size(n)
    check_finite("field", field)
    q, d = (jnp.asarray(a, field.dtype) for a in _spectral_derivatives(n))
    tau = field[..., 1:-1, 1:-1] / n  # interior, in units of the side
    along_u = jnp.einsum("rj,...aji,ci->...arc", q, tau, d)  # ∂_u τ_a on the grid (columns)
    along_v = jnp.einsum("rj,...aji,ci->...arc", d, tau, q)  # ∂_v τ_a (rows)
    du_u, dv_v = along_u[..., 0, :, :], along_v[..., 1, :, :]
    shear = along_v[..., 0, :, :] + along_u[..., 1, :, :]
    xi = 0.5 * (jnp.sqrt((du_u - dv_v) ** 2 + shear**2) + du_u + dv_v)
    return jnp.max(xi, axis=(-2, -1))
