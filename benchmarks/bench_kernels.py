"""Benchmark: jamscope's kernels, ridgeless solves and learning curves against scipy / scikit-learn.

    .venv/bin/python benchmarks/bench_kernels.py            # full sizes (≈ 3 minutes on 2 CPU cores)
    .venv/bin/python benchmarks/bench_kernels.py --quick    # small sizes (< 40 s on 2 CPU cores)
    .venv/bin/python benchmarks/bench_kernels.py --float32 --json out/bench_kernels.json

float64 by default (learning curves need it; ``--float32``: x64 off, every JAX array float32; the
NumPy baselines get the same inputs and keep whatever dtype scipy returns). In one process:

1. Gram matrices K(x_μ, y_ν), x and y two sets of n = m points uniform on S^63 ⊂ ℝ^64 (D = 64),
   σ = 1, n = 1000 and 4000 (quick: 500 and 2000): ``js.kernels.gram(kernel, x, y)`` for Laplace,
   Gaussian, Matern(1.5) (closed form in JAX) and Matern(0.8) (scipy's K_ν through a host callback),
   against ``np.exp(-cdist(x, y) / σ)`` and ``sklearn Matern(nu=0.5)`` for Laplace, scikit-learn's
   ``rbf_kernel(gamma=1/(2σ²))`` for the Gaussian and ``sklearn.gaussian_process.kernels.Matern``
   (same z = √(2ν) r/σ) for Matérn. Printed: Gram entries per second, jamscope / baseline, max |Δ|.
2. Ridgeless solve of a learning curve: K = Laplace(2) Gram of n = 1000, 2000, 4000 (quick: 500,
   1000) points on S^2, labels one teacher field Z ~ N(0, K_T) (``teacher_field``, Laplace(2)), 500
   test points: ``kernel_coefficients(K, Z, solver=s)`` for s = "cholesky" and "eigh" (the
   minimum-norm default) against ``scipy.linalg.solve(K, Z, assume_a="pos")`` (LAPACK posv), each
   timed alone; max |Δ| of the predictions k_test a on the test points to scipy's (with --float32,
   "eigh" is not checked: its default rtol = n·eps drops the Gram's small eigenvalues, 0.1–0.3 off).
3. One whole learning curve: ``teacher_student_curve(key, Laplace(2), Laplace(2), 2, ns, n_test=500,
   repeats=1)`` for ns = 64, 128, …, 2048 (quick: … 512), Gram matrices, solves and errors included,
   against the same curve written plainly with NumPy/scipy on the same points: cdist + exp Gram
   matrices, ``cho_factor``/``cho_solve`` per n, E = 1 − 2 aᵀk_T + aᵀ𝕂_T a per test point (as
   ``teacher_student.expected_errors``). Printed: both times, the ratio and the max relative
   difference of the curves.

Every path: one first call (compile, reported), then the best of `--repeat` calls, each ending in
``block_until_ready`` (``timing.timed``; no further call once the timed calls add up to 4 s for
jamscope, 2 s for a baseline, 1 s each with ``--quick``). Ratios > 1: jamscope is faster. The script
exits non-zero when a difference exceeds its tolerance (float64: Gram 1e-10, predictions 1e-6, curve
1e-9 relative; float32 looser, see TOLERANCE). Speed targets live here, not in the tests.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy
import scipy.linalg
import sklearn
from scipy.spatial.distance import cdist
from sklearn.gaussian_process.kernels import Matern as SkMatern
from sklearn.metrics.pairwise import rbf_kernel

import jamscope as js
from jamscope import kernels, learning_curves, regression, teacher_student

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import cpu_name, timed  # noqa: E402  (benchmarks/timing.py)

D_GRAM, SIGMA_GRAM = 64, 1.0  # part 1: points on S^63 ⊂ ℝ^64, distances ≈ √2
D_CURVE, SIGMA_CURVE, N_TEST = 2, 2.0, 500  # parts 2 and 3: Laplace(2) on S^2
TOLERANCE = {  # (Gram max |Δ|, prediction max |Δ|, curve max relative Δ)
    "float64": (1e-10, 1e-6, 1e-9),
    "float32": (1e-5, 1e-1, 1e-2),
}
BUDGET_S = {False: (4.0, 2.0), True: (1.0, 1.0)}  # --quick -> (jamscope, baseline) seconds of timed calls


# 1. Gram matrices


def laplace_cdist(x, y):
    return np.exp(-cdist(x, y) / SIGMA_GRAM)


def sklearn_matern(nu):
    return lambda x, y: SkMatern(length_scale=SIGMA_GRAM, nu=nu)(x, y)


def sklearn_rbf(x, y):
    return rbf_kernel(x, y, gamma=1 / (2 * SIGMA_GRAM**2))


# kernel label -> (jamscope kernel, [(baseline name, function)])
GRAM_CASES = {
    "Laplace": (
        lambda: kernels.Laplace(SIGMA_GRAM),
        [("cdist + np.exp", laplace_cdist), ("sklearn Matern ν=0.5", sklearn_matern(0.5))],
    ),
    "Gaussian": (lambda: kernels.Gaussian(SIGMA_GRAM), [("sklearn rbf_kernel", sklearn_rbf)]),
    "Matern 1.5": (lambda: kernels.Matern(1.5, SIGMA_GRAM), [("sklearn Matern ν=1.5", sklearn_matern(1.5))]),
    "Matern 0.8": (lambda: kernels.Matern(0.8, SIGMA_GRAM), [("sklearn Matern ν=0.8", sklearn_matern(0.8))]),
}


def run_gram(n: int, dtype, repeat: int, budgets: tuple[float, float]) -> list[dict]:
    key_x, key_y = jax.random.split(jax.random.PRNGKey(n))
    x = teacher_student.hypersphere(key_x, n, D_GRAM - 1, dtype)
    y = teacher_student.hypersphere(key_y, n, D_GRAM - 1, dtype)
    host = (np.asarray(x), np.asarray(y))
    rows = []
    for label, (make, baselines) in GRAM_CASES.items():
        kernel = make()
        first, best, _, out = timed(lambda: kernels.gram(kernel, x, y), repeat, budgets[0])  # noqa: B023
        out = np.asarray(out, np.float64)
        for name, baseline in baselines:
            _, base_best, _, expected = timed(lambda: baseline(*host), repeat, budgets[1])  # noqa: B023
            rows.append({
                "kernel": label, "n": n, "m": n, "D": D_GRAM, "jamscope_s": best, "first_call_s": first,
                "jamscope_entries_s": n * n / best, "baseline": name, "baseline_s": base_best,
                "baseline_entries_s": n * n / base_best, "ratio": base_best / best,
                "max_abs_diff": float(np.max(np.abs(out - expected))),
            })  # fmt: skip
    return rows


def gram_table(rows: list[dict]) -> str:
    head = (f"{'kernel':<11} {'n = m':>6} {'jamscope entries/s':>18} {'1st call s':>10}  {'baseline':<21} "
            f"{'entries/s':>9} {'ratio':>7} {'max |Δ|':>8}")  # fmt: skip
    lines = ["1. Gram matrices, D = 64 (ratio = jamscope / baseline entries per second)", head]
    lines.append("-" * len(head))
    for r in rows:
        lines.append(
            f"{r['kernel']:<11} {r['n']:>6} {r['jamscope_entries_s']:>18.3g} {r['first_call_s']:>10.2f}  "
            f"{r['baseline']:<21} {r['baseline_entries_s']:>9.3g} {r['ratio']:>6.2f}× "
            f"{r['max_abs_diff']:>8.1e}"
        )
    return "\n".join(lines)


# 2. Ridgeless solves


def run_solve(n: int, dtype, repeat: int, budgets: tuple[float, float]) -> list[dict]:
    key_x, key_z = jax.random.split(jax.random.PRNGKey(1000 + n))
    kernel = kernels.Laplace(SIGMA_CURVE)
    x = teacher_student.hypersphere(key_x, n + N_TEST, D_CURVE, dtype)
    k_train, k_test = kernels.gram(kernel, x[:n]), kernels.gram(kernel, x[n:], x[:n])
    z = teacher_student.teacher_field(key_z, kernel, x[:n])
    host = (np.asarray(k_train), np.asarray(z))
    k_test_host = np.asarray(k_test, np.float64)

    _, base_best, _, expected = timed(lambda: scipy.linalg.solve(*host, assume_a="pos"), repeat, budgets[1])
    expected = k_test_host @ np.asarray(expected, np.float64)
    rows = []
    for solver in ("cholesky", "eigh"):
        first, best, _, a = timed(
            lambda: regression.kernel_coefficients(k_train, z, solver=solver),  # noqa: B023
            repeat,
            budgets[0],
        )
        predictions = k_test_host @ np.asarray(a, np.float64)
        rows.append({
            "n": n, "solver": solver, "jamscope_s": best, "first_call_s": first,
            "baseline": "scipy solve pos", "baseline_s": base_best, "ratio": base_best / best,
            "max_abs_diff": float(np.max(np.abs(predictions - expected))),
            "max_abs_prediction": float(np.max(np.abs(expected))),
            # float32 "eigh" drops eigenvalues below n·eps·λ_max (its documented rtol): not a mismatch
            "checked": solver == "cholesky" or jnp.dtype(dtype) == jnp.float64,
        })  # fmt: skip
    return rows


def solve_table(rows: list[dict]) -> str:
    head = (f"{'n':>5} {'solver':<9} {'jamscope s':>10} {'1st call s':>10}  {'baseline':<16} {'s':>7} "
            f"{'ratio':>7} {'max |Δ| pred.':>13} {'max |f̂|':>7}")  # fmt: skip
    lines = [
        f"2. ridgeless solve, Laplace(2) Gram on S^2, {N_TEST} test predictions "
        "(ratio = baseline / jamscope s)",
        head,
        "-" * len(head),
    ]
    for r in rows:
        lines.append(
            f"{r['n']:>5} {r['solver']:<9} {r['jamscope_s']:>10.3g} {r['first_call_s']:>10.2f}  "
            f"{r['baseline']:<16} {r['baseline_s']:>7.3g} {r['ratio']:>6.2f}× {r['max_abs_diff']:>13.1e}"
            f" {r['max_abs_prediction']:>7.2f}" + ("" if r["checked"] else "  (not checked: rtol = n·eps)")
        )
    return "\n".join(lines)


# 3. One teacher–student learning curve


def naive_curve(x: np.ndarray, ns: tuple[int, ...]) -> np.ndarray:
    """E MSE(n) of a Laplace(2) student and teacher with NumPy/scipy: full Gram matrices, one Cholesky
    per n, E = 1 − 2 aᵀk_T(x) + aᵀ𝕂_T a averaged over the test points."""
    n_max = ns[-1]
    ks = np.exp(-cdist(x, x) / SIGMA_CURVE)
    kt = np.exp(-cdist(x[:n_max], x) / SIGMA_CURVE)
    curve = []
    for n in ns:
        factor = scipy.linalg.cho_factor(ks[:n, :n], lower=True)
        a = scipy.linalg.cho_solve(factor, ks[:n, n_max:])
        errors = 1 - 2 * np.sum(a * kt[:n, n_max:], axis=0) + np.sum(a * (kt[:n, :n] @ a), axis=0)
        curve.append(errors.mean())
    return np.array(curve)


def run_curve(ns: tuple[int, ...], dtype, repeat: int, budgets: tuple[float, float]) -> dict:
    key = jax.random.PRNGKey(0)
    teacher = student = kernels.Laplace(SIGMA_CURVE)

    def jamscope_curve():
        return learning_curves.teacher_student_curve(
            key, teacher, student, D_CURVE, ns, n_test=N_TEST, repeats=1, dtype=dtype
        ).values

    first, best, _, curve = timed(jamscope_curve, repeat, budgets[0])
    # the points of teacher_student_curve's only repeat
    k_points, _ = jax.random.split(jax.random.split(key, 1)[0])
    x = np.asarray(teacher_student.hypersphere(k_points, ns[-1] + N_TEST, D_CURVE, dtype))
    _, base_best, _, expected = timed(lambda: naive_curve(x, ns), repeat, budgets[1])
    curve = np.asarray(curve, np.float64)[0]
    return {
        "ns": list(ns), "n_test": N_TEST, "jamscope_s": best, "first_call_s": first,
        "baseline": "numpy/scipy cho_solve", "baseline_s": base_best, "ratio": base_best / best,
        "max_rel_diff": float(np.max(np.abs(curve - expected) / np.abs(expected))),
        "jamscope_curve": curve.tolist(), "baseline_curve": expected.tolist(),
    }  # fmt: skip


def curve_table(row: dict) -> str:
    head = (f"{'ns':<14} {'jamscope s':>10} {'1st call s':>10}  {'baseline':<22} {'s':>7} {'ratio':>7} "
            f"{'max rel. Δ':>10}")  # fmt: skip
    ns = f"{row['ns'][0]}…{row['ns'][-1]} ({len(row['ns'])})"
    lines = [
        f"3. teacher–student curve Laplace(2)/Laplace(2), d = 2, n_test = {row['n_test']}, 1 repeat",
        head,
        "-" * len(head),
        f"{ns:<14} {row['jamscope_s']:>10.3g} {row['first_call_s']:>10.2f}  {row['baseline']:<22} "
        f"{row['baseline_s']:>7.3g} {row['ratio']:>6.2f}× {row['max_rel_diff']:>10.1e}",
        "E MSE(n): "
        + ", ".join(f"{n}: {e:.4g}" for n, e in zip(row["ns"], row["jamscope_curve"], strict=True)),
    ]
    return "\n".join(lines)


# Report


def versions() -> dict:
    import equinox
    import jaxlib

    return {
        "python": platform.python_version(), "jax": jax.__version__, "jaxlib": jaxlib.__version__,
        "equinox": equinox.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
        "sklearn": sklearn.__version__, "jamscope": js.__version__,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke test)")
    parser.add_argument("--float32", action="store_true", help="float32 instead of float64 (x64 off)")
    parser.add_argument(
        "--repeat", type=int, help="timed calls after the first, best kept (default 5; --quick: 3)"
    )
    parser.add_argument("--json", type=Path, help="also write the versions and rows to this JSON file")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", not args.float32)
    dtype = jnp.float32 if args.float32 else jnp.float64
    dtype_name = jnp.dtype(dtype).name
    budgets = BUDGET_S[args.quick]
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if args.quick:
        gram_sizes, solve_sizes, ns = (500, 2000), (500, 1000), tuple(2**k for k in range(6, 10))
    else:
        gram_sizes, solve_sizes, ns = (1000, 4000), (1000, 2000, 4000), tuple(2**k for k in range(6, 12))

    machine = f"{cpu_name()}, {os.cpu_count()} CPU cores, jax.devices() = {jax.devices()}"
    info = versions()
    print(f"machine: {machine}\nversions: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print(f"dtype {dtype_name}, best of {args.repeat} calls after a first (compile) call", flush=True)
    start = time.perf_counter()
    gram_rows = []
    for n in gram_sizes:
        gram_rows += run_gram(n, dtype, args.repeat, budgets)
        print(f"  Gram n = {n} done ({time.perf_counter() - start:.0f} s)", flush=True)
    solve_rows = []
    for n in solve_sizes:
        solve_rows += run_solve(n, dtype, args.repeat, budgets)
        print(f"  solve n = {n} done ({time.perf_counter() - start:.0f} s)", flush=True)
    curve_row = run_curve(ns, dtype, args.repeat, budgets)
    print(f"  curve done ({time.perf_counter() - start:.0f} s)", flush=True)

    print()
    print(gram_table(gram_rows))
    print()
    print(solve_table(solve_rows))
    print()
    print(curve_table(curve_row))

    gram_tol, solve_tol, curve_tol = TOLERANCE[dtype_name]
    checks = [
        ("Gram max |Δ|", max(r["max_abs_diff"] for r in gram_rows), gram_tol),
        ("prediction max |Δ|", max(r["max_abs_diff"] for r in solve_rows if r["checked"]), solve_tol),
        ("curve max relative Δ", curve_row["max_rel_diff"], curve_tol),
    ]
    print("\n" + "; ".join(f"{name} {value:.1e} (tolerance {tol:g})" for name, value, tol in checks))
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.json is not None:
        record = {
            "machine": machine, "versions": info, "dtype": dtype_name, "quick": args.quick,
            "repeat": args.repeat, "gram": gram_rows, "solve": solve_rows, "curve": curve_row,
        }  # fmt: skip
        args.json.write_text(json.dumps(record, indent=2))
    failed = [name for name, value, tol in checks if not value < tol]
    if failed:
        print(f"jamscope and the baselines disagree: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
