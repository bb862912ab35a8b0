"""Benchmark: full-batch Adam on the jamming problem, and the steps to a certified end state.

    python benchmarks/bench_training.py --part speed     # (a) steps/s against PyTorch, minutes
    python benchmarks/bench_training.py --part end       # (b) steps to an end state, ≈ 25 min
    python benchmarks/bench_training.py --part speed --sizes 11 --steps 2000   # a quick look

All in float64, on 000's problem: ReLU `nets.MLP` in the standard parametrization, orthogonal
weights, zero biases, d = h, L = 3, P = 1000 centred points on the sphere with balanced labels, the
quadratic hinge (ε = 1/2), Adam at lr 10⁻⁴.

(a) **Speed.** Steady-state steps per second of `jamscope.train.train` with the end criterion on
(its records and plateau test are part of the cost; `min_steps` above the budget so that every run
does exactly its steps; the rate is S/(T(2S) − T(S)), which leaves the compilation out) against
the same loop in PyTorch, the authors' framework (`torch.nn.Linear` layers,
`torch.optim.Adam`, the loss read back every step as a training loop that logs does), at h = 11
(N ≈ 400) and h = 51 (N ≈ 8000): one run, and an ensemble of 8 (jamscope: one vmapped call; PyTorch:
8 runs one after the other). The limit is the time of the step's matrix products alone (forward
and backward, the network's shapes, float64, looped in XLA), measured in the same process.

(b) **Steps to an end state.** Runs on both sides of N* (P = 300, L = 2: h = 8, P/N = 2.2, and h = 6,
P/N = 3.8; 4 seeds each) trained (i) with the paper's schedule, lr 10⁻⁴ ÷ 10 every 2.5·10⁵ steps for
2·10⁶ steps, stopping at N_Δ = 0 (000 §III: a run that has not fitted by then counts as jammed), and
(ii) at a held rate, each run stopping at its certified end state
([`EndCriterion`][jamscope.end_state.EndCriterion]; a run stopped with every unsatisfied pattern
on dead units is frozen, [`mark_frozen`][jamscope.end_state.mark_frozen]): at 000's lr 10⁻⁴, and at
10⁻³, the rate of the CPU presets (`experiments.jamming.QUICK`, a documented departure). Printed per run: the
outcome and the steps of both, and the loss and N_Δ of both at their ends; per rate, the median
ratio of steps, the speed-up for the same outcome (a run that (ii) leaves undecided or frozen has
none; a run that (i) leaves unfitted counts as jammed, as in 000).
"""

import argparse
import json
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jamscope as js  # noqa: E402
from jamscope.end_state import OUTCOMES, EndCriterion  # noqa: E402

P, DEPTH, MARGIN, LR = 1000, 3, 0.5, 1e-4


def problem(width: int, n_train: int = P, depth: int = DEPTH, seed: int = 0):
    key = jax.random.PRNGKey(seed)
    data = js.data.random_sphere(key, n_train, width, center=True, balanced=True)

    def make(k):
        return js.MLP(k, width, width, depth, "relu", init="orthogonal")

    return data, make, jax.random.split(jax.random.fold_in(key, 1), 8)


def gemm_floor(width: int, depth: int, n_train: int, members: int = 1) -> float:
    """Seconds per step of the matrix products alone: for every layer the forward Z = A Wᵀ and the
    backward dA = dZ W and dW = dZᵀ A, at the network's shapes, float64, `members` at once, looped
    under `lax.scan` (the dgemm limit of one training step on this machine)."""
    key = jax.random.PRNGKey(0)
    sizes = [width] * (depth + 1) + [1]
    ws = [jax.random.normal(key, (members, o, i)) / i for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    x = jax.random.normal(key, (members, n_train, width))

    def body(carry, _):
        a, total = carry, 0.0
        for w in ws:
            z = jnp.einsum("kpi,koi->kpo", a, w)
            total = total + jnp.einsum("kpo,koi->kpi", z, w).sum() + jnp.einsum("kpo,kpi->koi", z, a).sum()
            a = z if z.shape[-1] == width else a
        return carry + 1e-300 * total, None

    loop = jax.jit(lambda c: jax.lax.scan(body, c, None, length=200)[0])
    loop(x).block_until_ready()
    return min(_seconds(lambda: loop(x).block_until_ready()) for _ in range(3)) / 200


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def jamscope_steps_per_second(models, data, steps: int, ensemble: bool) -> float:
    """Steady-state rate: every `train` call compiles afresh (its closures are new), so the rate is
    the extra steps of a run twice as long over its extra seconds."""
    end = EndCriterion(min_steps=100 * steps)  # judged at every record, never decided within the budget

    def run(n):
        _, history = js.train.train(
            models, js.QuadraticHinge(MARGIN), data, js.Adam(lr=LR), steps=n, end=end,
            stop_when_fitted=False, ensemble=ensemble, progress=False,
        )  # fmt: skip
        jax.block_until_ready(history.loss)

    return steps / (_seconds(lambda: run(2 * steps)) - _seconds(lambda: run(steps)))


def torch_steps_per_second(model, data, steps: int) -> float:
    import torch

    torch.set_num_threads(2)
    x = torch.tensor(np.asarray(data.x), dtype=torch.float64)
    y = torch.tensor(np.asarray(data.y), dtype=torch.float64)
    layers = []
    for w, b in zip(model.weights, model.biases, strict=True):
        linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(np.asarray(w)))
            linear.bias.copy_(torch.tensor(np.asarray(b)))
        layers += [linear, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)

    def run(n):
        for _ in range(n):
            optimizer.zero_grad()
            gap = MARGIN - y * net(x)[:, 0]
            loss = 0.5 * torch.relu(gap).pow(2).mean()
            loss.backward()
            optimizer.step()
            float(loss.detach())  # the host read of a loop that logs its loss

    run(20)
    return steps / _seconds(lambda: run(steps))


def speed(args) -> list[dict]:
    rows = []
    for width, steps in zip(args.sizes, args.steps, strict=True):
        data, make, keys = problem(width)
        model = make(keys[0])
        n = js.nets.n_params(model)
        floor, floor_8 = gemm_floor(width, DEPTH, P), gemm_floor(width, DEPTH, P, members=8)
        ours = jamscope_steps_per_second(model, data, steps, ensemble=False)
        theirs = torch_steps_per_second(model, data, steps)
        ensemble = jamscope_steps_per_second(js.nets.ensemble(make, keys), data, steps // 4, ensemble=True)
        theirs_8 = theirs / 8  # 8 runs one after the other
        row = {
            "h": width, "N": n, "P": P, "steps": steps, "jamscope_steps_per_s": ours,
            "torch_steps_per_s": theirs, "ratio_single": ours / theirs,
            "jamscope_ensemble_of_8_steps_per_s": ensemble, "torch_8_runs_steps_per_s": theirs_8,
            "ratio_ensemble": ensemble / theirs_8, "gemm_limit_steps_per_s": 1 / floor,
            "gemm_limit_ensemble_steps_per_s": 1 / floor_8, "fraction_of_gemm_limit": ours * floor,
            "fraction_of_gemm_limit_ensemble": ensemble * floor_8,
            "gemm_gflops": 6 * P * n / floor / 1e9,
        }  # fmt: skip
        rows.append(row)
        print(f"h = {width}, N = {n}, P = {P}, float64, {steps} steps; matrix products alone: "
              f"{1 / floor:.0f} steps/s ({row['gemm_gflops']:.0f} GFlop/s)")  # fmt: skip
        print(f"  one run:  jamscope {ours:8.0f} steps/s, PyTorch {theirs:8.0f}: {ours / theirs:.2f}×; "
              f"{row['fraction_of_gemm_limit']:.0%} of the matrix-product limit")
        print(f"  8 runs:   jamscope vmapped {ensemble:8.0f} ensemble steps/s, PyTorch {theirs_8:8.0f} "
              f"(8 runs in turn): {ensemble / theirs_8:.2f}×; "
              f"{row['fraction_of_gemm_limit_ensemble']:.0%} of the matrix-product limit")  # fmt: skip
    return rows


def end_states(args) -> list[dict]:
    rows = []
    loss = js.QuadraticHinge(MARGIN)
    for width in (8, 6):
        data, make, keys = problem(width, n_train=300, depth=2)
        models = js.nets.ensemble(make, keys[:4])
        n = 2 * width * width + width
        start = time.perf_counter()
        _, paper = js.train.train(
            models, loss, data, js.Adam(lr=LR, decay_every=250_000, lr_floor=1e-11), steps=2_000_000,
            ensemble=True, n_records=150, progress=False,
        )  # fmt: skip
        paper_seconds = time.perf_counter() - start
        print(f"h = {width}, N = {n} weights, P = 300 (P/N = {300 / n:.2f}), ensemble of 4: paper schedule "
              f"{paper_seconds:.0f} s (wall)")  # fmt: skip
        for rate in (LR, 10 * LR):
            start = time.perf_counter()
            _, ours = js.train.train(
                models, loss, data, js.Adam(lr=rate), steps=args.budget, end=EndCriterion(), ensemble=True,
                n_records=150, progress=False,
            )  # fmt: skip
            print(f"  certified at lr {rate:.0e} held: {time.perf_counter() - start:.0f} s (wall)")
            outcome = np.asarray(ours.outcome)
            for k in range(4):
                paper_outcome = "fitted" if int(paper.n_unsatisfied[k, -1]) == 0 else "jammed"
                row = {
                    "h": width, "N": n, "P": 300, "seed": k, "lr": rate,
                    "paper_outcome": paper_outcome, "paper_steps": int(paper.step[k, -1]),
                    "paper_loss": float(paper.loss[k, -1]), "paper_n_delta": int(paper.n_unsatisfied[k, -1]),
                    "outcome": OUTCOMES[int(outcome[k])], "steps": int(ours.step[k, -1]),
                    "loss": float(ours.loss[k, -1]), "n_delta": int(ours.n_unsatisfied[k, -1]),
                }  # fmt: skip
                same = row["outcome"] == paper_outcome
                row["step_ratio"] = row["paper_steps"] / row["steps"] if same else None
                rows.append(row)
                ratio = f"{row['step_ratio']:.1f}× fewer steps" if same else "another outcome"
                print(f"    seed {k}: paper {paper_outcome:>6} at {row['paper_steps']:>8} steps "
                      f"(L = {row['paper_loss']:.3g}, N_Δ = {row['paper_n_delta']}); "
                      f"certified {row['outcome']:>9} at {row['steps']:>8} steps "
                      f"(L = {row['loss']:.3g}, N_Δ = {row['n_delta']})"
                      f": {ratio}")  # fmt: skip
    for rate in (LR, 10 * LR):
        ratios = [row["step_ratio"] for row in rows if row["lr"] == rate and row["step_ratio"] is not None]
        runs = sum(row["lr"] == rate for row in rows)
        median = f"median {np.median(ratios):.1f}× fewer steps" if ratios else "no run with the same outcome"
        print(f"lr {rate:.0e} held: {median} ({len(ratios)} of {runs} runs with the paper's outcome)")
    return rows


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--part", choices=("speed", "end", "all"), default="all")
    cli.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], default=[11, 51],
                     help="widths h = d of the speed part (L = 3: h = 11 → N ≈ 400, h = 51 → N ≈ 8000)")
    cli.add_argument("--steps", type=lambda s: [int(v) for v in s.split(",")], default=[20_000, 3000],
                     help="steps of each timing of the speed part, one per width (runs of seconds)")
    cli.add_argument("--budget", type=int, default=3_000_000, help="step budget of the certified runs")
    cli.add_argument("--json", help="also write the rows to this file")
    args = cli.parse_args()
    print(f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}, jax {jax.__version__}")
    rows = {}
    if args.part in ("speed", "all"):
        rows["speed"] = speed(args)
    if args.part in ("end", "all"):
        rows["end"] = end_states(args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=1)


if __name__ == "__main__":
    main()
