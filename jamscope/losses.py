"""Losses per pattern, with their first and second derivatives in the output f.

A loss is an immutable module with hyper-parameters as fields. It gives, for outputs ``f`` and
labels ``y`` of P patterns:

- `value(f, y)`: ℓ(f_μ, y_μ) per pattern;
- `first_derivative(f, y)`: ℓ′ = ∂ℓ/∂f (shape of f);
- `second_derivative(f, y)`: ℓ″ = ∂²ℓ/∂f² (``(P,)`` for binary losses, ``(P, K, K)`` for K classes),
  the weights of the Gauss–Newton part H0 = (1/P) Σ ℓ″ ∇f ∇fᵀ of the Hessian (000 eq. 3);
- `unsatisfied(f, y)`: the patterns that still push the dynamics (Δ_μ > 0 for margin losses;
  N_Δ is their number, 000 §II).

Binary margin losses are functions φ(Δ) of the gap Δ = ε − y f (000 eq. 9, ε = `margin`), so
ℓ′ = −y φ′(Δ) and ℓ″ = φ″(Δ) (since y² = 1). The training objective is
[`objective`][jamscope.losses.objective] = (1/(α² P)) Σ_μ ℓ(F(x_μ), y_μ) (thesis ch. 3 eq. 7; α = 1
for plain networks).
"""

import abc
from typing import ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import check_binary_labels, check_class_labels, check_finite, check_positive, is_concrete
from .nets import AbstractNet, outputs
from .typing import Array, Bool, Float, Int, Scalar, typechecked

__all__ = [
    "AbstractLoss",
    "AbstractObjective",
    "AbstractMarginLoss",
    "QuadraticHinge",
    "LinearHinge",
    "SoftHinge",
    "CrossEntropy",
    "MSE",
    "MultiClassHinge",
    "SoftmaxCrossEntropy",
    "mean_loss",
    "objective",
    "misclassified",
    "error_rate",
]

Outputs = Float[Array, " P *K"]


class AbstractLoss(eqx.Module):
    """A loss ℓ(f, y) per pattern with analytic derivatives in f."""

    multiclass: ClassVar[bool] = False

    @abc.abstractmethod
    def value(self, f: Outputs, y: Array) -> Float[Array, " P"]: ...

    @abc.abstractmethod
    def first_derivative(self, f: Outputs, y: Array) -> Outputs: ...

    @abc.abstractmethod
    def second_derivative(self, f: Outputs, y: Array) -> Float[Array, " P *KK"]: ...

    @abc.abstractmethod
    def unsatisfied(self, f: Outputs, y: Array) -> Bool[Array, " P"]: ...

    def check_labels(self, y: Array, n_outputs: int) -> None:
        """Raise ``ValueError`` if `y` is not a valid label array for this loss (eager only)."""
        if self.multiclass:
            if jnp.issubdtype(y.dtype, jnp.floating):
                raise ValueError("`y` must hold integer class indices for a multi-class loss")
            check_class_labels("y", y, n_outputs)
        else:
            if n_outputs != 1:
                raise ValueError(
                    f"a binary loss needs a scalar-output model (n_outputs = 1), got {n_outputs}"
                )
            check_binary_labels("y", y)


class AbstractObjective(eqx.Module):
    """A scalar objective of a whole model, without data: what the training engine minimizes when
    the quantity to optimize is not a mean over patterns, e.g. −G_π of a POMDP policy, whose
    gradient flow is thesis ch. 7 eq. 3.

    [`train`][jamscope.train.train] takes it in place of a loss (with ``data=None``); a final
    subclass defines `value_and_outputs`: the objective and the array whose change per step
    [`GradientFlow`][jamscope.train.GradientFlow] bounds (eq. 8's role: the network outputs for a
    loss, the policy's probabilities for a POMDP). No run of an objective is ever "fitted".
    """

    @abc.abstractmethod
    def value_and_outputs(self, model: eqx.Module) -> tuple[Scalar, Float[Array, "..."]]: ...


class AbstractMarginLoss(AbstractLoss):
    """Binary loss φ(Δ) of the gap Δ = ε − y f, with φ′, φ″ in closed form (000 eq. 9)."""

    margin: eqx.AbstractVar[float]

    @abc.abstractmethod
    def phi(self, gap: Array) -> Array: ...

    @abc.abstractmethod
    def phi_prime(self, gap: Array) -> Array: ...

    @abc.abstractmethod
    def phi_second(self, gap: Array) -> Array: ...

    def gaps(self, f: Float[Array, " P"], y: Float[Array, " P"]) -> Float[Array, " P"]:
        """Δ_μ = ε − y_μ f_μ (000 eq. 9)."""
        return self.margin - y * f

    def value(self, f: Float[Array, " P"], y: Float[Array, " P"]) -> Float[Array, " P"]:
        return self.phi(self.gaps(f, y))

    def first_derivative(self, f: Float[Array, " P"], y: Float[Array, " P"]) -> Float[Array, " P"]:
        return -y * self.phi_prime(self.gaps(f, y))

    def second_derivative(self, f: Float[Array, " P"], y: Float[Array, " P"]) -> Float[Array, " P"]:
        return self.phi_second(self.gaps(f, y))

    def unsatisfied(self, f: Float[Array, " P"], y: Float[Array, " P"]) -> Bool[Array, " P"]:
        return self.gaps(f, y) > 0


def _check_margin(margin: float) -> float:
    check_positive("margin", margin)
    return float(margin)


@final
class QuadraticHinge(AbstractMarginLoss):
    """ℓ = ½ max(0, Δ)², Δ = ε − y f: the "hinge loss" of the jamming papers (000 eq. 9, ε = ½).

    φ′ = max(0, Δ), φ″ = θ(Δ) (taken 0 at Δ = 0).
    """

    margin: float = eqx.field(static=True)

    @typechecked
    def __init__(self, margin: float = 0.5):
        self.margin = _check_margin(margin)

    def phi(self, gap):
        return 0.5 * jnp.maximum(gap, 0.0) ** 2

    def phi_prime(self, gap):
        return jnp.maximum(gap, 0.0)

    def phi_second(self, gap):
        return jnp.where(gap > 0, 1.0, 0.0).astype(gap.dtype)


@final
class LinearHinge(AbstractMarginLoss):
    """ℓ = max(0, Δ), Δ = ε − y f (001 eq. 4 with γ = 1). φ′ = θ(Δ), φ″ = 0 (almost everywhere)."""

    margin: float = eqx.field(static=True)

    @typechecked
    def __init__(self, margin: float = 0.5):
        self.margin = _check_margin(margin)

    def phi(self, gap):
        return jnp.maximum(gap, 0.0)

    def phi_prime(self, gap):
        return jnp.where(gap > 0, 1.0, 0.0).astype(gap.dtype)

    def phi_second(self, gap):
        return jnp.zeros_like(gap)


@final
class SoftHinge(AbstractMarginLoss):
    """ℓ = sp_β(ε − y f) = ln(1 + e^(β(ε − y f)))/β, the soft hinge of thesis ch. 3 §2 (β = 20, ε = 1).

    φ′ = s(βΔ) with s the logistic function, φ″ = β s(βΔ)(1 − s(βΔ)).
    """

    margin: float = eqx.field(static=True)
    sharpness: float = eqx.field(static=True)

    @typechecked
    def __init__(self, sharpness: float = 20.0, margin: float = 1.0):
        check_positive("sharpness", sharpness)
        self.margin = _check_margin(margin)
        self.sharpness = float(sharpness)

    def phi(self, gap):
        return jax.nn.softplus(self.sharpness * gap) / self.sharpness

    def phi_prime(self, gap):
        return jax.nn.sigmoid(self.sharpness * gap)

    def phi_second(self, gap):
        s = jax.nn.sigmoid(self.sharpness * gap)
        return self.sharpness * s * (1.0 - s)


@final
class CrossEntropy(AbstractMarginLoss):
    """Binary cross-entropy ℓ = ln(1 + e^(−y f)) (000 §II, 001 eq. 4).

    Written as φ(Δ) = ln(1 + e^Δ) with Δ = −y f; `margin` (default 0) only decides which
    patterns count as unsatisfied (Δ + margin > 0, i.e. y f < margin; 0: the misclassified ones).
    """

    margin: float = eqx.field(static=True)

    @typechecked
    def __init__(self, margin: float = 0.0):
        check_positive("margin", margin, allow_zero=True)
        self.margin = float(margin)

    def gaps(self, f, y):
        return -y * f

    def unsatisfied(self, f, y):
        return self.gaps(f, y) + self.margin > 0

    def phi(self, gap):
        return jax.nn.softplus(gap)

    def phi_prime(self, gap):
        return jax.nn.sigmoid(gap)

    def phi_second(self, gap):
        s = jax.nn.sigmoid(gap)
        return s * (1.0 - s)


@final
class MSE(AbstractLoss):
    """ℓ = ½ (f − y)² (004 App. C). ℓ′ = f − y, ℓ″ = 1; unsatisfied: f ≠ y exactly."""

    @typechecked
    def __init__(self):
        pass

    def value(self, f, y):
        return 0.5 * (f - y) ** 2

    def first_derivative(self, f, y):
        return f - y

    def second_derivative(self, f, y):
        return jnp.ones_like(f)

    def unsatisfied(self, f, y):
        return f != y


@final
class MultiClassHinge(AbstractLoss):
    """$ℓ_μ = \\frac{1}{K} \\sum_c \\max(0, ε - t_{μc} f_{μc})^2$, t = +1 for the label, −1 otherwise:
    000 eq. 10 ($L = \\frac{1}{KP} \\sum_{μ,c} Δ_{μc}^2\\, θ(Δ_{μc})$ with K = 10), without the ½ of
    the binary hinge.

    ℓ′_c = −2 t_c max(0, Δ_c)/K and ℓ″ = 2 diag(θ(Δ_c))/K. A pattern is unsatisfied when any Δ_c > 0.
    """

    multiclass: ClassVar[bool] = True
    margin: float = eqx.field(static=True)

    @typechecked
    def __init__(self, margin: float = 0.5):
        self.margin = _check_margin(margin)

    def _gaps(self, f: Float[Array, " P K"], y: Int[Array, " P"]):
        t = 2.0 * jax.nn.one_hot(y, f.shape[-1], dtype=f.dtype) - 1.0
        return t, self.margin - t * f

    def value(self, f, y):
        _, gap = self._gaps(f, y)
        return jnp.mean(jnp.maximum(gap, 0.0) ** 2, axis=-1)

    def first_derivative(self, f, y):
        t, gap = self._gaps(f, y)
        return -2.0 * t * jnp.maximum(gap, 0.0) / f.shape[-1]

    def second_derivative(self, f, y):
        _, gap = self._gaps(f, y)
        diag = jnp.where(gap > 0, 2.0, 0.0).astype(f.dtype) / f.shape[-1]
        return jax.vmap(jnp.diag)(diag)

    def unsatisfied(self, f, y):
        _, gap = self._gaps(f, y)
        return jnp.any(gap > 0, axis=-1)


@final
class SoftmaxCrossEntropy(AbstractLoss):
    """$ℓ_μ = -\\ln \\mathrm{softmax}(f_μ)_{y_μ}$ (003 §2). ℓ′ = p − e_y, ℓ″ = diag(p) − p pᵀ; unsatisfied:
    misclassified (argmax f ≠ y)."""

    multiclass: ClassVar[bool] = True

    @typechecked
    def __init__(self):
        pass

    def value(self, f, y):
        return jax.nn.logsumexp(f, axis=-1) - jnp.take_along_axis(f, y[:, None], axis=-1)[:, 0]

    def first_derivative(self, f, y):
        return jax.nn.softmax(f, axis=-1) - jax.nn.one_hot(y, f.shape[-1], dtype=f.dtype)

    def second_derivative(self, f, y):
        p = jax.nn.softmax(f, axis=-1)
        return jax.vmap(jnp.diag)(p) - p[:, :, None] * p[:, None, :]

    def unsatisfied(self, f, y):
        return jnp.argmax(f, axis=-1).astype(y.dtype) != y


@typechecked
def mean_loss(
    loss: AbstractLoss,
    f: Outputs,
    y: Float[Array, " P"] | Int[Array, " P"],
    output_scale: float | Float[Array, ""] = 1.0,
) -> Scalar:
    """(1/(α² P)) Σ_μ ℓ(f_μ, y_μ): the α-rescaled mean loss of thesis ch. 3 eq. (7).

    With α = `output_scale` = 1 this is the plain loss L = (1/P) Σ ℓ of 000 eq. 9.
    """
    check_finite("f", f)
    if is_concrete(y):
        loss.check_labels(y, 1 if f.ndim == 1 else f.shape[1])
    if is_concrete(output_scale):
        check_positive("output_scale", float(output_scale))
    return jnp.mean(loss.value(f, y)) / output_scale**2


def _labels_match(loss: AbstractLoss, model: AbstractNet, y: Array) -> None:
    if isinstance(y, jax.core.Tracer):
        return
    loss.check_labels(y, model.n_outputs)


@typechecked
def objective(
    loss: AbstractLoss,
    model: AbstractNet,
    x: Float[Array, " P *input"],
    y: Float[Array, " P"] | Int[Array, " P"],
) -> Scalar:
    """The training loss of `model` on (x, y): (1/(α² P)) Σ_μ ℓ(F(x_μ), y_μ), α = `model.output_scale`.

    For a [`Centered`][jamscope.nets.Centered] model F = α(f − f₀) and this is thesis ch. 3 eq. (7);
    for a plain network it is 000 eq. 9.
    """
    _labels_match(loss, model, y)
    return mean_loss(loss, outputs(model, x), y, model.output_scale)


@typechecked
def misclassified(f: Float[Array, "..."], y: Float[Array, " P"] | Int[Array, " P"]) -> Bool[Array, "..."]:
    """The patterns a predictor gets wrong (the 0–1 loss), for outputs of one model or of a batch.

    Binary ±1 labels (float): y_μ f_μ ≤ 0, with `f` of shape ``(*batch, P)`` (f = 0 counts as an
    error, 000 Fig. 6c); class labels (integer): argmax_k f_μk ≠ y_μ, with `f` of shape
    ``(*batch, P, K)``. The result has shape ``(*batch, P)``.
    """
    binary = jnp.issubdtype(y.dtype, jnp.floating)
    axis = -1 if binary else -2
    if f.ndim < (1 if binary else 2) or f.shape[axis] != y.shape[0] or y.shape[0] == 0:
        expected = "(*batch, P)" if binary else "(*batch, P, K)"
        raise ValueError(
            f"`f` must have shape {expected} with P = {y.shape[0]} ≥ 1 as `y`, got {f.shape}"
        )
    check_finite("f", f)
    if binary:
        check_binary_labels("y", y)
    else:
        check_class_labels("y", y, f.shape[-1])
    batch = f.ndim - (1 if binary else 2)
    y = y.reshape((1,) * batch + y.shape)  # explicit broadcasting over the batch dimensions
    if binary:
        return y * f <= 0
    return jnp.argmax(f, axis=-1).astype(y.dtype) != y


@typechecked
def error_rate(f: Float[Array, "..."], y: Float[Array, " P"] | Int[Array, " P"]) -> Float[Array, "..."]:
    """The fraction of misclassified patterns, ε = (1/P) #{μ misclassified}
    ([`misclassified`][jamscope.losses.misclassified]), per model of the batch: shape ``(*batch,)``."""
    return jnp.mean(misclassified(f, y), axis=-1, dtype=f.dtype)
