"""Networks: immutable Equinox modules in the NTK parametrization, and the α-trick wrapper.

All networks act on **one** input (a vector ``(d,)`` or an image ``(C, H, W)``) and return a scalar
(binary tasks, ``n_outputs = 1``) or a vector of ``n_outputs`` logits. Batches go through the free
function [`outputs`][jamscope.nets.outputs]; ensembles are the same modules with a leading axis on
every array, built by [`ensemble`][jamscope.nets.ensemble] (``eqx.filter_vmap`` over keys).

Which leaves are trained is decided by [`partition`][jamscope.nets.partition]: every inexact array
except those inside a [`Frozen`][jamscope.nets.Frozen] wrapper (the initial weights w₀ of
[`Centered`][jamscope.nets.Centered]).
"""

import abc
import math
from collections.abc import Callable
from functools import partial
from typing import Literal, final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._checks import (
    check_finite,
    check_inputs,
    check_int_at_least,
    check_nonempty,
    check_positive,
)
from .typing import Array, Float, PRNGKeyArray, PRNGKeys, PyTree, typechecked

__all__ = [
    "AbstractNet",
    "FCNet",
    "MLP",
    "SmallCNN",
    "Centered",
    "Linearized",
    "linearize",
    "Frozen",
    "unwrap",
    "activation_function",
    "unit_variance_prefactor",
    "outputs",
    "partition",
    "n_params",
    "mlp_n_params",
    "width_for_params",
    "flat_params",
    "with_flat_params",
    "ensemble",
    "ensemble_size",
    "ensemble_outputs",
    "flat_outputs",
    "layer_maps",
]

ActivationName = Literal["relu", "tanh", "softplus", "linear"]


def _softplus(beta: float) -> Callable[[Array], Array]:
    return lambda a: jax.nn.softplus(beta * a) / beta


def _raw_activation(name: str, softplus_beta: float) -> Callable[[Array], Array]:
    table: dict[str, Callable[[Array], Array]] = {
        "relu": jax.nn.relu,
        "tanh": jnp.tanh,
        "softplus": _softplus(softplus_beta),
        "linear": lambda a: a,
    }
    if name not in table:
        raise ValueError(f"`activation` must be one of {sorted(table)}, got {name!r}")
    return table[name]


@typechecked
def unit_variance_prefactor(activation: ActivationName, softplus_beta: float = 5.0) -> float:
    """Prefactor $a = (\\mathbb{E}_{z∼N(0,1)}[ρ(z)^2])^{-1/2}$ that gives unit-variance preactivations.

    Thesis ch. 3 eq. (10): σ(x) = a sp_β(x) with a ≈ 1.404 for β = 5 "in order to have
    preactivations of unit variance at initialization"; the same rule gives √2 for ReLU. Computed
    by 200-point Gauss–Hermite quadrature (exact to float64 precision for these smooth integrands).
    """
    check_positive("softplus_beta", softplus_beta)
    nodes, weights = np.polynomial.hermite_e.hermegauss(200)
    _raw_activation(activation, softplus_beta)  # validates the name
    values = {
        "relu": np.maximum(nodes, 0.0),
        "tanh": np.tanh(nodes),
        "softplus": np.logaddexp(0.0, softplus_beta * nodes) / softplus_beta,
        "linear": nodes,
    }[activation]
    second_moment = float(np.sum(weights * values**2))
    return 1.0 / math.sqrt(second_moment / math.sqrt(2.0 * math.pi))


@typechecked
def activation_function(
    activation: ActivationName, softplus_beta: float = 5.0, normalize: bool = True
) -> Callable[[Array], Array]:
    """The activation σ = a ρ, with a from [`unit_variance_prefactor`][jamscope.nets.unit_variance_prefactor]
    when `normalize` (else a = 1): relu, tanh, softplus sp_β(x) = ln(1 + e^(βx))/β, or linear."""
    rho = _raw_activation(activation, softplus_beta)
    a = unit_variance_prefactor(activation, softplus_beta) if normalize else 1.0
    return lambda x: a * rho(x)


def _orthogonal(key: PRNGKeyArray, shape: tuple[int, int], dtype, gain: float = 1.0) -> Array:
    """Random (semi-)orthogonal matrix `gain` · Q of shape (m, n): orthonormal rows (m ≤ n) or columns.

    Q from the QR decomposition of an (max, min) Gaussian matrix with the sign correction
    Q ← Q diag(sign R_ii) that makes it Haar distributed (Saxe et al.; 000 §III, the authors' code).
    """
    m, n = shape
    g = jax.random.normal(key, (max(m, n), min(m, n)), dtype)
    q, r = jnp.linalg.qr(g)
    q = q * jnp.sign(jnp.diagonal(r))[None, :]
    return gain * (q if m >= n else q.T)


class AbstractNet(eqx.Module):
    """A network f(w, x) acting on one input. Subclasses fill in the fields and `__call__`."""

    input_shape: eqx.AbstractVar[tuple[int, ...]]
    n_outputs: eqx.AbstractVar[int]

    @abc.abstractmethod
    def __call__(self, x: Float[Array, "*input"]) -> Float[Array, "*out"]: ...

    @property
    def output_scale(self) -> float | Float[Array, "*K"]:
        """α of the α-trick (thesis ch. 3 eq. 7): 1 for a plain network."""
        return 1.0


@final
class FCNet(AbstractNet):
    """Fully connected network in the NTK parametrization (thesis ch. 3 eqs. 11–14).

        z̃¹ = W⁰ x / √d + β b⁰,
        z̃^{ℓ+1} = W^ℓ σ(z̃^ℓ) / √h + β b^ℓ,
        f = W^L σ(z̃^L) / √h + β b^L

    with all W, b ~ N(0, 1) (or orthogonal W, 000 §III), `depth` hidden layers of `width` h and
    bias scale β = `bias_scale` (β = 0: no biases, as in thesis ch. 3; 000 eqs. 6–8 have biases).
    σ is the activation times its unit-variance prefactor (thesis ch. 3 eq. 10).

    **Arguments:**

    - `key`: PRNG key for the initial weights.
    - `in_dim`: input dimension d.
    - `width`, `depth`: hidden width h ≥ 1 and number of hidden layers L ≥ 1.
    - `activation`: ``"relu"``, ``"tanh"``, ``"softplus"`` or ``"linear"``.
    - `n_outputs`: 1 gives a scalar output (binary tasks), K > 1 a vector of K logits.
    - `softplus_beta`: sharpness β of the softplus (5 in thesis ch. 3).
    - `bias_scale`: β ≥ 0 multiplying the standard-normal biases.
    - `init`: ``"gaussian"`` (standard normal) or ``"orthogonal"``.
    - `normalize_activation`: multiply ρ by (E ρ(z)²)^(−1/2).
    - `dtype`: parameter dtype (default: JAX's default float).
    """

    weights: tuple[Float[Array, " out in"], ...]
    biases: tuple[Float[Array, " out"], ...] | None
    input_shape: tuple[int, ...] = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    softplus_beta: float = eqx.field(static=True)
    bias_scale: float = eqx.field(static=True)
    normalize_activation: bool = eqx.field(static=True)

    @typechecked
    def __init__(
        self,
        key: PRNGKeyArray,
        in_dim: int,
        width: int,
        depth: int,
        activation: ActivationName = "relu",
        *,
        n_outputs: int = 1,
        softplus_beta: float = 5.0,
        bias_scale: float = 0.0,
        init: Literal["gaussian", "orthogonal"] = "gaussian",
        normalize_activation: bool = True,
        dtype=None,
    ):
        check_int_at_least("in_dim", in_dim, 1)
        check_int_at_least("width", width, 1)
        check_int_at_least("depth", depth, 1)
        check_int_at_least("n_outputs", n_outputs, 1)
        check_positive("softplus_beta", softplus_beta)
        check_positive("bias_scale", bias_scale, allow_zero=True)
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        sizes = [in_dim] + [width] * depth + [n_outputs]
        wkeys = jax.random.split(key, 2 * len(sizes))
        shapes = [(fan_out, fan_in) for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)]
        if init == "orthogonal":
            # entries of unit variance: in the NTK parametrization a square W/√n is exactly orthogonal
            self.weights = tuple(
                _orthogonal(k, s, dtype, math.sqrt(max(s))) for k, s in zip(wkeys, shapes, strict=False)
            )
        else:
            self.weights = tuple(jax.random.normal(k, s, dtype) for k, s in zip(wkeys, shapes, strict=False))
        self.biases = (
            tuple(
                jax.random.normal(k, (s[0],), dtype)
                for k, s in zip(wkeys[len(sizes) :], shapes, strict=False)
            )
            if bias_scale > 0
            else None
        )
        self.input_shape = (in_dim,)
        self.n_outputs = n_outputs
        self.activation = activation
        self.softplus_beta = float(softplus_beta)
        self.bias_scale = float(bias_scale)
        self.normalize_activation = normalize_activation

    @property
    def width(self) -> int:
        return self.weights[0].shape[-2]

    @property
    def depth(self) -> int:
        return len(self.weights) - 1

    def preactivations(self, x: Float[Array, " d"]) -> list[Float[Array, " h"]]:
        """The hidden preactivations z̃¹ … z̃^L (000 App. C counts their zeros, N_c)."""
        sigma = activation_function(self.activation, self.softplus_beta, self.normalize_activation)
        pre = []
        z = x
        for i, w in enumerate(self.weights[:-1]):
            a = w @ z / math.sqrt(w.shape[-1])
            if self.biases is not None:
                a = a + self.bias_scale * self.biases[i]
            pre.append(a)
            z = sigma(a)
        return pre

    def activations(self, x: Float[Array, " d"]) -> list[Float[Array, " h"]]:
        """The hidden activations σ(z̃¹) … σ(z̃^L), first layer first (thesis ch. 4 Fig. 14)."""
        sigma = activation_function(self.activation, self.softplus_beta, self.normalize_activation)
        return [sigma(z) for z in self.preactivations(x)]

    def __call__(self, x: Float[Array, " d"]) -> Float[Array, "*out"]:
        sigma = activation_function(self.activation, self.softplus_beta, self.normalize_activation)
        last = self.preactivations(x)[-1]
        w = self.weights[-1]
        f = w @ sigma(last) / math.sqrt(w.shape[-1])
        if self.biases is not None:
            f = f + self.bias_scale * self.biases[-1]
        return f[0] if self.n_outputs == 1 else f


@final
class MLP(AbstractNet):
    """Fully connected network in the standard parametrization (Keras ``Dense`` layers, 003 §2):

        z¹ = W⁰ x + b⁰,   z^{ℓ+1} = W^ℓ ρ(z^ℓ) + b^ℓ,   f = W^L ρ(z^L) + b^L

    with the raw activation ρ (no unit-variance prefactor, no 1/√fan-in factors), zero biases and
    ``"xavier_uniform"`` weights W ~ U(±√(6/(fan_in + fan_out))) (Glorot & Bengio 2010, the Keras
    default of 003), ``"lecun_normal"`` W ~ N(0, 1/fan_in) (the same function at initialization as
    an [`FCNet`][jamscope.nets.FCNet], but SGD moves each layer at its own rate) or ``"orthogonal"``
    W = Q with orthonormal rows or columns, gain 1 (QR of a Gaussian matrix with the sign correction:
    000 §III's hinge runs as in the authors' code, where every layer is a ``torch.nn.Linear`` with
    zero biases and 000 eqs. 6–8 hold up to the sign of the biases). It has
    P = (d + 1)h + (L − 1)(h + 1)h + (h + 1)K parameters, biases included
    ([`mlp_n_params`][jamscope.nets.mlp_n_params]).

    **Arguments:**

    - `key`: PRNG key for the initial weights.
    - `in_dim`: input dimension d.
    - `width`, `depth`: hidden width h ≥ 1 and number of hidden layers L ≥ 1.
    - `activation`: ``"tanh"`` (003), ``"relu"``, ``"softplus"`` or ``"linear"``.
    - `n_outputs`: 1 gives a scalar output, K > 1 a vector of K logits.
    - `init`: ``"xavier_uniform"``, ``"lecun_normal"`` or ``"orthogonal"``.
    - `dtype`: parameter dtype (default: JAX's default float).
    """

    weights: tuple[Float[Array, " out in"], ...]
    biases: tuple[Float[Array, " out"], ...]
    input_shape: tuple[int, ...] = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    @typechecked
    def __init__(
        self,
        key: PRNGKeyArray,
        in_dim: int,
        width: int,
        depth: int,
        activation: ActivationName = "tanh",
        *,
        n_outputs: int = 1,
        init: Literal["xavier_uniform", "lecun_normal", "orthogonal"] = "xavier_uniform",
        dtype=None,
    ):
        check_int_at_least("in_dim", in_dim, 1)
        check_int_at_least("width", width, 1)
        check_int_at_least("depth", depth, 1)
        check_int_at_least("n_outputs", n_outputs, 1)
        _raw_activation(activation, 1.0)
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        sizes = [in_dim] + [width] * depth + [n_outputs]
        keys = jax.random.split(key, len(sizes) - 1)
        weights = []
        for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:], strict=True):
            if init == "xavier_uniform":
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                weights.append(jax.random.uniform(k, (fan_out, fan_in), dtype, -limit, limit))
            elif init == "orthogonal":
                weights.append(_orthogonal(k, (fan_out, fan_in), dtype))
            else:
                weights.append(jax.random.normal(k, (fan_out, fan_in), dtype) / math.sqrt(fan_in))
        self.weights = tuple(weights)
        self.biases = tuple(jnp.zeros((n,), dtype) for n in sizes[1:])
        self.input_shape = (in_dim,)
        self.n_outputs = n_outputs
        self.activation = activation

    def preactivations(self, x: Float[Array, " d"]) -> list[Float[Array, " h"]]:
        """The hidden preactivations z¹ … z^L."""
        rho = _raw_activation(self.activation, 1.0)
        pre = []
        z = x
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            pre.append(w @ z + b)
            z = rho(pre[-1])
        return pre

    def activations(self, x: Float[Array, " d"]) -> list[Float[Array, " h"]]:
        """The hidden activations ρ(z¹) … ρ(z^L), first layer first."""
        rho = _raw_activation(self.activation, 1.0)
        return [rho(z) for z in self.preactivations(x)]

    def __call__(self, x: Float[Array, " d"]) -> Float[Array, "*out"]:
        f = self.weights[-1] @ self.activations(x)[-1] + self.biases[-1]
        return f[0] if self.n_outputs == 1 else f


@typechecked
def mlp_n_params(in_dim: int, width: int, depth: int, n_outputs: int) -> int:
    """P(d, h, L, K) = (d + 1)h + (L − 1)(h + 1)h + (h + 1)K: weights and biases of a fully connected
    net with L hidden layers of width h (003 App. A: 74/69/72 for d = 2, K = 4, h = 10/5/4, L = 1/2/3;
    3985/4015/4045 for MNIST with h = 5)."""
    for name, value in (("in_dim", in_dim), ("width", width), ("depth", depth), ("n_outputs", n_outputs)):
        check_int_at_least(name, value, 1)
    return (in_dim + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * n_outputs


@typechecked
def width_for_params(in_dim: int, depth: int, n_outputs: int, n_params: int) -> int:
    """The width h whose [`mlp_n_params`][jamscope.nets.mlp_n_params] is closest to `n_params` (the
    smaller h on a tie): 003 keeps P fixed across depths this way (P ≈ 72 → h = 10, 5, 4 for L = 1, 2, 3)."""
    check_int_at_least("n_params", n_params, 1)
    width = 1
    while mlp_n_params(in_dim, width + 1, depth, n_outputs) <= n_params:
        width += 1
    above = mlp_n_params(in_dim, width + 1, depth, n_outputs) - n_params
    below = n_params - mlp_n_params(in_dim, width, depth, n_outputs)
    return width + 1 if 0 <= above < abs(below) else width


def _conv(w: Array, x: Array, stride: int) -> Array:
    """NTK-parametrized 'SAME' convolution of one image (C, H, W): W * x / √(C k²)."""
    fan_in = w.shape[1] * w.shape[2] * w.shape[3]
    y = jax.lax.conv_general_dilated(x[None], w, window_strides=(stride, stride), padding="SAME")[0]
    return y / math.sqrt(fan_in)


@final
class SmallCNN(AbstractNet):
    """Two 3×3 convolutions (the second with stride 2) and a fully connected head, NTK parametrization.

        z¹ = σ(W¹ * x / √(C·9)),   z² = σ(W² * z¹ / √(c·9)),   f = W³ · vec(z²) / √(c H' W')

    with standard-normal weights, no biases, σ normalized to unit variance as in
    [`FCNet`][jamscope.nets.FCNet]. The image-input counterpart of FCNet for the diffeomorphism
    stability experiments (thesis ch. 4) and the image data sets.

    **Arguments:**

    - `key`: PRNG key. `input_shape`: ``(C, H, W)``. `channels`: c, channels of both conv layers.
    - `activation`, `n_outputs`, `softplus_beta`, `dtype`: as for FCNet.
    """

    conv1: Float[Array, " c C 3 3"]
    conv2: Float[Array, " c c 3 3"]
    head: Float[Array, " out features"]
    input_shape: tuple[int, ...] = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    softplus_beta: float = eqx.field(static=True)

    @typechecked
    def __init__(
        self,
        key: PRNGKeyArray,
        input_shape: tuple[int, int, int],
        channels: int = 16,
        activation: ActivationName = "relu",
        *,
        n_outputs: int = 1,
        softplus_beta: float = 5.0,
        dtype=None,
    ):
        check_int_at_least("channels", channels, 1)
        check_int_at_least("n_outputs", n_outputs, 1)
        check_positive("softplus_beta", softplus_beta)
        for name, n in zip(("C", "H", "W"), input_shape, strict=False):
            check_int_at_least(f"input_shape[{name}]", n, 1)
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        c_in, h, w = input_shape
        k1, k2, k3 = jax.random.split(key, 3)
        features = channels * ((h + 1) // 2) * ((w + 1) // 2)
        self.conv1 = jax.random.normal(k1, (channels, c_in, 3, 3), dtype)
        self.conv2 = jax.random.normal(k2, (channels, channels, 3, 3), dtype)
        self.head = jax.random.normal(k3, (n_outputs, features), dtype)
        self.input_shape = tuple(input_shape)
        self.n_outputs = n_outputs
        self.activation = activation
        self.softplus_beta = float(softplus_beta)

    def activations(self, x: Float[Array, " C H W"]) -> list[Float[Array, " c h w"]]:
        """The activations of the two convolutions, first layer first (thesis ch. 4 Fig. 14)."""
        sigma = activation_function(self.activation, self.softplus_beta)
        z = sigma(_conv(self.conv1, x, 1))
        return [z, sigma(_conv(self.conv2, z, 2))]

    def features(self, x: Float[Array, " C H W"]) -> Float[Array, " features"]:
        """The flattened activations of the second convolution."""
        return self.activations(x)[-1].reshape(-1)

    def __call__(self, x: Float[Array, " C H W"]) -> Float[Array, "*out"]:
        f = self.head @ self.features(x) / math.sqrt(self.head.shape[-1])
        return f[0] if self.n_outputs == 1 else f


class Frozen(eqx.Module):
    """Wraps a pytree whose arrays are never trained (excluded by [`partition`][jamscope.nets.partition])."""

    value: PyTree


@final
class Centered(AbstractNet):
    """The α-trick predictor F(w, x) = α (f(w, x) − f(w₀, x)) with w₀ frozen (thesis ch. 3 §2, eq. 7).

    `Centered(model, output_scale)` takes w₀ to be the weights of `model` at construction; F is
    exactly 0 there. Train it with the α-rescaled loss (1/(α² P)) Σ ℓ(F(w, x_μ), y_μ), which
    [`jamscope.losses.objective`][jamscope.losses.objective] applies through `output_scale`.
    Lazy training for α√h ≫ 1, feature learning for α√h ≪ 1.

    α is stored as a frozen 0-d array of the parameters' dtype, not as a static field: models that
    differ only in α share one compiled training loop (a sweep over α compiles once per width).
    """

    model: AbstractNet
    initial: Frozen
    scale: Frozen

    @typechecked
    def __init__(self, model: AbstractNet, output_scale: float):
        check_positive("output_scale", output_scale)
        self.model = model
        self.initial = Frozen(model)
        dtype = jax.tree.leaves(partition(model)[0])[0].dtype
        self.scale = Frozen(jnp.asarray(output_scale, dtype))

    @property
    def alpha(self) -> Float[Array, "*K"]:
        """α (a 0-d array; shape ``(K,)`` on an ensemble built by [`ensemble`][jamscope.nets.ensemble])."""
        return self.scale.value

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.model.input_shape

    @property
    def n_outputs(self) -> int:
        return self.model.n_outputs

    @property
    def output_scale(self) -> Float[Array, "*K"]:
        return self.alpha

    def __call__(self, x: Float[Array, "*input"]) -> Float[Array, "*out"]:
        initial = jax.lax.stop_gradient(self.initial.value(x))
        return self.alpha * (self.model(x) - initial)


@final
class Linearized(AbstractNet):
    """The model linearized in its weights at w₀ (thesis ch. 3 §2; 004 App. C eq. 15):

        F_lin(w, x) = F(w₀, x) + ∇_w F(w₀, x) · (w − w₀)

    Trainable leaves: `params` (w, starting at w₀); the model at w₀ is [`Frozen`][jamscope.nets.Frozen].
    Its NTK is the initial Θ_0 at every w, so training it with the network's loss and dynamics is
    training the frozen kernel: the lazy limit α√h → ∞. The output scale (α of a `Centered` model)
    is the wrapped model's, so the α-rescaled loss is unchanged. Build it with
    [`linearize`][jamscope.nets.linearize].
    """

    params: PyTree
    initial: Frozen

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.initial.value.input_shape

    @property
    def n_outputs(self) -> int:
        return self.initial.value.n_outputs

    @property
    def output_scale(self) -> float | Float[Array, "*K"]:
        return self.initial.value.output_scale

    def __call__(self, x: Float[Array, "*input"]) -> Float[Array, "*out"]:
        params0, static = partition(self.initial.value)
        params0 = jax.lax.stop_gradient(params0)
        delta = jax.tree.map(lambda w, w0: w - w0, self.params, params0)
        value, tangent = jax.jvp(lambda p: eqx.combine(p, static)(x), (params0,), (delta,))
        return value + tangent


@typechecked
def linearize(model: AbstractNet) -> Linearized:
    """[`Linearized`][jamscope.nets.Linearized] at the current weights of `model` (w = w₀: equal to
    `model` there)."""
    return Linearized(partition(model)[0], Frozen(model))


@typechecked
def unwrap(model: AbstractNet) -> tuple[AbstractNet, float | Float[Array, "*K"]]:
    """The bare network inside [`Centered`][jamscope.nets.Centered] wrappers and the factor α that
    multiplies its output, F = α (f − f₀) (thesis ch. 3 §2, eq. 7; 1 for a bare network): ∇F = α ∇f
    and ∇∇F = α ∇∇f, so the structured Hessian and NTK routes work on the bare network and scale
    by α."""
    if isinstance(model, Centered):
        inner, factor = unwrap(model.model)
        return inner, factor * model.alpha
    return model, 1.0


def _trainable_spec(model: PyTree) -> PyTree:
    return jax.tree.map(
        lambda node: False if isinstance(node, Frozen) else eqx.is_inexact_array(node),
        model,
        is_leaf=lambda node: isinstance(node, Frozen),
    )


def partition(model: PyTree) -> tuple[PyTree, PyTree]:
    """Split a model into (trainable parameters, everything else) for ``eqx.combine``.

    Trainable: every inexact array not inside a [`Frozen`][jamscope.nets.Frozen].
    """
    return eqx.partition(model, _trainable_spec(model))


def n_params(model: AbstractNet) -> int:
    """Number N of trainable parameters of one model (all weights and biases, w₀ excluded)."""
    params, _ = partition(model)
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(params))


def flat_params(model: AbstractNet | eqx.Module) -> Float[Array, " N"]:
    """The trainable parameters of one model (a network, or any Equinox module such as a
    [`pomdp`][jamscope.pomdp] memory) as one vector θ (ravel order of the pytree)."""
    params, _ = partition(model)
    return ravel_pytree(params)[0]


@typechecked
def with_flat_params(model: AbstractNet, theta: Float[Array, " N"]) -> AbstractNet:
    """`model` with its trainable parameters replaced by the vector θ (the inverse of
    [`flat_params`][jamscope.nets.flat_params]): rebuilds a network from a stored snapshot."""
    check_finite("theta", theta)
    params, static = partition(model)
    flat, unravel = ravel_pytree(params)
    if theta.shape != flat.shape:
        raise ValueError(f"`theta` must have shape {flat.shape} (the model's parameters), got {theta.shape}")
    return eqx.combine(unravel(theta.astype(flat.dtype)), static)


@typechecked
def outputs(model: AbstractNet, x: Float[Array, " P *input"]) -> Float[Array, " P *out"]:
    """f(x_μ) for every pattern: ``(P,)`` for a scalar network, ``(P, K)`` with K outputs.

    Checks that the per-pattern shape of `x` matches the model's `input_shape` before running.
    """
    check_inputs("x", x, model.input_shape)
    return jax.vmap(model)(x)


@typechecked
def ensemble(make: Callable[[PRNGKeyArray], AbstractNet], keys: PRNGKeys) -> AbstractNet:
    """K models built from K keys, stacked along a leading axis of every array.

    ``js.nets.ensemble(lambda k: js.FCNet(k, 10, 20, 3), jax.random.split(key, 8))`` gives one
    module whose arrays have a leading axis of 8; evaluate it with
    [`ensemble_outputs`][jamscope.nets.ensemble_outputs] or any observable under
    ``eqx.filter_vmap``.
    """
    return eqx.filter_vmap(make)(keys)


@typechecked
def ensemble_size(models: PyTree) -> int:
    """K, the length of the leading axis shared by every array of an ensemble."""
    sizes = {
        np.shape(a)[0] if np.ndim(a) else None for a in jax.tree.leaves(eqx.filter(models, eqx.is_array))
    }
    if len(sizes) != 1 or None in sizes:
        raise ValueError(
            "`models` must be an ensemble: every array with the same leading axis K, "
            f"got leading sizes {sizes}"
        )
    return sizes.pop()


@typechecked
def ensemble_outputs(models: AbstractNet, x: Float[Array, " P *input"]) -> Float[Array, " K P *out"]:
    """Outputs of every member of an ensemble on the same inputs, shape ``(K, P, …)``."""
    check_inputs("x", x, models.input_shape)
    ensemble_size(models)
    return eqx.filter_vmap(lambda m: jax.vmap(m)(x))(models)


@typechecked
def flat_outputs(model: AbstractNet, x: Float[Array, " P *shape"]) -> Float[Array, " P K"]:
    """f(x_μ) as a ``(P, K)`` array (K = 1 for a scalar network), the inputs first reshaped to the
    model's input shape (an FCNet on images sees them flattened). Works inside ``jit``/``vmap``."""
    check_nonempty("x", x)
    if math.prod(x.shape[1:]) != math.prod(model.input_shape):
        raise ValueError(
            f"`x` must have {math.prod(model.input_shape)} features per pattern to match the model's input "
            f"shape {model.input_shape}, got shape {x.shape}"
        )
    check_finite("x", x)
    x = x.reshape((x.shape[0],) + model.input_shape)
    return jax.vmap(model)(x).reshape(x.shape[0], -1)


@eqx.filter_jit
def _layer(model: AbstractNet, index: int | None, x: Array) -> Array:
    """Layer `index` (None: the output) of `model` on a batch, flattened per pattern."""
    if index is None:
        return flat_outputs(model, x)
    x = x.reshape((x.shape[0],) + model.input_shape)
    return jax.vmap(lambda xi: model.activations(xi)[index].reshape(-1))(x)


@typechecked
def layer_maps(model: FCNet | SmallCNN) -> list[Callable[[Array], Array]]:
    """One function per hidden layer and one for the output, each mapping a batch ``(P, *input)`` to
    ``(P, features)``: the activations of layer ℓ, flattened, then f itself (the probes of the
    layer-wise stability of thesis ch. 4 Fig. 14). Inputs are reshaped to the model's input shape, so
    an FCNet can take images. Compiled once per shape; the model is an argument, not a constant."""
    n_hidden = model.depth if isinstance(model, FCNet) else 2
    return [partial(_layer, model, i) for i in range(n_hidden)] + [partial(_layer, model, None)]
