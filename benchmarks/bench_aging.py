"""Benchmark: the aging observables of 003 (`jamscope.aging`) and SGD with aging snapshots, against
a naive baseline and the field's usual practice.

    .venv/bin/python benchmarks/bench_aging.py            # 20000 SGD steps (≈ 80 s on 2 CPU cores)
    .venv/bin/python benchmarks/bench_aging.py --quick    # 5000 SGD steps, shorter budgets (≈ 70 s)
    .venv/bin/python benchmarks/bench_aging.py --json out/bench_aging.json

x64 is on (the MSD runs in float64 and float32; training is float32, the Keras default of 003). In one
process, on the same inputs:

1. MSD Δ(t_w, t_w + t) = mean_i (θ_i(t_w) − θ_i(t_w + t))² (003 eq. 2) for K = 8 runs of N = 100
   and 4000 parameters, on the grid ``aging_grid(10⁵)`` (12 waiting times × 38 distinct lags) at the steps
   ``snapshot_schedule`` keeps. The snapshots are a synthetic random walk in the clock √s (variance
   10⁻² per unit of √s and parameter), so that Δ grows like the SGD one and t* ≈ 2√t_w (μ = 1/2).
   ``jax.jit``-compiled ``aging.msd`` (float64 and float32 snapshots) against (a) a NumPy double
   loop over the (t_w, t) pairs, each pair one (K, N) difference, and (b) one NumPy broadcast that
   materializes the whole (K, W, T, N) difference array. Printed: pairs (K·W·T) per second, the
   ratios ours / baseline, the max relative difference to the loop, and the peak size of the
   difference array of the broadcast (K·W·T·N floats) against ours (K·T·N, one t_w at a time).
2. SGD on 003's set-up (MLP 2 → 10 → 4, tanh, Xavier uniform, ``ring_mixture`` with 1000 points,
   softmax cross-entropy, batch 100, lr 0.05, λ = 10⁻⁴), snapshots on the aging grid of the run:
   ``train.sgd(..., ensemble=True)`` for 1 and 10 runs against a Python ``for`` loop calling a
   ``jax.jit``-compiled SGD step, the epoch permutation drawn on the host with NumPy and the batch
   sliced there, θ copied to the host at the same kind of snapshot grid. The loop runs one network
   for `--baseline-steps` steps; its rate for 10 runs is that of one run divided by 10 (the loop
   trains runs one after the other). Steps per second, so the step counts may differ.
3. ``relaxation_time`` (Δ* = 10⁻²) and ``fit_aging_exponent`` (1000 bootstrap resamples, t_w ≥ 10³)
   on the float64 Δ of the 8 runs with N = 4000: the wall time of each, and μ.

Every path: one first call (compile, reported), then the best of `--repeat` calls, each ending in
``block_until_ready`` (``timing.timed``; training: one timed call). ``train`` builds fresh closures
on every call, so each call compiles its segments again: the XLA compile time of the timed call,
measured with ``jax.monitoring`` (backend_compile_duration), is subtracted from it (tracing and
lowering, a few tenths of a second, stay in). The Python loop's step is compiled once, in the first
call. Ratios > 1: jamscope is faster. The script exits non-zero when an MSD differs from the loop's
by more than 1e-10 (float64) or 1e-4 (float32) relative.

Measured on 2 loaded CPU cores: aging.msd 3.5× (float64) / 5.8× (float32) the loop's pairs/s at
N = 100, 0.9× / 2.3× at N = 4000 (2.6× / 6.9× the broadcast, with 12× less memory); train.sgd 0.7×
the Python loop for one run (7000 vs 10 500 steps/s: ~1 ms per snapshot segment, and 3–4 s of XLA
compile on every call, not counted) and 1.8× for 10 runs; relaxation_time 4 ms, fit 235 ms.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax.tree_utils as otu  # noqa: E402

import jamscope as js  # noqa: E402
from jamscope import aging, data, nets, train  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import CompileClock, cpu_name, timed  # noqa: E402  (benchmarks/timing.py)

RUNS, MSD_STEPS, N_WAITING, N_LAGS = 8, 100_000, 12, 40
WALK_VARIANCE = 1e-2  # per unit of √s and parameter: t* = 2√t_w + 1 at Δ* = 10⁻²
WIDTH, DEPTH, CLASSES, N_TRAIN, BATCH, LR, WEIGHT_DECAY = 10, 1, 4, 1000, 100, 0.05, 1e-4
TOLERANCE = {"float64": 1e-10, "float32": 1e-4}
BUDGET_S = {False: (2.0, 2.0), True: (0.5, 0.5)}  # --quick -> (jamscope, baseline) seconds of timed calls


# 1. Mean-squared displacement


def random_walk(n: int, steps: np.ndarray, seed: int) -> np.ndarray:
    """(RUNS, S, n) float64: θ(0) ~ N(0, 1), then Gaussian increments of variance 10⁻² Δ√s."""
    rng = np.random.default_rng(seed)
    scale = np.sqrt(WALK_VARIANCE * np.diff(np.sqrt(steps.astype(float))))
    walk = rng.standard_normal((RUNS, steps.size, n))
    walk[:, 1:] *= scale[None, :, None]
    return np.cumsum(walk, axis=1)


def msd_loop(snapshots: np.ndarray, steps: np.ndarray, t_w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The naive double loop over (t_w, t): one (K, N) difference per pair, NaN past the last step."""
    position = {int(s): i for i, s in enumerate(steps)}
    out = np.full(snapshots.shape[:1] + (t_w.size, t.size), np.nan)
    for a, w in enumerate(t_w):
        for b, lag in enumerate(t):
            later = position.get(int(w + lag))
            if later is not None:
                diff = snapshots[:, position[int(w)]] - snapshots[:, later]
                out[:, a, b] = np.mean(diff**2, axis=-1)
    return out


def msd_broadcast(snapshots: np.ndarray, steps: np.ndarray, t_w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Vectorized NumPy: the whole (K, W, T, N) difference array at once, NaN past the last step."""
    later = t_w[:, None] + t[None, :]
    inside = later <= steps[-1]
    first = np.searchsorted(steps, t_w)
    second = np.searchsorted(steps, np.where(inside, later, steps[-1]))
    diff = snapshots[:, first, None, :] - snapshots[:, second, :]
    return np.where(inside, np.mean(diff**2, axis=-1), np.nan)


def max_relative_difference(out, expected: np.ndarray) -> float:
    out = np.asarray(out, np.float64)
    if not np.array_equal(np.isnan(out), np.isnan(expected)):
        return float("inf")
    ok = np.isfinite(expected) & (expected != 0)
    zeros = np.isfinite(expected) & (expected == 0)
    worst = float(np.max(np.abs(out[ok] - expected[ok]) / np.abs(expected[ok])))
    return max(worst, float(np.max(np.abs(out[zeros]), initial=0.0)))


def run_msd(n: int, repeat: int, budgets: tuple[float, float]) -> tuple[list[dict], np.ndarray]:
    t_w, t = aging.aging_grid(MSD_STEPS, N_WAITING, N_LAGS)
    steps = aging.snapshot_schedule(t_w, t, MSD_STEPS)
    host = random_walk(n, steps, seed=n)
    pairs = RUNS * t_w.size * t.size
    _, loop_s, _, expected = timed(lambda: msd_loop(host, steps, t_w, t), repeat, budgets[1])
    _, cast_s, _, cast = timed(lambda: msd_broadcast(host, steps, t_w, t), repeat, budgets[1])
    common = {"N": n, "K": RUNS, "W": t_w.size, "T": t.size, "S": steps.size, "pairs": pairs}
    rows = [
        {**common, "method": "NumPy loop over (t_w, t)", "dtype": "float64", "s": loop_s,
         "first_call_s": None, "max_rel_diff": 0.0},
        {**common, "method": "NumPy broadcast (K,W,T,N)", "dtype": "float64", "s": cast_s,
         "first_call_s": None, "max_rel_diff": max_relative_difference(cast, expected)},
    ]  # fmt: skip
    delta64 = None
    for dtype in (jnp.float64, jnp.float32):
        snapshots = jnp.asarray(host, dtype)
        first, best, _, out = timed(lambda: aging.msd(snapshots, steps, t_w, t), repeat, budgets[0])  # noqa: B023
        delta64 = out if delta64 is None else delta64
        rows.append({
            **common, "method": "aging.msd (jit, lax.map)", "dtype": jnp.dtype(dtype).name, "s": best,
            "first_call_s": first, "max_rel_diff": max_relative_difference(out, expected),
        })  # fmt: skip
    for r in rows:
        r["pairs_s"] = pairs / r["s"]
        r["vs_loop"], r["vs_broadcast"] = loop_s / r["s"], cast_s / r["s"]
    return rows, (t_w, t, np.asarray(delta64))


def msd_table(rows: list[dict]) -> str:
    r0 = rows[0]
    head = (f"{'N':>5} {'method':<26} {'dtype':<8} {'pairs/s':>9} {'1st call s':>10} {'vs loop':>8} "
            f"{'vs broadcast':>12} {'max rel Δ':>9}")  # fmt: skip
    lines = [
        f"1. MSD Δ(t_w, t_w + t): K = {r0['K']} runs, W = {r0['W']} waiting times × T = {r0['T']} lags "
        f"({r0['pairs']} pairs), S = {r0['S']} snapshots of {MSD_STEPS} steps (ratio = pairs/s over the "
        "baseline's)",
        head,
        "-" * len(head),
    ]
    for r in rows:
        first = "–" if r["first_call_s"] is None else f"{r['first_call_s']:.2f}"
        lines.append(
            f"{r['N']:>5} {r['method']:<26} {r['dtype']:<8} {r['pairs_s']:>9.3g} {first:>10} "
            f"{r['vs_loop']:>7.1f}× {r['vs_broadcast']:>11.1f}× {r['max_rel_diff']:>9.1e}"
        )
    lines.append("peak difference array, floats: " + "; ".join(
        f"N = {n}: broadcast K·W·T·N = {RUNS * r['W'] * r['T'] * n:.3g}, aging.msd K·T·N = "
        f"{RUNS * r['T'] * n:.3g} ({r['W']}× less)"
        for n, r in {r["N"]: r for r in rows}.items()
    ))  # fmt: skip
    return "\n".join(lines)


# 2. SGD with aging snapshots


def problem():
    key = jax.random.PRNGKey(0)
    dataset = data.ring_mixture(key, N_TRAIN, dtype=jnp.float32)

    def make(k):
        return nets.MLP(k, 2, WIDTH, DEPTH, "tanh", n_outputs=CLASSES, dtype=jnp.float32)

    return dataset, make, jax.random.split(jax.random.fold_in(key, 1), 10)


def aging_snapshots(steps: int) -> np.ndarray:
    t_w, t = aging.aging_grid(steps, N_WAITING, N_LAGS)
    return aging.snapshot_schedule(t_w, t, steps)


def jamscope_sgd(models, dataset, steps: int, clock: CompileClock):
    schedule = jnp.asarray(aging_snapshots(steps))

    def run():
        clock.reset()
        _, history = train.sgd(
            models, js.SoftmaxCrossEntropy(), dataset, steps=steps, key=jax.random.PRNGKey(2), lr=LR,
            batch_size=BATCH, weight_decay=WEIGHT_DECAY, snapshot_steps=schedule, ensemble=True,
            progress=False,
        )  # fmt: skip
        return history.snapshots, clock.seconds

    return run, int(schedule.size)


def python_loop_sgd(model, dataset, steps: int):
    """The textbook loop: a jitted SGD step called from Python, batches sliced on the host."""
    loss = js.SoftmaxCrossEntropy()
    params, static = nets.partition(model)
    x, y = np.asarray(dataset.x), np.asarray(dataset.y)
    schedule = set(aging_snapshots(steps).tolist())
    n_batches = N_TRAIN // BATCH

    @jax.jit
    def step(p, xb, yb):
        def objective(q):
            f = jax.vmap(eqx.combine(q, static))(xb)
            return js.losses.mean_loss(loss, f, yb) + WEIGHT_DECAY * otu.tree_norm(q, squared=True)

        return otu.tree_add_scale(p, -LR, jax.grad(objective)(p))

    def run():
        rng = np.random.default_rng(2)
        p, snapshots = params, []
        for i in range(steps + 1):
            if i in schedule:  # θ after i steps, to the host (model.get_weights() in Keras)
                snapshots.append(np.concatenate([np.ravel(leaf) for leaf in jax.tree.leaves(p)]))
            if i == steps:
                break
            if i % n_batches == 0:
                perm = rng.permutation(N_TRAIN)
            idx = perm[(i % n_batches) * BATCH : (i % n_batches + 1) * BATCH]
            p = step(p, x[idx], y[idx])
        return np.stack(snapshots)

    return run, len(schedule)


def run_training(steps: int, baseline_steps: int) -> list[dict]:
    dataset, make, keys = problem()
    clock = CompileClock()
    n = nets.n_params(make(keys[0]))
    rows = []
    for runs in (1, 10):
        fn, n_snap = jamscope_sgd(nets.ensemble(make, keys[:runs]), dataset, steps, clock)
        first, best, _, (_, compile_s) = timed(fn, 1)
        rows.append({
            "runs": runs, "method": "train.sgd(ensemble=True)", "steps": steps, "snapshots": n_snap, "N": n,
            "first_call_s": first, "compile_s": compile_s, "s": best - compile_s,
        })  # fmt: skip
        print(f"  train.sgd, {runs} runs done", flush=True)
    fn, n_snap = python_loop_sgd(make(keys[0]), dataset, baseline_steps)
    first, best, _, _ = timed(fn, 1)
    loop = {"method": "jit step + Python loop", "steps": baseline_steps, "snapshots": n_snap, "N": n,
            "first_call_s": first, "compile_s": None}  # fmt: skip
    rows.insert(1, {**loop, "runs": 1, "s": best})
    rows.append({**loop, "runs": 10, "method": "jit step + Python loop (1 run ×10)", "s": 10 * best})
    print("  Python loop done", flush=True)
    for r in rows:
        r["steps_s"] = r["steps"] / r["s"]
    for ours, base in ((rows[0], rows[1]), (rows[2], rows[3])):
        ours["ratio"] = ours["steps_s"] / base["steps_s"]
    return rows


def training_table(rows: list[dict]) -> str:
    head = (f"{'runs':>4} {'method':<35} {'steps':>6} {'snaps':>5} {'1st call s':>10} {'compile s':>9} "
            f"{'s':>7} {'steps/s':>8} {'ratio':>7}")  # fmt: skip
    lines = [
        f"2. SGD, 003 set-up: MLP 2 → {WIDTH} → {CLASSES} tanh (N = {rows[0]['N']}), ring_mixture "
        f"P = {N_TRAIN}, batch {BATCH}, lr {LR}, λ = {WEIGHT_DECAY:g}, float32, snapshots on the aging grid "
        "(s: without XLA compile; steps/s: ensemble steps, all runs advance; ratio = ours / loop)",
        head,
        "-" * len(head),
    ]
    for r in rows:
        compile_s = "–" if r["compile_s"] is None else f"{r['compile_s']:.2f}"
        ratio = f"{r['ratio']:.1f}×" if "ratio" in r else ""
        lines.append(
            f"{r['runs']:>4} {r['method']:<35} {r['steps']:>6} {r['snapshots']:>5} "
            f"{r['first_call_s']:>10.2f} {compile_s:>9} {r['s']:>7.2f} {r['steps_s']:>8.0f} {ratio:>7}"
        )
    return "\n".join(lines)


# 3. Relaxation times and μ


def run_fit(t_w: np.ndarray, t: np.ndarray, delta: np.ndarray, repeat: int) -> dict:
    delta = jnp.asarray(delta)
    first, relax_s, _, t_star = timed(lambda: aging.relaxation_time(t, delta), repeat, 1.0)
    t_star = np.asarray(t_star)
    _, fit_s, _, result = timed(lambda: aging.fit_aging_exponent(t_w, t_star, low=1000), repeat, 2.0)
    return {
        "first_call_s": first, "relax_s": relax_s, "fit_s": fit_s, "mu": result.exponent,
        "ci": (result.ci_low, result.ci_high), "n_used": result.n_used, "n_runs": result.n_runs,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5000 SGD steps, 1000 in the loop (smoke test)")
    parser.add_argument("--steps", type=int, help="SGD steps of train.sgd (default 20000; --quick: 5000)")
    parser.add_argument(
        "--baseline-steps", type=int, help="steps of the Python loop (default 5000; --quick: 1000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed MSD calls after the first (best kept)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    steps = args.steps or (5000 if args.quick else 20_000)
    baseline_steps = args.baseline_steps or (1000 if args.quick else 5000)
    budgets = BUDGET_S[args.quick]

    print(f"machine: {cpu_name()}, {os.cpu_count()} CPU cores, jax {jax.__version__} on "
          f"{jax.devices()[0].platform}, numpy {np.__version__}", flush=True)  # fmt: skip
    start = time.perf_counter()
    msd_rows = []
    for n in (100, 4000):
        rows, grid = run_msd(n, args.repeat, budgets)
        msd_rows += rows
        print(f"  MSD N = {n} done ({time.perf_counter() - start:.0f} s)", flush=True)
    train_rows = run_training(steps, baseline_steps)
    fit_row = run_fit(*grid, args.repeat)

    print()
    print(msd_table(msd_rows))
    print()
    print(training_table(train_rows))
    print()
    print(f"3. K = {fit_row['n_runs']} runs, N = 4000: relaxation_time {1e3 * fit_row['relax_s']:.1f} ms "
          f"(first call {fit_row['first_call_s']:.2f} s), fit_aging_exponent (1000 bootstrap resamples) "
          f"{1e3 * fit_row['fit_s']:.0f} ms; μ = {fit_row['mu']:.3f} "
          f"[{fit_row['ci'][0]:.3f}, {fit_row['ci'][1]:.3f}] on {fit_row['n_used']} t_w ≥ 1000 "
          "(the walk has t* = 2√t_w + 1)")  # fmt: skip
    print(f"total {time.perf_counter() - start:.0f} s")

    failed = [f"N = {r['N']} {r['method']} {r['dtype']} ({r['max_rel_diff']:.1e})" for r in msd_rows
              if not r["max_rel_diff"] <= TOLERANCE[r["dtype"]]]  # fmt: skip
    if args.json is not None:
        record = {"msd": msd_rows, "training": train_rows, "fit": fit_row, "quick": args.quick}
        args.json.write_text(json.dumps(record, indent=2))
    if failed:
        print(f"aging.msd and the NumPy loop disagree: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
