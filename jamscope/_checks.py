"""Value checks at the public boundary: errors that name the argument and what was expected.

Type and shape checks come from [`typechecked`][jamscope.typing.typechecked]; these functions check
*values* (finite, positive, labels in {−1, +1}, matching sizes) on concrete arrays before any
jit-compiled code runs. Inside a trace the arrays are abstract and the value checks are skipped.
"""

from numbers import Real

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    """True when `x` holds values (not a tracer inside `jit`/`vmap`/`grad`)."""
    return not isinstance(x, jax.core.Tracer)


def check_finite(name: str, x) -> None:
    """Raise ``ValueError`` if the array `x` contains NaN or ±inf."""
    if x is None or not is_concrete(x):
        return
    a = np.asarray(x)
    if a.size and not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"`{name}` must be finite, but {bad} of its {a.size} entries are NaN or inf")


def check_nonempty(name: str, x) -> None:
    """Raise ``ValueError`` if `x` has no rows."""
    if np.shape(x)[0] == 0:
        raise ValueError(f"`{name}` must contain at least one pattern, got shape {np.shape(x)}")


def check_positive(name: str, value: Real, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` unless ``value > 0`` (or ``>= 0`` with `allow_zero`)."""
    ok = value >= 0 if allow_zero else value > 0
    if not bool(np.isfinite(value)) or not ok:
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be a finite number {bound}, got {value!r}")


def check_int_at_least(name: str, value: int, minimum: int) -> None:
    """Raise ``ValueError`` unless the integer `value` is at least `minimum`."""
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer ≥ {minimum}, got {value!r}")


def check_positive_values(name: str, values: tuple, *, integer: bool) -> None:
    """Raise ``ValueError`` unless `values` is a non-empty tuple of positive numbers (integers ≥ 1
    with `integer`)."""
    if not values or (min(values) < 1 if integer else not min(values) > 0):
        kind = "integers" if integer else "numbers"
        raise ValueError(f"`{name}` must be a non-empty tuple of positive {kind}, got {values}")


def check_in_range(name: str, value: Real, low: Real, high: Real) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high``."""
    if not (low <= value <= high):
        raise ValueError(f"`{name}` must lie in [{low}, {high}], got {value!r}")


def check_binary_labels(name: str, y) -> None:
    """Raise ``ValueError`` unless every entry of `y` is −1 or +1."""
    if not is_concrete(y):
        return
    a = np.asarray(y)
    bad = ~np.isin(a, (-1.0, 1.0))
    if np.any(bad):
        raise ValueError(
            f"`{name}` must hold binary labels in {{-1, +1}}, found {np.unique(a[bad])[:5]} "
            "(use class indices with a multi-class loss)"
        )


def check_class_labels(name: str, y, n_classes: int) -> None:
    """Raise ``ValueError`` unless every entry of `y` lies in {0, …, n_classes − 1}."""
    if not is_concrete(y):
        return
    a = np.asarray(y)
    if a.size and (a.min() < 0 or a.max() >= n_classes):
        raise ValueError(
            f"`{name}` must hold class indices in [0, {n_classes - 1}], "
            f"found values in [{a.min()}, {a.max()}]"
        )


def check_same_length(name_a: str, a, name_b: str, b) -> None:
    """Raise ``ValueError`` unless `a` and `b` have the same number of rows."""
    if np.shape(a)[0] != np.shape(b)[0]:
        raise ValueError(
            f"`{name_a}` and `{name_b}` must have the same number of patterns, "
            f"got {np.shape(a)[0]} and {np.shape(b)[0]}"
        )


def check_trailing_shape(name: str, x, expected: tuple[int, ...]) -> None:
    """Raise ``ValueError`` unless ``x.shape[1:] == expected`` (per-pattern input shape)."""
    got = tuple(np.shape(x)[1:])
    if got != tuple(expected):
        raise ValueError(
            f"`{name}` must have per-pattern shape {tuple(expected)} to match the model, got {got} "
            f"(full shape {tuple(np.shape(x))})"
        )


def check_same_dtype(name_a: str, a, name_b: str, b) -> None:
    """Raise ``ValueError`` unless the arrays `a` and `b` have the same dtype."""
    if np.dtype(a.dtype) != np.dtype(b.dtype):
        raise ValueError(f"`{name_a}` must have the dtype of `{name_b}` ({b.dtype}), got {a.dtype}")


def check_same_input_shape(name_a: str, a, name_b: str, b) -> None:
    """Raise ``ValueError`` unless `a` and `b` have the same per-pattern shape ``shape[1:]``."""
    shape_a, shape_b = tuple(np.shape(a)[1:]), tuple(np.shape(b)[1:])
    if shape_a != shape_b:
        raise ValueError(
            f"`{name_a}` must have the per-pattern shape of `{name_b}`, {shape_b}, got {shape_a} "
            f"(full shapes {tuple(np.shape(a))} and {tuple(np.shape(b))})"
        )


def check_inputs(name: str, x, input_shape: tuple[int, ...]) -> None:
    """The checks of a network's inputs `x` ``(P, *input_shape)``: at least one pattern, the
    per-pattern shape `input_shape`, finite values."""
    check_nonempty(name, x)
    check_trailing_shape(name, x, input_shape)
    check_finite(name, x)


def check_float64(name: str, x) -> None:
    """Raise ``ValueError`` unless the array `x` is float64: a count decided by comparing numbers to
    zero (zero modes, signs) is wrong at float32 rounding, whatever the tolerance."""
    if np.dtype(x.dtype) != np.float64:
        raise ValueError(
            f"`{name}` must be float64 to count zero modes and signs, got {np.dtype(x.dtype).name}: compute "
            "it with jax.config.update('jax_enable_x64', True) and float64 inputs"
        )


def as_float64(name: str, tree, why: str = "this result is compared to zero and needs float64"):
    """`tree` with every floating array cast to float64, for decisions compared to zero (ranks,
    distances) that float32 rounding would change, or results that span many decades; ``ValueError``
    naming `name`, and saying `why`, when float64 is off."""
    if not jax.config.jax_enable_x64:
        raise ValueError(
            f"`{name}`: {why}, which is off: call jax.config.update('jax_enable_x64', True) first"
        )
    return jax.tree_util.tree_map(lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a, tree)
