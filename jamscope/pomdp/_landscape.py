"""G_π as a function of the logits: the objective that policy learning ascends (thesis ch. 7 eq. 3) and
its Hessian, for the training engine and the curvature tools."""

from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ..losses import AbstractObjective
from ..nets import flat_params, partition
from ..typing import Array, Float, Scalar, typechecked
from ._chain import expected_gain
from ._memories import AbstractMemory
from ._problem import TwoHypothesis

__all__ = ["NegativeGain", "gain_hessian"]


@final
class NegativeGain(AbstractObjective):
    """−G_π of a memory's policy on `problem`, for [`train`][jamscope.train.train]: gradient flow on
    it is eq. 3, ẇ = ∇_w G_π(w), with w every logit of the memory (the policy's, and the reset
    distribution p0's for [`RAM`][jamscope.pomdp.RAM], which App. B allows to learn). The flow time
    t is that of eq. 3 for G = E_p[R]/r; the authors' code ascends E_p[R] = r G, whose time is t/r.

    The outputs whose change [`GradientFlow`][jamscope.train.GradientFlow] bounds per step (the
    role of thesis ch. 3 eq. 8) are the probabilities π(a|o) and p0: an accepted step moves none of
    them by more than `max_output_change`.
    """

    problem: TwoHypothesis

    def value_and_outputs(self, model: AbstractMemory) -> tuple[Scalar, Float[Array, " n"]]:
        probabilities = jnp.concatenate([model.policy().ravel(), model.reset_distribution().ravel()])
        return -expected_gain(self.problem, model), probabilities


@typechecked
def gain_hessian(problem: TwoHypothesis, memory: AbstractMemory) -> Float[Array, "N N"]:
    """∂²G_π/∂w∂w over the N logits of one memory (flattened in the order of
    [`nets.flat_params`][jamscope.nets.flat_params]), column by column as Hessian-vector products
    (forward over reverse autodiff through the steady-state solve), in float64. At a local maximum of
    G it is negative semi-definite; it has at least one zero mode per softmax (shifting one row of
    logits changes nothing) and a zero row for every observation the chain never visits.

    One compiled product per column, called N times: batching the products (``vmap`` or
    ``lax.map``) stalls XLA's CPU runtime at random in jax 0.10.2 on these programs."""
    n = flat_params(memory).size
    return jnp.stack([_column(problem, memory, jnp.asarray(i)) for i in range(n)], axis=1)


@eqx.filter_jit
def _column(problem, memory, i):
    params, static = partition(memory)
    theta, unravel = ravel_pytree(params)

    def gain(flat):
        return expected_gain(problem, eqx.combine(unravel(flat), static))

    basis = jnp.zeros_like(theta).at[i].set(1.0)
    return jax.jvp(jax.grad(gain), (theta,), (basis,))[1]
