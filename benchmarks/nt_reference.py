"""neural-tangents side of benchmarks/bench_ntk.py: time `nt.empirical_ntk_fn` on exported weights.

    .venv-nt/bin/python benchmarks/nt_reference.py problem.npz out.json [--repeat 3]
        [--implementations 1 2 3] [--kernel-out kernels.npz]

Runs inside the separate environment built by benchmarks/neural_tangents_env.sh (jax 0.4.23,
neural-tangents 0.6.5): it imports only JAX, NumPy and neural_tangents, never jamscope. The models
are rebuilt here as plain functions `apply(params, x)` of a batch, one pattern at a time under
`jax.vmap` (NTK parametrization, no biases, σ = a·relu with a = `activation_prefactor` of the npz,
√2 for jamscope's unit-variance ReLU):

- ``fcnet``: params = (W_0, …, W_L), W_i of shape (fan_out, fan_in);
  z = W_0 x/√d, then z = W σ(z)/√fan_in for each hidden W, f = (W_L σ(z)/√h)[0].
- ``smallcnn``: params = (conv1 (c, C, 3, 3), conv2 (c, c, 3, 3), head (1, features)), input (C, H, W);
  z1 = σ(conv(x, conv1, stride 1)/√(C·9)), z2 = σ(conv(z1, conv2, stride 2)/√(c·9)),
  f = (head · vec(z2)/√features)[0], 'SAME' padding, NCHW/OIHW.

The npz holds ``model`` ("fcnet" or "smallcnn"), the weights (``w_0`` … ``w_L`` or ``conv1``,
``conv2``, ``head``), the inputs ``x`` (P, …), ``activation_prefactor`` and optionally a
``reference`` kernel (P, P). For every implementation (1 JACOBIAN_CONTRACTION, 2
NTK_VECTOR_PRODUCTS, 3 STRUCTURED_DERIVATIVES) the jitted ``empirical_ntk_fn(apply, trace_axes=(),
vmap_axes=0, implementation=I)`` is called once (compile + warm-up, timed as ``first_call_s``),
then `--repeat` times (fewer once they add up to `--budget` seconds): ``time_s`` is the best of
those. Float64 throughout. The JSON holds the times, the max abs / relative difference to
``reference`` (relative: max|K − R| / max|R|), and errors (an implementation that raises is
recorded, not fatal).
"""

import argparse
import json
import math
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # `import neural_tangents` imports tensorflow

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import neural_tangents as nt  # noqa: E402
import numpy as np  # noqa: E402
from timing import timed  # noqa: E402  (this folder; nothing but JAX)

IMPLEMENTATIONS = {
    1: "JACOBIAN_CONTRACTION",
    2: "NTK_VECTOR_PRODUCTS",
    3: "STRUCTURED_DERIVATIVES",
}


def fcnet_single(prefactor):
    def sigma(z):
        return prefactor * jax.nn.relu(z)

    def f(params, x):
        first, *hidden, last = params
        z = first @ x / math.sqrt(first.shape[1])
        for w in hidden:
            z = w @ sigma(z) / math.sqrt(w.shape[1])
        return (last @ sigma(z) / math.sqrt(last.shape[1]))[0]

    return f


def conv(x, w, stride):
    y = jax.lax.conv_general_dilated(x[None], w, window_strides=(stride, stride), padding="SAME")[0]
    return y / math.sqrt(w.shape[1] * w.shape[2] * w.shape[3])


def smallcnn_single(prefactor):
    def sigma(z):
        return prefactor * jax.nn.relu(z)

    def f(params, x):
        conv1, conv2, head = params
        z1 = sigma(conv(x, conv1, 1))
        z2 = sigma(conv(z1, conv2, 2))
        return (head @ z2.reshape(-1) / math.sqrt(head.shape[1]))[0]

    return f


def load_problem(path):
    data = np.load(path)
    kind = str(data["model"])
    prefactor = float(data["activation_prefactor"]) if "activation_prefactor" in data else math.sqrt(2.0)
    if kind == "fcnet":
        n = sum(1 for k in data.files if k.startswith("w_"))
        params = tuple(jnp.asarray(data[f"w_{i}"]) for i in range(n))
        single = fcnet_single(prefactor)
    elif kind == "smallcnn":
        params = tuple(jnp.asarray(data[k]) for k in ("conv1", "conv2", "head"))
        single = smallcnn_single(prefactor)
    else:
        raise ValueError(f"unknown model {kind!r}")
    x = jnp.asarray(data["x"])
    reference = np.asarray(data["reference"]) if "reference" in data else None
    return kind, single, params, x, reference


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", help="npz written by bench_ntk.py")
    parser.add_argument("out", help="JSON file to write")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=float("inf"), help="stop repeating after this (s)")
    parser.add_argument("--implementations", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    parser.add_argument("--kernel-out", help="also save the kernels (npz, one array per implementation)")
    args = parser.parse_args(argv)

    kind, single, params, x, reference = load_problem(args.problem)

    def apply(p, xb):
        return jax.vmap(single, in_axes=(None, 0))(p, xb)

    n_params = int(sum(np.prod(p.shape) for p in params))
    result = {
        "model": kind,
        "P": int(x.shape[0]),
        "n_params": n_params,
        "dtype": str(x.dtype),
        "devices": [str(d) for d in jax.devices()],
        "versions": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "jaxlib": jax.lib.__version__,
            "numpy": np.__version__,
            "neural_tangents": nt.__version__,
        },
        "implementations": {},
    }
    kernels = {}
    for impl in args.implementations:
        name = IMPLEMENTATIONS[impl]
        entry = {"implementation": impl}
        try:
            kernel_fn = jax.jit(nt.empirical_ntk_fn(apply, trace_axes=(), vmap_axes=0, implementation=impl))
            call = lambda kernel_fn=kernel_fn: kernel_fn(x, None, params)  # noqa: E731
            first, best, n_timed, kernel = timed(call, args.repeat, args.budget)
            kernel = np.asarray(kernel).reshape(x.shape[0], x.shape[0])
            entry.update(first_call_s=first, time_s=best, repeat=n_timed)
            if reference is not None:
                diff = float(np.max(np.abs(kernel - reference)))
                entry.update(max_abs_diff=diff, max_rel_diff=diff / float(np.max(np.abs(reference))))
            kernels[name] = kernel
            del kernel_fn
        except Exception as error:  # noqa: BLE001 (recorded in the JSON, reported by the caller)
            entry["error"] = f"{type(error).__name__}: {error}"[:2000]
        result["implementations"][name] = entry
        print(f"[nt] {kind} P={x.shape[0]} {name}: {entry}", file=sys.stderr, flush=True)

    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=2)
    if args.kernel_out:
        np.savez(args.kernel_out, **kernels)


if __name__ == "__main__":
    main()
