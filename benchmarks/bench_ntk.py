"""Benchmark: the empirical NTK of jamscope vs a naive ravel-and-vmap Jacobian vs neural-tangents.

    .venv/bin/python benchmarks/bench_ntk.py            # four models (≈ 5 min on 2 CPU cores)
    .venv/bin/python benchmarks/bench_ntk.py --quick    # two tiny models (smoke test)
    .venv/bin/python benchmarks/bench_ntk.py --no-nt    # without the neural-tangents columns

Models (scalar output, ReLU, NTK parametrization, float64): FCNet on the 8×8 digits (d = 64) with
h = 256 (P = 300) and h = 1024 (P = 100, N ≈ 2.2·10⁶), L = 3; SmallCNN on the 8×8 digits as 1×8×8
images (c = 16, P = 200) and on random 3×16×16 images (c = 32, P = 64). The sizes keep the default
run near 5 minutes on 2 cores: the Jacobian and NTVP routes of neural-tangents take ~30 s per call
for that CNN at P = 100 already. For each, the full P × P kernel Θ(x, x) is computed by

- jamscope: ``js.ntk.ntk(model, x, method=m)`` for m = "auto" (the column "jamscope" of the ratios),
  "structured", "jacobian" and "ntvp", called exactly as a user would (default chunking and memory budget);
- naive: ``J = vmap(grad(f))(θ)`` with all parameters raveled into one vector θ, then ``J Jᵀ``, jitted;
- neural-tangents 0.6.5: ``empirical_ntk_fn(apply, trace_axes=(), vmap_axes=0, implementation=I)``
  for I = 1 (JACOBIAN_CONTRACTION), 2 (NTK_VECTOR_PRODUCTS), 3 (STRUCTURED_DERIVATIVES), jitted, in
  a child process of the separate environment `.venv-nt` (jax 0.4.23: neural-tangents does not import
  with a recent JAX); build it once with ``bash benchmarks/neural_tangents_env.sh``. The weights
  and inputs travel through an npz; benchmarks/nt_reference.py rebuilds the models as plain JAX.

Every tool is timed the same way: one call to compile and warm up (excluded), then the best of
`--repeat` (3) calls, each ending in ``block_until_ready``; no further call once the timed calls
add up to `--budget` (10 s), so a slow tool is timed once or twice. When "auto" resolves to
"structured" (or another method) that method is not timed again. Printed: the machine and versions, the
times, naive/jamscope and best-neural-tangents/jamscope, and the largest difference between
jamscope's kernel and the others, relative to max|Θ| (asserted < 1e-8). The two JAX versions
differ (XLA CPU included), which is part of what is compared.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

import jamscope as js  # noqa: E402
from jamscope import nets  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import cpu_name, timed  # noqa: E402  (benchmarks/timing.py)

ROOT = Path(__file__).resolve().parent.parent
NT_PYTHON = ROOT / ".venv-nt" / "bin" / "python"
NT_SCRIPT = Path(__file__).resolve().parent / "nt_reference.py"
NT_NAMES = {
    "JACOBIAN_CONTRACTION": "nt jacobian",
    "NTK_VECTOR_PRODUCTS": "nt ntvp",
    "STRUCTURED_DERIVATIVES": "nt structured",
}
JS_METHODS = ("auto", "structured", "jacobian", "ntvp")
TOLERANCE = 1e-8

CASES = [
    {"kind": "fcnet", "width": 256, "depth": 3, "P": 300},
    {"kind": "fcnet", "width": 1024, "depth": 3, "P": 100},
    {"kind": "smallcnn", "shape": (1, 8, 8), "channels": 16, "P": 200},
    {"kind": "smallcnn", "shape": (3, 16, 16), "channels": 32, "P": 64},
]
QUICK_CASES = [
    {"kind": "fcnet", "width": 32, "depth": 2, "P": 40},
    {"kind": "smallcnn", "shape": (1, 8, 8), "channels": 4, "P": 30},
]


# ----------------------------------------------------------------------------------------------
# Problems


def build(case: dict):
    """(name, model, x) for one case: the digits for d = 64 / 1×8×8, random images otherwise."""
    key = jax.random.PRNGKey(0)
    p = case["P"]
    if case["kind"] == "fcnet":
        x = js.data.digits(key, n_train=p).x
        model = js.FCNet(jax.random.fold_in(key, 1), x.shape[1], case["width"], case["depth"], "relu")
        name = f"FCNet d={x.shape[1]} h={case['width']} L={case['depth']}"
    else:
        shape = tuple(case["shape"])
        if shape == (1, 8, 8):
            x = js.data.digits(key, n_train=p).x.reshape((p,) + shape)
        else:
            x = js.data.normalize_on_sphere(jax.random.normal(jax.random.fold_in(key, 2), (p,) + shape))
        model = js.SmallCNN(jax.random.fold_in(key, 1), shape, channels=case["channels"], activation="relu")
        name = f"SmallCNN {'x'.join(map(str, shape))} c={case['channels']}"
    return name, model, x


def export(model, x, reference, path: Path) -> None:
    """The npz read by nt_reference.py: weights as plain arrays, inputs, σ's prefactor, Θ."""
    if isinstance(model, js.FCNet):
        assert model.biases is None and model.activation == "relu" and model.normalize_activation
        arrays = {f"w_{i}": np.asarray(w) for i, w in enumerate(model.weights)}
        kind = "fcnet"
    else:
        assert model.activation == "relu"
        arrays = {name: np.asarray(getattr(model, name)) for name in ("conv1", "conv2", "head")}
        kind = "smallcnn"
    np.savez(
        path,
        model=np.array(kind),
        x=np.asarray(x),
        reference=np.asarray(reference),
        activation_prefactor=np.array(nets.unit_variance_prefactor("relu")),
        **arrays,
    )


# ----------------------------------------------------------------------------------------------
# Timing


def best_time(fn, repeat: int, budget_s: float):
    """(best of `repeat` calls after one warm-up call, the last result): [`timing.timed`]."""
    _, best, _, out = timed(fn, repeat, budget_s)
    return best, out


def naive_kernel_fn(model):
    """jit(θ, x ↦ J Jᵀ) with J = vmap(grad(f))(x) over the raveled parameter vector θ."""
    params, static = nets.partition(model)
    theta, unravel = ravel_pytree(params)

    @jax.jit
    def kernel(theta, x):
        def f(t, xi):
            return eqx.combine(unravel(t), static)(xi)

        jac = jax.vmap(jax.grad(f), in_axes=(None, 0))(theta, x)
        return jnp.matmul(jac, jac.T, precision=jax.lax.Precision.HIGHEST)

    return lambda x: kernel(theta, x)


def relative_difference(a, b) -> float:
    """max|A − B| / max|B|."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def run_nt(model, x, reference, repeat: int, budget_s: float) -> dict:
    """neural-tangents' three implementations in `.venv-nt` (the JSON of nt_reference.py)."""
    with tempfile.TemporaryDirectory() as tmp:
        problem, out = Path(tmp) / "problem.npz", Path(tmp) / "out.json"
        export(model, x, reference, problem)
        command = [str(NT_PYTHON), str(NT_SCRIPT), str(problem), str(out), "--repeat", str(repeat)]
        command += ["--budget", str(budget_s)]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        env.pop("XLA_FLAGS", None)  # the child sees the same single CPU device as this process
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
        if done.returncode != 0 or not out.exists():
            tail = "\n".join((done.stderr or "").strip().splitlines()[-15:])
            return {"error": f"nt_reference.py exited with {done.returncode}:\n{tail}"}
        return json.loads(out.read_text())


# ----------------------------------------------------------------------------------------------
# Benchmark


def run_case(case: dict, use_nt: bool, repeat: int, budget_s: float) -> dict:
    name, model, x = build(case)
    n = nets.n_params(model)
    print(f"\n{name}: P = {x.shape[0]}, N = {n:,} parameters", flush=True)
    row: dict = {"model": name, "P": int(x.shape[0]), "N": n, "times": {}, "rel_diff": {}, "errors": {}}

    # "auto" resolves to one of the explicit methods (same code path): that one is timed once.
    row["auto_method"] = auto = js.ntk.ntk_method(model)
    kernels = {}
    for method in JS_METHODS:
        if method == auto:
            row["times"][f"jamscope {method}"] = row["times"]["jamscope auto"]
            kernels[method] = kernels["auto"]
            print(f"  jamscope {method:<9s}   (= auto)", flush=True)
            continue
        fn = lambda method=method: js.ntk.ntk(model, x, method=method)  # noqa: E731
        t, kernels[method] = best_time(fn, repeat, budget_s)
        row["times"][f"jamscope {method}"] = t
        print(f"  jamscope {method:<9s} {t:9.3f} s", flush=True)
    reference = np.asarray(kernels["auto"])

    naive_fn = naive_kernel_fn(model)
    t, naive = best_time(lambda: naive_fn(x), repeat, budget_s)
    row["times"]["naive"] = t
    print(f"  naive              {t:9.3f} s", flush=True)
    row["rel_diff"]["naive"] = relative_difference(reference, naive)
    for method in JS_METHODS[1:]:
        row["rel_diff"][f"jamscope {method}"] = relative_difference(kernels[method], naive)
    del naive, kernels

    if use_nt:
        nt = run_nt(model, x, reference, repeat, budget_s)
        if "error" in nt:
            row["errors"]["nt"] = nt["error"]
            print(f"  neural-tangents failed: {nt['error']}", flush=True)
        else:
            row["nt_versions"] = nt["versions"]
            row["nt_devices"] = nt["devices"]
            for impl, entry in nt["implementations"].items():
                label = NT_NAMES[impl]
                if "error" in entry:
                    row["errors"][label] = entry["error"]
                    print(f"  {label:<18s} failed: {entry['error'][:200]}", flush=True)
                    continue
                row["times"][label] = entry["time_s"]
                row["rel_diff"][label] = entry["max_rel_diff"]
                print(f"  {label:<18s} {entry['time_s']:9.3f} s", flush=True)

    js_time = row["times"]["jamscope auto"]
    row["naive_over_jamscope"] = row["times"]["naive"] / js_time
    nt_times = [row["times"][label] for label in NT_NAMES.values() if label in row["times"]]
    row["nt_best_over_jamscope"] = min(nt_times) / js_time if nt_times else None
    return row


def check(rows: list[dict]) -> None:
    for row in rows:
        for label, diff in row["rel_diff"].items():
            assert diff < TOLERANCE, f"{row['model']}: jamscope vs {label}: relative difference {diff:.2e}"


def run(quick: bool = False, use_nt: bool = True, repeat: int = 3, budget_s: float = 10.0) -> list[dict]:
    """Benchmark every case (the small ones with `quick`); one dict per model, checked to 1e-8.

    `use_nt` runs neural-tangents when `.venv-nt` exists (otherwise a message says how to build it).
    Each tool: one warm-up call, then up to `repeat` timed calls (fewer once they add up to
    `budget_s` seconds); the best is kept.
    """
    if use_nt and not NT_PYTHON.exists():
        print(
            f"neural-tangents skipped: {NT_PYTHON.parent.parent.name} not found; build it with "
            "`bash benchmarks/neural_tangents_env.sh`",
            flush=True,
        )
        use_nt = False
    rows = [run_case(case, use_nt, repeat, budget_s) for case in (QUICK_CASES if quick else CASES)]
    check(rows)
    return rows


# ----------------------------------------------------------------------------------------------
# Report


def describe_machine() -> str:
    import equinox
    import jaxlib

    lines = [
        f"machine: {cpu_name()}, {os.cpu_count()} CPU cores, jax.devices() = {jax.devices()}",
        f"versions: python {platform.python_version()}, jax {jax.__version__}, jaxlib {jaxlib.__version__}, "
        f"equinox {equinox.__version__}, numpy {np.__version__}, jamscope {js.__version__}",
    ]
    return "\n".join(lines)


def _fmt_time(t) -> str:
    return "—" if t is None else f"{t:.3g}"


def _fmt_ratio(r) -> str:
    return "—" if r is None else f"{r:.3g}×"


def table(rows: list[dict]) -> str:
    labels = [f"jamscope {m}" for m in JS_METHODS] + ["naive"] + list(NT_NAMES.values())
    labels = [lab for lab in labels if any(lab in row["times"] for row in rows)]
    width = max(len(row["model"]) for row in rows)
    head = f"{'model':<{width}} {'P':>5} {'N':>9} " + " ".join(f"{lab:>16}" for lab in labels)
    lines = ["times (s, best of repeats, compile excluded)", head, "-" * len(head)]
    for row in rows:
        cells = " ".join(f"{_fmt_time(row['times'].get(lab)):>16}" for lab in labels)
        lines.append(f"{row['model']:<{width}} {row['P']:>5} {row['N']:>9,} {cells}")

    diff_labels = ["naive"] + list(NT_NAMES.values())
    diff_labels = [lab for lab in diff_labels if any(lab in row["rel_diff"] for row in rows)]
    head = f"{'model':<{width}} {'auto =':>9} {'naive/js':>9} {'nt_best/js':>10} " + " ".join(
        f"{'Δ ' + lab:>18}" for lab in diff_labels
    )
    lines += ["", "ratios (> 1: jamscope auto is faster) and max|Θ_js − Θ| / max|Θ|", head, "-" * len(head)]
    for row in rows:
        diffs = " ".join(
            f"{(format(row['rel_diff'][lab], '.1e') if lab in row['rel_diff'] else '—'):>18}"
            for lab in diff_labels
        )
        lines.append(
            f"{row['model']:<{width}} {row['auto_method']:>9} {_fmt_ratio(row['naive_over_jamscope']):>9} "
            f"{_fmt_ratio(row['nt_best_over_jamscope']):>10} {diffs}"
        )
    for row in rows:
        for label, error in row["errors"].items():
            lines.append(f"{row['model']}: {label} failed: {error.splitlines()[0][:300]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two tiny models (smoke test)")
    parser.add_argument("--no-nt", action="store_true", help="skip neural-tangents")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls after the warm-up (best kept)")
    parser.add_argument(
        "--budget", type=float, default=10.0, help="no further repeat once timed calls add up to this (s)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()

    print(describe_machine(), flush=True)
    start = time.perf_counter()
    rows = run(quick=args.quick, use_nt=not args.no_nt, repeat=args.repeat, budget_s=args.budget)
    nt_versions = next((row["nt_versions"] for row in rows if "nt_versions" in row), None)
    if nt_versions is not None:
        devices = next(row["nt_devices"] for row in rows if "nt_devices" in row)
        print(
            "\nneural-tangents side (.venv-nt): "
            + ", ".join(f"{k} {v}" for k, v in nt_versions.items())
            + f", devices {devices}"
        )
    print()
    print(table(rows))
    print(f"\nall kernels agree to < {TOLERANCE:g} (relative); total {time.perf_counter() - start:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
