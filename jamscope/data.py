"""Data sets without downloads: random sphere data, scikit-learn's digits, local MNIST/CIFAR files.

A [`Dataset`][jamscope.data.Dataset] is an immutable Equinox module holding training inputs and
labels and an optional test set. Labels are either binary ±1 (floating, ``n_classes = 2``) or class
indices (integer). Everything here runs offline:

- [`random_sphere`][jamscope.data.random_sphere]: points uniform on the sphere of radius √d with
  random ±1 labels (000 §III);
- [`stripe`][jamscope.data.stripe]: Gaussian points labelled by one coordinate only (001 §5);
- [`ring_mixture`][jamscope.data.ring_mixture]: a 2-D, 4-class Gaussian mixture whose Bayes accuracy
  is about 0.8 ([`ring_mixture_bayes_accuracy`][jamscope.data.ring_mixture_bayes_accuracy]), the
  stand-in for the LJAT19 data of 003;
- [`digits`][jamscope.data.digits]: the 1797 8×8 digits embedded in scikit-learn (as vectors), and
  [`digit_images`][jamscope.data.digit_images] the same as images for the diffeomorphism experiments;
- [`mnist`][jamscope.data.mnist] and [`cifar10`][jamscope.data.cifar10]: readers of the official
  files (IDX, CIFAR pickle batches) from a local directory, given as `root` or by the environment
  variable ``JAMSCOPE_DATA``. jamscope never downloads anything.

Real images are preprocessed as in the papers: optional PCA fitted on the whole data set
(000 §VII), then [`normalize_on_sphere`][jamscope.data.normalize_on_sphere] (thesis ch. 3 §2); or,
kept as images for deformations, each channel standardized
([`standardize_channels`][jamscope.data.standardize_channels], thesis ch. 4 App. E).
"""

import gzip
import math
import os
import pickle
from functools import partial
from pathlib import Path
from typing import Literal, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from ._checks import (
    check_binary_labels,
    check_class_labels,
    check_finite,
    check_in_range,
    check_int_at_least,
    check_nonempty,
    check_positive,
    check_same_dtype,
    check_same_input_shape,
    check_same_length,
    is_concrete,
)
from .typing import Array, Float, Int, PRNGKeyArray, typechecked

__all__ = [
    "Dataset",
    "random_sphere",
    "stripe",
    "ring_mixture",
    "ring_mixture_bayes_accuracy",
    "normalize_on_sphere",
    "pca",
    "parity_labels",
    "digits",
    "standardize_channels",
    "digit_images",
    "read_idx",
    "mnist",
    "cifar10",
]

DATA_ENV = "JAMSCOPE_DATA"
"""Environment variable naming the directory of the local data files."""

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MNIST_DIRS = {"mnist": "mnist", "fashion": "fashion-mnist"}
_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


@final
class Dataset(eqx.Module):
    """A training set (x, y) and an optional test set (x_test, y_test).

    **Arguments:**

    - `x`: training inputs, shape ``(P, *input)``: vectors ``(P, d)`` or images ``(P, C, H, W)``.
      Kept in the dtype given (no cast).
    - `y`: binary labels in {−1, +1} (floating) or class indices in {0, …, K−1} (integer).
    - `x_test`, `y_test`: a test set with the same per-pattern shape and dtypes, or both ``None``.
    - `n_classes`: K; 2 (the default) for binary labels, required with class indices.

    Every argument is checked on construction (finite inputs, at least one pattern, matching
    lengths, valid labels); a bad value raises ``ValueError`` naming the argument.
    """

    x: Float[Array, " P *input"]
    y: Float[Array, " P"] | Int[Array, " P"]
    x_test: Float[Array, " Q *input"] | None
    y_test: Float[Array, " Q"] | Int[Array, " Q"] | None
    n_classes: int = eqx.field(static=True)

    # Dimensions prefixed with "_" are not bound by jaxtyping: the relations between them are
    # checked below with ValueErrors that say which argument is wrong.
    @typechecked
    def __init__(
        self,
        x: Float[Array, " _P *_input"],
        y: Float[Array, " _P"] | Int[Array, " _P"],
        x_test: Float[Array, " _Q *_test_input"] | None = None,
        y_test: Float[Array, " _Q"] | Int[Array, " _Q"] | None = None,
        n_classes: int | None = None,
    ):
        check_nonempty("x", x)
        check_finite("x", x)
        check_same_length("x", x, "y", y)
        binary = bool(jnp.issubdtype(y.dtype, jnp.floating))
        if binary:
            if n_classes not in (None, 2):
                raise ValueError(f"`n_classes` must be 2 with binary ±1 labels, got {n_classes}")
            n_classes = 2
            check_binary_labels("y", y)
        else:
            if n_classes is None:
                raise ValueError("`n_classes` is required with integer class labels `y`")
            check_int_at_least("n_classes", n_classes, 2)
            check_class_labels("y", y, n_classes)
        if (x_test is None) != (y_test is None):
            raise ValueError("`x_test` and `y_test` must be given together (or both be None)")
        if x_test is not None and y_test is not None:
            check_nonempty("x_test", x_test)
            check_finite("x_test", x_test)
            check_same_length("x_test", x_test, "y_test", y_test)
            check_same_input_shape("x_test", x_test, "x", x)
            check_same_dtype("x_test", x_test, "x", x)
            check_same_dtype("y_test", y_test, "y", y)
            if binary:
                check_binary_labels("y_test", y_test)
            else:
                check_class_labels("y_test", y_test, n_classes)
        self.x = x
        self.y = y
        self.x_test = x_test
        self.y_test = y_test
        self.n_classes = n_classes

    @property
    def n_train(self) -> int:
        """Number P of training patterns."""
        return self.x.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test patterns (0 without a test set)."""
        return 0 if self.x_test is None else self.x_test.shape[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input pattern, ``x.shape[1:]``."""
        return tuple(self.x.shape[1:])

    @property
    def binary(self) -> bool:
        """True for binary ±1 labels (floating `y`), False for class indices."""
        return bool(jnp.issubdtype(self.y.dtype, jnp.floating))


def _float_dtype(dtype: DTypeLike | None) -> np.dtype:
    """The requested floating dtype; ``None`` gives JAX's default float (float64 under x64)."""
    resolved = jnp.zeros((), dtype).dtype
    if not jnp.issubdtype(resolved, jnp.floating):
        raise ValueError(f"`dtype` must be a floating dtype, got {resolved}")
    return resolved


@partial(jax.jit, static_argnums=(1, 2, 3, 4, 5))
def _sphere_points(
    key: PRNGKeyArray, n: int, dim: int, dtype: np.dtype, center: bool, balanced: bool
) -> tuple[Float[Array, " n dim"], Float[Array, " n"]]:
    kx, ky = jax.random.split(key)
    z = jax.random.normal(kx, (n, dim), dtype)
    if center:
        z = z - jnp.mean(z, axis=0, keepdims=True)
    x = math.sqrt(dim) * z / jnp.linalg.norm(z, axis=1, keepdims=True)
    if balanced:
        return x, jnp.where(jnp.arange(n) % 2 == 1, 1.0, -1.0).astype(dtype)
    return x, jax.random.rademacher(ky, (n,), dtype)


@typechecked
def random_sphere(
    key: PRNGKeyArray,
    n_train: int,
    dim: int,
    n_test: int = 0,
    dtype: DTypeLike | None = None,
    *,
    center: bool = False,
    balanced: bool = False,
) -> Dataset:
    """Random data of 000 §III: x = √d z/‖z‖, z ~ N(0, I_d), uniform on the sphere of radius √d.

    Labels y_μ = ±1 are i.i.d. with probability 1/2 each by default: the papers say "random label"
    without saying whether the classes are balanced exactly. The two options reproduce the
    authors' public code (mariogeiger/nn_jamming): `center` subtracts the mean of the n Gaussian
    vectors before projecting them on the sphere, `balanced` gives the alternating labels
    y_μ = −1, +1, −1, … (exactly balanced, and so is every prefix of even length, which keeps nested
    training sets balanced). The training and test sets come from independent subkeys of `key`, so
    the training set does not depend on `n_test`. `dtype` defaults to JAX's default float (float64
    when x64 is enabled).
    """
    check_int_at_least("n_train", n_train, 1)
    check_int_at_least("dim", dim, 1)
    check_int_at_least("n_test", n_test, 0)
    if center:  # one centred point is the zero vector, which has no direction
        check_int_at_least("n_train", n_train, 2)
        if n_test:
            check_int_at_least("n_test", n_test, 2)
    dtype = _float_dtype(dtype)
    k_train, k_test = jax.random.split(key)
    x, y = _sphere_points(k_train, n_train, dim, dtype, center, balanced)
    x_test, y_test = _sphere_points(k_test, n_test, dim, dtype, center, balanced) if n_test else (None, None)
    return Dataset(x, y, x_test, y_test)


@partial(jax.jit, static_argnums=(1, 2, 4))
def _stripe_points(
    key: PRNGKeyArray, n: int, dim: int, boundaries: Float[Array, " B"], dtype: np.dtype
) -> tuple[Float[Array, " n dim"], Float[Array, " n"]]:
    x = jax.random.normal(key, (n, dim), dtype)
    crossed = jnp.sum(x[:, :1] > boundaries[None, :], axis=1)
    return x, jnp.where(crossed % 2 == 1, 1.0, -1.0).astype(dtype)


STRIPE_BOUNDARIES = (-0.3, 1.18549)
"""The default stripe: y = +1 for −0.3 < x_∥ < 1.18549, which has probability 1/2 under N(0, 1)."""


@typechecked
def stripe(
    key: PRNGKeyArray,
    n_train: int,
    dim: int,
    n_test: int = 0,
    boundaries: tuple[float, ...] = STRIPE_BOUNDARIES,
    dtype: DTypeLike | None = None,
) -> Dataset:
    """The stripe model of 001 §5 (thesis ch. 4 §6): x ~ N(0, I_d) and a label that depends on x_∥ = x₁
    only, alternating across the parallel planes x₁ = b_i: y = +1 where an odd number of the sorted
    `boundaries` lie below x₁, else −1 (d − 1 invariant directions x_⊥).

    The papers give neither the distribution nor the stripe positions; the Gaussian inputs and the
    default single stripe −0.3 < x₁ < 1.18549 (balanced labels) follow the authors' public code
    (mariogeiger/feature_lazy). Train and test sets use independent subkeys.
    """
    check_int_at_least("n_train", n_train, 1)
    check_int_at_least("dim", dim, 1)
    check_int_at_least("n_test", n_test, 0)
    if not boundaries or list(boundaries) != sorted(boundaries) or not np.all(np.isfinite(boundaries)):
        raise ValueError(
            f"`boundaries` must be a non-empty increasing tuple of finite numbers, got {boundaries}"
        )
    dtype = _float_dtype(dtype)
    b = jnp.asarray(boundaries, dtype)
    k_train, k_test = jax.random.split(key)
    x, y = _stripe_points(k_train, n_train, dim, b, dtype)
    x_test, y_test = _stripe_points(k_test, n_test, dim, b, dtype) if n_test else (None, None)
    return Dataset(x, y, x_test, y_test)


def _ring_centres(n_classes: int, blobs_per_class: int, dtype) -> Float[Array, "B 2"]:
    """Blob b at angle 2πb/B on the unit circle, B = K · blobs; its class is b mod K."""
    angles = 2 * jnp.pi * jnp.arange(n_classes * blobs_per_class, dtype=dtype) / (n_classes * blobs_per_class)
    return jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)


@partial(jax.jit, static_argnums=(1, 2, 3, 5))
def _ring_points(
    key: PRNGKeyArray, n: int, n_classes: int, blobs_per_class: int, spread: Float[Array, ""], dtype
) -> tuple[Float[Array, " n 2"], Int[Array, " n"]]:
    k_blob, k_noise = jax.random.split(key)
    blob = jax.random.randint(k_blob, (n,), 0, n_classes * blobs_per_class)
    centres = _ring_centres(n_classes, blobs_per_class, dtype)
    x = centres[blob] + spread * jax.random.normal(k_noise, (n, 2), dtype)
    return x, (blob % n_classes).astype(jnp.int32)


def _check_ring(n_classes: int, blobs_per_class: int, spread: float) -> None:
    check_int_at_least("n_classes", n_classes, 2)
    check_int_at_least("blobs_per_class", blobs_per_class, 1)
    check_positive("spread", spread)


@typechecked
def ring_mixture(
    key: PRNGKeyArray,
    n_train: int,
    n_test: int = 0,
    *,
    n_classes: int = 4,
    blobs_per_class: int = 2,
    spread: float = 0.3,
    dtype: DTypeLike | None = None,
) -> Dataset:
    """A 2-D, K-class Gaussian mixture with overlapping classes: the stand-in for LJAT19 (003 §2).

    B = K · `blobs_per_class` isotropic Gaussian blobs of standard deviation `spread` sit at angles
    2πb/B on the unit circle; blob b has class b mod K, so every class is non-convex (with the
    defaults, two opposite blobs) and neighbouring blobs belong to different classes. Blobs are drawn
    with equal probability. With K = 4, 2 blobs and spread 0.3 the Bayes accuracy is ≈ 0.80, like the
    ≈ 0.8 training-accuracy ceiling of LJAT19's two kept coordinates
    ([`ring_mixture_bayes_accuracy`][jamscope.data.ring_mixture_bayes_accuracy]). LJAT19 itself (the
    basins of a Lennard-Jones + Axilrod–Teller trimer) is not shipped with any package and cannot be
    downloaded here; this is a documented stand-in, not that data set. Labels are class indices
    (int32); train and test sets use independent subkeys.
    """
    check_int_at_least("n_train", n_train, 1)
    check_int_at_least("n_test", n_test, 0)
    _check_ring(n_classes, blobs_per_class, spread)
    dtype = _float_dtype(dtype)
    k_train, k_test = jax.random.split(key)
    s = jnp.asarray(spread, dtype)
    x, y = _ring_points(k_train, n_train, n_classes, blobs_per_class, s, dtype)
    x_test, y_test = (
        _ring_points(k_test, n_test, n_classes, blobs_per_class, s, dtype) if n_test else (None, None)
    )
    return Dataset(x, y, x_test, y_test, n_classes=n_classes)


@typechecked
def ring_mixture_bayes_accuracy(
    key: PRNGKeyArray,
    n_samples: int = 200_000,
    *,
    n_classes: int = 4,
    blobs_per_class: int = 2,
    spread: float = 0.3,
) -> float:
    """Monte-Carlo estimate of the Bayes accuracy of [`ring_mixture`][jamscope.data.ring_mixture]: the
    fraction of `n_samples` fresh points whose class maximizes the exact posterior Σ_b∈class N(x; c_b,
    spread² I) (standard error ≤ 0.5/√n_samples): no classifier can do better on average."""
    check_int_at_least("n_samples", n_samples, 1)
    _check_ring(n_classes, blobs_per_class, spread)
    dtype = _float_dtype(None)
    x, y = _ring_points(key, n_samples, n_classes, blobs_per_class, jnp.asarray(spread, dtype), dtype)
    centres = _ring_centres(n_classes, blobs_per_class, dtype)
    squared = jnp.sum((x[:, None, :] - centres[None]) ** 2, axis=-1)
    likelihood = jnp.exp(-squared / (2 * spread**2)).reshape(n_samples, blobs_per_class, n_classes)
    best = jnp.argmax(jnp.sum(likelihood, axis=1), axis=1)
    return float(jnp.mean(best.astype(jnp.int32) == y))


@typechecked
def normalize_on_sphere(x: Float[Array, " P *input"]) -> Float[Array, " P *input"]:
    """Center over patterns, then put every pattern on the sphere Σ_i x_i² = d (thesis ch. 3 §2).

    x_μ ← √d (x_μ − x̄)/‖x_μ − x̄‖ with x̄ = (1/P) Σ_μ x_μ and d the number of features of one
    pattern (the norm runs over all of ``x.shape[1:]``, the shape is kept). "Each component x_i has
    unit variance" in the sense (1/d) Σ_i x_i² = 1. The mean pattern is removed before the
    rescaling, so the output is a positive multiple of x_μ − x̄ pattern by pattern (its mean over
    patterns is not exactly zero). A pattern equal to the mean (e.g. P = 1) cannot be rescaled and
    raises ``ValueError``.
    """
    check_nonempty("x", x)
    out, smallest_norm = _center_and_rescale(x)
    if is_concrete(smallest_norm) and not smallest_norm > 0:
        raise ValueError(
            "`x` has a pattern equal to the mean pattern: it cannot be put on the sphere "
            "(normalize at least two distinct patterns)"
        )
    return out


@jax.jit
def _center_and_rescale(x: Float[Array, " P *input"]) -> tuple[Float[Array, " P *input"], Array]:
    """√d (x_μ − x̄)/‖x_μ − x̄‖ and the smallest norm ‖x_μ − x̄‖."""
    centered = x - jnp.mean(x, axis=0, keepdims=True)
    axes = tuple(range(1, x.ndim))
    norms = jnp.sqrt(jnp.sum(centered**2, axis=axes, keepdims=True))
    return math.sqrt(math.prod(x.shape[1:])) * centered / norms, jnp.min(norms)


@typechecked
def pca(x: Float[Array, " P *input"], n_components: int) -> Float[Array, " P n_components"]:
    """Projection z = (x − x̄) V_k on the top k = `n_components` principal components (000 §VII).

    V_k holds the k leading eigenvectors of the covariance of the (flattened) patterns of `x`,
    fitted on `x` itself (scikit-learn's exact ``PCA(svd_solver="full")``, deterministic signs).
    The columns of z are uncorrelated with variances the k largest covariance eigenvalues. Runs
    eagerly (NumPy), not inside ``jit``.
    """
    check_nonempty("x", x)
    flat = np.asarray(x).reshape(x.shape[0], -1)
    check_finite("x", flat)
    check_in_range("n_components", n_components, 1, min(flat.shape))
    z = PCA(n_components=n_components, svd_solver="full").fit_transform(flat)
    return jnp.asarray(z, dtype=x.dtype)


@typechecked
def parity_labels(classes: Int[Array, " P"], dtype: DTypeLike | None = None) -> Float[Array, " P"]:
    """Binary labels from class indices by parity: y = +1 for an even class, −1 for an odd one.

    000 §VII gathers MNIST digits into "even and odd numbers with labels y = ±1" without saying
    which parity is +1; jamscope's choice is even → +1. The same grouping splits Fashion-MNIST and
    CIFAR-10 into two sets of five classes (the papers do not say which classes are grouped).
    """
    return jnp.where(classes % 2 == 0, 1, -1).astype(_float_dtype(dtype))


def _take(key: PRNGKeyArray | None, total: int, n: int | None, name: str, low: int) -> np.ndarray:
    """Indices of `n` of `total` patterns: a random subset with `key`, else all of them in order."""
    n = total if n is None else n
    check_in_range(name, n, low, total)
    if key is None:
        if 0 < n < total:
            raise ValueError(f"pass a `key` to subsample `{name}` = {n} of {total} patterns")
        return np.arange(n)
    return np.asarray(jax.random.permutation(key, total))[:n]


def _build(
    x: Float[Array, " P *input"],
    classes: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    binary: bool,
) -> Dataset:
    """Dataset of the patterns `train` and `test` of the preprocessed inputs `x` (10 classes)."""
    c = jnp.asarray(classes, dtype=jnp.int32)
    y, n_classes = (parity_labels(c, x.dtype), None) if binary else (c, 10)
    if test.size == 0:
        return Dataset(x[train], y[train], n_classes=n_classes)
    return Dataset(x[train], y[train], x[test], y[test], n_classes=n_classes)


def _digit_split(
    key: PRNGKeyArray, total: int, n_train: int | None, n_test: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle the `total` digits with `key`: the first `n_train` (default: all but `n_test`) train,
    the next `n_test` test."""
    check_int_at_least("n_test", n_test, 0)
    n_train = total - n_test if n_train is None else n_train
    check_int_at_least("n_train", n_train, 1)
    if n_train + n_test > total:
        raise ValueError(
            f"`n_train` + `n_test` must be at most {total} (all digits), got {n_train} + {n_test}"
        )
    order = np.asarray(jax.random.permutation(key, total))
    return order[:n_train], order[n_train : n_train + n_test]


@typechecked
def digits(
    key: PRNGKeyArray,
    n_train: int | None = None,
    n_test: int = 0,
    pca_dim: int | None = None,
    binary: bool = True,
    dtype: DTypeLike | None = None,
) -> Dataset:
    """scikit-learn's 1797 8×8 handwritten digits (embedded, offline), preprocessed like 000 §VII.

    The 64 pixels (or their projection on `pca_dim` principal components fitted on all 1797
    images, as 000 §VII does for MNIST with d = 10) are put on the sphere Σ_i x_i² = d by
    [`normalize_on_sphere`][jamscope.data.normalize_on_sphere] (statistics of the whole set).
    Labels: parity ±1 ([`parity_labels`][jamscope.data.parity_labels]) when `binary`, else class
    indices (int32, 10 classes). The images are shuffled with `key`: the first `n_train` (default:
    all but `n_test`) train, the next `n_test` test.
    """
    images, classes = load_digits(return_X_y=True)
    train, test = _digit_split(key, images.shape[0], n_train, n_test)
    x = jnp.asarray(images, dtype=_float_dtype(dtype))
    if pca_dim is not None:
        check_in_range("pca_dim", pca_dim, 1, images.shape[1])
        x = pca(x, pca_dim)
    return _build(normalize_on_sphere(x), classes, train, test, binary)


@typechecked
def standardize_channels(x: Float[Array, "P C H W"]) -> Float[Array, "P C H W"]:
    """Each channel shifted and scaled to mean 0 and variance 1 over all patterns and pixels, the
    per-channel normalization of thesis ch. 4 (App. E.1, torchvision's ``Normalize``). An affine map
    per channel: it commutes with every deformation of [`jamscope.diffeo`][jamscope.diffeo]."""
    check_nonempty("x", x)
    mean = jnp.mean(x, axis=(0, 2, 3), keepdims=True)
    std = jnp.std(x, axis=(0, 2, 3), keepdims=True)
    if is_concrete(std) and not bool(jnp.all(std > 0)):
        raise ValueError("`x` has a constant channel: it cannot be standardized")
    return (x - mean) / std


def _digit_pixels(size: int, dtype: np.dtype) -> tuple[Array, np.ndarray]:
    images, classes = load_digits(return_X_y=True)
    x = jnp.asarray(images.reshape(-1, 1, 8, 8), dtype=dtype)
    if size != 8:
        x = jax.image.resize(x, (x.shape[0], 1, size, size), method="linear")
    return standardize_channels(x), classes


@typechecked
def digit_images(
    key: PRNGKeyArray,
    n_train: int | None = None,
    n_test: int = 0,
    size: int = 8,
    binary: bool = False,
    dtype: DTypeLike | None = None,
) -> Dataset:
    """scikit-learn's 1797 digits as images ``(P, 1, size, size)``, the offline stand-in for MNIST in
    the diffeomorphism experiments (thesis ch. 4).

    The 8×8 images are resized to `size` × `size` by linear interpolation (``jax.image.resize``)
    when `size` ≠ 8, then standardized per channel
    ([`standardize_channels`][jamscope.data.standardize_channels]).
    Labels: class indices (10 classes, the thesis's task), or parity ±1 with `binary`. Split as in
    [`digits`][jamscope.data.digits].
    """
    check_int_at_least("size", size, 3)
    x, classes = _digit_pixels(size, _float_dtype(dtype))
    train, test = _digit_split(key, x.shape[0], n_train, n_test)
    return _build(x, classes, train, test, binary)


def _existing(path: Path, allow_gz: bool) -> Path | None:
    """`path` if it exists, else ``path.gz`` if allowed and present, else None."""
    if path.is_file():
        return path
    gz = path.with_name(path.name + ".gz")
    return gz if allow_gz and gz.is_file() else None


def _locate(
    root: str | os.PathLike | None, subdir: str, names: tuple[str, ...], allow_gz: bool
) -> dict[str, Path]:
    """Paths of all files `names` in ``root/subdir`` or directly in `root` (one clear error if not).

    `root` defaults to ``$JAMSCOPE_DATA``.
    """
    expected = ", ".join(f"{n}[.gz]" if allow_gz else n for n in names)
    base = root if root is not None else os.environ.get(DATA_ENV)
    if base is None:
        raise FileNotFoundError(
            f"no data directory: pass `root=` or set {DATA_ENV} to a directory whose {subdir}/ "
            f"holds the official files {expected}. jamscope never downloads data."
        )
    base = Path(base).expanduser()
    for directory in (base / subdir, base):
        found = [_existing(directory / n, allow_gz) for n in names]
        if all(p is not None for p in found):
            return dict(zip(names, found, strict=True))
    missing = [n for n in names if _existing(base / subdir / n, allow_gz) is None]
    raise FileNotFoundError(
        f"missing {', '.join(missing)} in {base / subdir} (also searched {base}); expected the "
        f"official files {expected}. jamscope never downloads data: put the official files in "
        f"{base / subdir}, or pass `root=` / set {DATA_ENV} to the directory that holds them."
    )


@typechecked
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an array stored in the IDX format of MNIST (plain or gzip-compressed).

    Format: magic number = two zero bytes, a dtype code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64) and the number of dimensions; then one big-endian
    uint32 per dimension; then the data, big-endian, row-major. If `path` does not exist,
    ``path + ".gz"`` is tried. Returns the array in native byte order.
    """
    found = _existing(Path(path), allow_gz=True)
    if found is None:
        raise FileNotFoundError(f"no IDX file {path} (nor {path}.gz)")
    raw = found.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{found} is not an IDX file (magic number {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise ValueError(f"{found}: truncated IDX header ({ndim} dimensions announced)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    if len(raw) != offset + math.prod(shape) * dtype.itemsize:
        raise ValueError(
            f"{found}: header announces shape {shape} of {dtype.name}, "
            f"which does not match the {len(raw) - offset} data bytes"
        )
    data = np.frombuffer(raw, dtype, offset=offset).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _split_indices(
    key: PRNGKeyArray | None, n_available: int, total: int, n_train: int | None, n_test: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Training rows among the first `n_available` of `total` patterns, test rows among the rest."""
    k_train, k_test = (None, None) if key is None else jax.random.split(key)
    train = _take(k_train, n_available, n_train, "n_train", 1)
    test = n_available + _take(k_test, total - n_available, n_test, "n_test", 0)
    return train, test


@typechecked
def mnist(
    root: str | os.PathLike | None = None,
    kind: Literal["mnist", "fashion"] = "mnist",
    n_train: int | None = None,
    n_test: int | None = None,
    pca_dim: int | None = None,
    binary: bool = True,
    key: PRNGKeyArray | None = None,
    dtype: DTypeLike | None = None,
    normalization: Literal["sphere", "channels"] = "sphere",
) -> Dataset:
    """MNIST or Fashion-MNIST from the official IDX files, preprocessed as in 000 §VII.

    Reads ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` (each plain or ``.gz``) from ``root/mnist/`` (``kind="mnist"``) or
    ``root/fashion-mnist/`` (``kind="fashion"``), or directly from `root`; `root` defaults to
    ``$JAMSCOPE_DATA``. Nothing is downloaded.

    The images are flattened to 784 features, optionally projected on `pca_dim` principal components
    fitted on train + test together (000 §VII: "PCA on the whole dataset", d = 10), then put on the
    sphere Σ_i x_i² = d (thesis ch. 3 §2, centering over train + test). Labels: parity ±1 when
    `binary` (even → +1), else class indices (int32). `n_train`/`n_test` (default: all of the
    official split; ``n_test=0`` for no test set) are random subsets drawn with `key`, which is
    required to subsample. ``normalization="channels"`` keeps the images ``(P, 1, 28, 28)`` and
    standardizes them ([`standardize_channels`][jamscope.data.standardize_channels], thesis ch. 4)
    instead of flattening them onto the sphere (no PCA then).
    """
    paths = _locate(root, _MNIST_DIRS[kind], _MNIST_FILES, allow_gz=True)
    images, labels = [], []
    for image_file, label_file in (_MNIST_FILES[:2], _MNIST_FILES[2:]):
        image, label = read_idx(paths[image_file]), read_idx(paths[label_file])
        check_same_length(str(paths[image_file]), image, str(paths[label_file]), label)
        images.append(image.reshape(image.shape[0], -1))
        labels.append(label)
        pixels = image.shape[1:]
    x = jnp.asarray(np.concatenate(images), dtype=_float_dtype(dtype))
    train, test = _split_indices(key, images[0].shape[0], x.shape[0], n_train, n_test)
    if normalization == "channels":
        if pca_dim is not None:
            raise ValueError("`pca_dim` must be None with normalization='channels' (images are kept)")
        x = standardize_channels(x.reshape(-1, 1, *pixels))
        return _build(x, np.concatenate(labels), train, test, binary)
    if pca_dim is not None:
        check_in_range("pca_dim", pca_dim, 1, x.shape[1])
        x = pca(x, pca_dim)
    return _build(normalize_on_sphere(x), np.concatenate(labels), train, test, binary)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 3, 32, 32), labels) of one official CIFAR-10 python batch.

    The batches are pickles: only read files from the official archive.
    """
    with path.open("rb") as f:
        batch = pickle.load(f, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: expected b'data' of shape (N, 3072), got {data.shape}")
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    check_same_length(f"{path}: data", data, f"{path}: labels", labels)
    return data.reshape(-1, 3, 32, 32), labels


@typechecked
def cifar10(
    root: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    binary: bool = True,
    grayscale: bool = False,
    key: PRNGKeyArray | None = None,
    dtype: DTypeLike | None = None,
    normalization: Literal["sphere", "channels"] = "sphere",
) -> Dataset:
    """CIFAR-10 from the official python batches, images (P, 3, 32, 32) on the sphere Σ_i x_i² = d.

    Reads ``data_batch_1`` … ``data_batch_5`` and ``test_batch`` (the extracted
    ``cifar-10-python.tar.gz``) from ``root/cifar-10-batches-py/`` or directly from `root`; `root`
    defaults to ``$JAMSCOPE_DATA``. Nothing is downloaded. `grayscale` averages the three channels
    into one, (P, 1, 32, 32), as the 1024 = 32·32 input features of thesis ch. 3 §7. Inputs are
    put on the sphere with d = C·32·32 (thesis ch. 3 §2, centering over train + test). Labels:
    parity ±1 when `binary` (classes 0, 2, 4, 6, 8 → +1; thesis ch. 3 §7 merges five classes into
    each label without saying which), else class indices (int32). `n_train`/`n_test` as in
    [`mnist`][jamscope.data.mnist]. ``normalization="channels"`` standardizes each channel instead
    ([`standardize_channels`][jamscope.data.standardize_channels], thesis ch. 4). The batches are
    pickles: read only the official files.
    """
    paths = _locate(root, _CIFAR_DIR, _CIFAR_FILES, allow_gz=False)
    batches = [_read_cifar_batch(paths[name]) for name in _CIFAR_FILES]
    images = np.concatenate([b[0] for b in batches])
    classes = np.concatenate([b[1] for b in batches])
    n_available = images.shape[0] - batches[-1][0].shape[0]
    train, test = _split_indices(key, n_available, images.shape[0], n_train, n_test)
    x = jnp.asarray(images, dtype=_float_dtype(dtype))
    if grayscale:
        x = jnp.mean(x, axis=1, keepdims=True)
    x = standardize_channels(x) if normalization == "channels" else normalize_on_sphere(x)
    return _build(x, classes, train, test, binary)
