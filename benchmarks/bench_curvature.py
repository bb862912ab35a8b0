"""Benchmark: exact H, H0, Hp of an MLP — jamscope vs `jax.hessian` vs curvlinops (PyTorch).

    python benchmarks/bench_curvature.py            # both sizes + the N ≈ 10⁶ SLQ memory check
    python benchmarks/bench_curvature.py --quick    # the small size only, no 10⁶ run

Set-up (issue #3): MLP d = 10, h = 30, L = 3, softplus, P = 1000, float64 (N = 2130), and a second
size with N ≈ 5000 (h = 48). Loss: MSE, the one loss whose GGN curvlinops supports for scalar
outputs, so that all three tools compute the same matrices. Each tool runs in its own child process
(an out-of-memory kill is reported, not fatal). Printed: wall times (best of `--repeat` after one
compile run), peak memory per tool and the ratios; targets ≥ 5× vs `jax.hessian`, ≥ 10× vs curvlinops for
H + H0 + Hp together. curvlinops needs the optional `bench` extra (``pip install -e ".[bench]"``:
torch 2.13.0 CPU, curvlinops-for-pytorch); without it that column is skipped with a message.
"""

import argparse
import json
import math
import resource
import subprocess
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import jamscope as js  # noqa: E402
from jamscope import curvature, nets  # noqa: E402


def problem(width: int, depth: int = 3, dim: int = 10, n_train: int = 1000):
    key = jax.random.PRNGKey(0)
    data = js.data.random_sphere(key, n_train, dim)
    model = js.FCNet(jax.random.fold_in(key, 1), dim, width, depth, "softplus")
    return model, data


def best_time(fn, repeat: int) -> float:
    jax.block_until_ready(fn())  # compile
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def naive_parts(model, loss, x, y):
    """The textbook route: H = jax.hessian(L), H0 = Jᵀ diag(ℓ″/P) J with J = jax.jacrev(outputs)."""
    params, static = nets.partition(model)
    theta, unravel = jax.flatten_util.ravel_pytree(params)

    @jax.jit
    def parts(theta):
        def f(t):
            return jax.vmap(eqx_combine(unravel(t), static))(x)

        def objective(t):
            return js.losses.mean_loss(loss, f(t), y)

        h = jax.hessian(objective)(theta)
        jac = jax.jacrev(f)(theta)
        weights = loss.second_derivative(f(theta), y) / x.shape[0]
        h0 = jac.T @ (weights[:, None] * jac)
        return h, h0, h - h0

    return lambda: parts(theta)


def eqx_combine(params, static):
    import equinox as eqx

    return eqx.combine(params, static)


def curvlinops_parts(model, x, y):
    """Dense Hessian and GGN of the same MLP and MSE loss with curvlinops (PyTorch, float64)."""
    try:
        import torch
        from curvlinops import GGNLinearOperator, HessianLinearOperator
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)
    a = nets.unit_variance_prefactor("softplus", model.softplus_beta)

    class Scale(torch.nn.Module):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def forward(self, z):
            return self.factor * z

    layers = []
    for i, w in enumerate(model.weights):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
        linear.weight.data = torch.tensor(np.asarray(w))
        layers += [linear, Scale(1.0 / math.sqrt(w.shape[1]))]
        if i < len(model.weights) - 1:
            layers += [torch.nn.Softplus(beta=model.softplus_beta), Scale(a)]
    net = torch.nn.Sequential(*layers)
    params = [p for p in net.parameters()]
    data = [(torch.tensor(np.asarray(x)), torch.tensor(np.asarray(y))[:, None])]
    loss_func = torch.nn.MSELoss(reduction="mean")  # (1/P) Σ (f − y)² = 2 × jamscope's MSE objective
    n = sum(p.numel() for p in params)
    eye = torch.eye(n)

    def parts():
        h = HessianLinearOperator(net, loss_func, params, data) @ eye
        h0 = GGNLinearOperator(net, loss_func, params, data) @ eye
        return h, h0, h - h0

    return parts


def measure(tool: str, width: int, repeat: int) -> dict:
    """Time one tool on one size (run in a child process: an out-of-memory kill stays local)."""
    model, data = problem(width)
    loss = js.MSE()
    row = {}
    if tool == "jamscope":
        row["time"] = best_time(lambda: curvature.decompose(loss, model, data), repeat)
    elif tool == "jax.hessian":
        row["time"] = best_time(naive_parts(model, loss, data.x, data.y), repeat)
    else:
        reference = curvlinops_parts(model, data.x, data.y)
        if reference is None:
            return {"missing": "curvlinops/torch not installed: pip install -e '.[bench]' to add that column"}
        row["time"] = best_time(reference, max(1, repeat // 2))
        parts = curvature.decompose(loss, model, data)
        h_torch, h0_torch, _ = reference()
        for name, mine, theirs in (("H", parts.h, h_torch), ("H0", parts.h0, h0_torch)):
            error = np.max(np.abs(2 * np.asarray(mine) - theirs.numpy())) / np.max(np.abs(theirs.numpy()))
            row[f"max rel diff {name}"] = float(error)
    row["peak GB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return row


def run_child(tool: str, width: int, repeat: int) -> dict:
    command = [sys.executable, __file__, "--child", tool, "--width", str(width), "--repeat", str(repeat)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        reason = "killed (out of memory)" if out.returncode in (-9, 137) else out.stderr.strip()[-300:]
        return {"failed": reason}
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(width: int, repeat: int) -> None:
    model, data = problem(width)
    print(f"N = {nets.n_params(model)}, P = {data.n_train}:")
    rows = {tool: run_child(tool, width, repeat) for tool in ("jamscope", "jax.hessian", "curvlinops")}
    for tool, row in rows.items():
        if "time" in row:
            details = ", ".join(f"{k} {v:.3g}" for k, v in row.items() if k != "time")
            print(f"  {tool:>12}: {row['time']:8.3f} s   ({details})")
        else:
            print(f"  {tool:>12}: {row.get('failed') or row.get('missing')}")
    ours = rows["jamscope"].get("time")
    for tool, target in (("jax.hessian", 5), ("curvlinops", 10)):
        if ours and "time" in rows[tool]:
            print(f"  ratio {tool} / jamscope: {rows[tool]['time'] / ours:.1f}× (target ≥ {target}×)")


SLQ_CHILD = """
import resource, time, jax
jax.config.update("jax_enable_x64", True)
import jamscope as js
from jamscope import curvature, nets
key = jax.random.PRNGKey(0)
data = js.data.random_sphere(key, {p}, {d})
model = js.FCNet(jax.random.fold_in(key, 1), {d}, {h}, 2, "softplus")
start = time.perf_counter()
matvec, n = curvature.operator(js.SoftHinge(), model, data, "h")
density = curvature.spectral_density(matvec, n, key, num_probes=2, krylov_depth=40, probe_batch=1)
jax.block_until_ready(density.density)
print(nets.n_params(model), time.perf_counter() - start,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2)
"""


def slq_memory(width: int = 980, dim: int = 20, n_train: int = 100) -> None:
    code = SLQ_CHILD.format(p=n_train, d=dim, h=width)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, seconds, peak_gb = out.stdout.split()
    print(f"SLQ density of H, N = {int(n):,}: {float(seconds):.1f} s, peak memory {float(peak_gb):.2f} GB "
          "(target < 2 GB)")  # fmt: skip


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--quick", action="store_true", help="small size only, skip the 10⁶ SLQ run")
    cli.add_argument("--repeat", type=int, default=3)
    cli.add_argument("--child", choices=("jamscope", "jax.hessian", "curvlinops"), help=argparse.SUPPRESS)
    cli.add_argument("--width", type=int, default=30, help=argparse.SUPPRESS)
    args = cli.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.width, args.repeat)))
        return
    for width in (30,) if args.quick else (30, 48):
        compare(width, args.repeat)
    if not args.quick:
        slq_memory()


if __name__ == "__main__":
    main()
