"""The main job (`jamscope demo`, `make demo`): a seed ensemble of ReLU nets across the jamming transition.

At fixed P random points on the sphere with random labels (000 §III), networks of several widths
are trained with full-batch Adam on the quadratic hinge (ε = ½) until N_Δ = 0 or the step budget
ends. Small widths (P/N large) cannot fit: N_Δ/N stays finite; large widths fit everything: N_Δ = 0.
The jump of N_Δ/N near P/N* ≈ 2.8 (000 Fig. 6, at N ≈ 8000) is visible already at these sizes,
shifted by finite-size effects.
"""

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from .data import random_sphere
from .losses import QuadraticHinge
from .nets import FCNet, ensemble, ensemble_outputs, n_params
from .train import adam
from .typing import PRNGKeyArray, typechecked

__all__ = ["jamming_demo"]


@typechecked
def jamming_demo(
    key: PRNGKeyArray,
    *,
    n_train: int = 400,
    dim: int = 10,
    depth: int = 2,
    widths: tuple[int, ...] = (4, 5, 6, 7, 8, 10, 12, 16),
    seeds: int = 4,
    steps: int = 40_000,
    lr: float = 1e-2,
    decay_every: int = 20_000,
    bias_scale: float = 0.1,
    margin: float = 0.5,
    progress: bool = True,
) -> xr.Dataset:
    """Train `seeds` ReLU FCNets (orthogonal init, biases as in 000 eqs. 6–8) per width on one data set.

    Returns an xarray Dataset over (width, seed) with the final loss, N_Δ (unsatisfied patterns),
    the number of misclassified patterns and the steps used; coordinates N (parameters) and
    P/N. Each width's ensemble trains vmapped in one call.
    """
    data_key, init_key = jax.random.split(key)
    data = random_sphere(data_key, n_train, dim)
    loss = QuadraticHinge(margin=margin)
    records = {name: np.zeros((len(widths), seeds)) for name in ("loss", "n_delta", "misclassified", "steps")}
    counts = []
    for i, width in enumerate(tqdm(widths, desc="widths", disable=not progress)):
        keys = jax.random.split(jax.random.fold_in(init_key, width), seeds)
        models = ensemble(
            lambda k, w=width: FCNet(k, dim, w, depth, "relu", bias_scale=bias_scale, init="orthogonal"), keys
        )
        models, history = adam(
            models, loss, data, steps=steps, lr=lr, decay_every=decay_every, ensemble=True, progress=False
        )
        f = ensemble_outputs(models, data.x)
        records["loss"][i] = np.asarray(history.loss[:, -1])
        records["n_delta"][i] = np.asarray(history.n_unsatisfied[:, -1])
        records["misclassified"][i] = np.asarray(jnp.sum(data.y[None, :] * f < 0, axis=-1))
        records["steps"][i] = np.asarray(history.step[:, -1])
        counts.append(n_params(FCNet(keys[0], dim, width, depth, bias_scale=bias_scale)))
    n = np.asarray(counts)
    coords = {"width": list(widths), "seed": np.arange(seeds)}
    ds = xr.Dataset(
        {name: (("width", "seed"), value) for name, value in records.items()},
        coords={**coords, "n_params": ("width", n), "p_over_n": ("width", n_train / n)},
        attrs={
            "experiment": "jamming demo (000 §III, Fig. 6)",
            "n_train": n_train, "dim": dim, "depth": depth, "margin": margin,
            "max_steps": steps, "lr": lr, "decay_every": decay_every, "bias_scale": bias_scale,
            "activation": "relu", "init": "orthogonal", "optimizer": "full-batch Adam",
        },
    )  # fmt: skip
    ds["n_delta"].attrs["long_name"] = "N_Δ, unsatisfied patterns (Δ > 0)"
    return ds
