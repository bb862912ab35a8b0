"""Array type aliases and the one runtime type-checking decorator of jamscope.

Every public function and module constructor is wrapped in [`typechecked`][jamscope.typing.typechecked],
which applies `jaxtyping.jaxtyped(typechecker=beartype)`: a call whose arrays have the wrong rank,
shape or dtype fails before any computation, with a message that names the argument and the
expected type, e.g. ``The problem arose whilst typechecking parameter 'x'. Expected Float[Array, 'P d']``.

Shape names follow the design card: ``P`` patterns, ``d`` input dimension, ``N`` parameters,
``K`` classes or ensemble members, ``C H W`` image channels and size.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from beartype import beartype
from jaxtyping import (
    Array,
    Bool,
    Float,
    Int,
    Key,
    PRNGKeyArray,
    PyTree,
    Real,
    Shaped,
    UInt32,
    jaxtyped,
)

__all__ = [
    "Array",
    "Bool",
    "Float",
    "Int",
    "PRNGKeyArray",
    "PRNGKeys",
    "PyTree",
    "Real",
    "Shaped",
    "Inputs",
    "Labels",
    "BinaryLabels",
    "ClassLabels",
    "Scalar",
    "MatVec",
    "typechecked",
]

F = TypeVar("F", bound=Callable[..., Any])

Inputs = Float[Array, " P *input"]
"""A batch of P inputs of any shape: vectors ``(P, d)`` or images ``(P, C, H, W)``."""
BinaryLabels = Float[Array, " P"]
"""Binary labels in {−1, +1}, one per pattern."""
ClassLabels = Int[Array, " P"]
"""Class indices in {0, …, K−1}, one per pattern."""
Labels = BinaryLabels | ClassLabels
"""Either kind of labels: binary ±1 (hinge losses) or class indices (cross-entropy)."""
Scalar = Float[Array, ""]
"""A zero-dimensional float array: a loss, a norm, a rate."""
PRNGKeys = Key[Array, " K"] | UInt32[Array, " K 2"]
"""A batch of K PRNG keys (new-style typed keys or legacy ``uint32[K, 2]``)."""
MatVec = Callable[[Float[Array, " N"]], Float[Array, " N"]]
"""A linear operator given by its product v ↦ A v on flat vectors of length N (Lanczos, SLQ)."""


def typechecked(fn: F) -> F:
    """Check every argument (and the return value) of `fn` against its jaxtyping annotation.

    Dimension names are bound per call: ``f(x: Float[Array, " P d"], y: Float[Array, " P"])`` rejects
    an `x` and `y` of different lengths. Applied to every public function and constructor.
    """
    return jaxtyped(typechecker=beartype)(fn)
