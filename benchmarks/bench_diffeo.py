"""Benchmark: deformed images per second, `jamscope.diffeo.deform` against scipy and NumPy loops.

    .venv/bin/python benchmarks/bench_diffeo.py            # batches of 32, 256, 1024 (a few minutes)
    .venv/bin/python benchmarks/bench_diffeo.py --quick    # 32 and 128 (< 1 minute on 2 CPU cores)
    .venv/bin/python benchmarks/bench_diffeo.py --float64 --json out/bench_diffeo.json

Workload: P random images (3, 32, 32), float32 (``--float64``: float64), one maximum-entropy field
per image, ``MaxEntDiffeo(T, c = 3)`` with T = ``temperature_for(1.0, 3, 32)`` (δ = 1 pixel, thesis
ch. 4 eq. 3). In one process, on the same inputs:

- jamscope: ``jax.jit(deform)`` (interpolation static) for "bilinear", "gaussian" and "nearest",
  images and fields as arguments;
- baselines, with the same clamped source points (clip(r − τ_v, 0, H − 1), clip(c − τ_u, 0, W − 1)):
  a Python loop over images and channels calling ``scipy.ndimage.map_coordinates(mode="nearest")``,
  ``order=1`` for bilinear and ``order=0`` for nearest; for the Gaussian, a loop over images
  evaluating eq. 16 with NumPy as separable sums over all rows and columns, and also scipy's
  ``order=1`` loop, the cheapest remap of the reference tool (a different output: no check);
- field sampling, ``jax.jit(MaxEntDiffeo.sample)(key, 32, count=P)``, as its own row.

Every path: one first call (compile, reported), then the best of `--repeat` calls, each ending in
``block_until_ready`` (``timing.timed``). Printed: the device and versions, images per second,
jamscope / baseline, and the max |Δ| of jamscope's images to the bilinear and eq. 16 baselines; the
script exits non-zero unless it is below 1e-5 (float32; 1e-10 in float64). The nearest row is not
checked: at exact .5 ties jamscope rounds half to even, scipy half up. Speed targets live here,
not in the tests.
"""

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy
from scipy.ndimage import map_coordinates

from jamscope import diffeo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import timed  # noqa: E402  (benchmarks/timing.py)

N, CHANNELS, CUTOFF = 32, 3, 3
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
JAMSCOPE_BUDGET_S, BASELINE_BUDGET_S = 5.0, 2.0


def sources(field: np.ndarray) -> list[np.ndarray]:
    """[rows, cols] of the source points s − τ(s), clamped to the image, in the field's dtype."""
    grid = np.arange(N, dtype=field.dtype)
    return [np.clip(grid[:, None] - field[1], 0, N - 1), np.clip(grid[None, :] - field[0], 0, N - 1)]


def scipy_remap(order: int):
    def remap(images: np.ndarray, fields: np.ndarray) -> np.ndarray:
        out = np.empty_like(images)
        for i, (image, field) in enumerate(zip(images, fields, strict=True)):
            coords = sources(field)
            for c, channel in enumerate(image):
                out[i, c] = map_coordinates(channel, coords, order=order, mode="nearest")
        return out

    return remap


def numpy_gaussian(images: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """Eq. 16, Σ_i x(s_i) G(s − s_i) / Σ_i G(s − s_i) over all pixels (G separable), image by image."""
    out = np.empty_like(images)
    grid = np.arange(N, dtype=images.dtype)
    two_sigma2 = 2 * diffeo.GAUSSIAN_SIGMA**2
    for i, (image, field) in enumerate(zip(images, fields, strict=True)):
        rows, cols = sources(field)
        wr = np.exp(-((rows[..., None] - grid) ** 2) / two_sigma2)  # (H, W, H)
        wc = np.exp(-((cols[..., None] - grid) ** 2) / two_sigma2)  # (H, W, W)
        out[i] = np.einsum("hwa,cab,hwb->chw", wr, image, wc, optimize=True) / (wr.sum(-1) * wc.sum(-1))
    return out


# interpolation -> [(baseline, function, checked against jamscope)]
BASELINES = {
    "bilinear": [("scipy map_coordinates order=1", scipy_remap(1), True)],
    "gaussian": [
        ("numpy eq. 16, all pixels", numpy_gaussian, True),
        ("scipy map_coordinates order=1", scipy_remap(1), False),
    ],
    "nearest": [("scipy map_coordinates order=0", scipy_remap(0), False)],
}


def throughput(fn, args, p: int, repeat: int, budget_s: float):
    """(first call in s, best images per second, output as NumPy) of ``fn(*args)``."""
    first, best, _, out = timed(lambda: fn(*args), repeat, budget_s)
    return first, p / best, np.asarray(out)


def run_batch(p: int, dtype, repeat: int) -> list[dict]:
    key_x, key_t = jax.random.split(jax.random.PRNGKey(p))
    diffeos = diffeo.MaxEntDiffeo(diffeo.temperature_for(1.0, CUTOFF, N), CUTOFF)
    images = jax.random.normal(key_x, (p, CHANNELS, N, N), dtype)
    fields = diffeos.sample(key_t, N, count=p).astype(dtype)
    host = (np.asarray(images), np.asarray(fields))
    deform = jax.jit(diffeo.deform, static_argnames="interpolation")
    measured = {}  # baseline name -> (images/s, output): scipy order=1 serves two rows
    rows = []
    for interpolation, baselines in BASELINES.items():
        fn = partial(deform, interpolation=interpolation)
        first, rate, out = throughput(fn, (images, fields), p, repeat, JAMSCOPE_BUDGET_S)
        for name, baseline, checked in baselines:
            if name not in measured:
                measured[name] = throughput(baseline, host, p, repeat, BASELINE_BUDGET_S)[1:]
            base_rate, expected = measured[name]
            rows.append({
                "interpolation": interpolation, "P": p, "jamscope_img_s": rate, "first_call_s": first,
                "baseline": name, "baseline_img_s": base_rate, "ratio": rate / base_rate,
                "max_abs_diff": float(np.max(np.abs(out - expected))) if checked else None,
            })  # fmt: skip
    sample = jax.jit(diffeo.MaxEntDiffeo.sample, static_argnames=("n", "count"))
    fn = partial(sample, n=N, count=p)
    first, rate, _ = throughput(fn, (diffeos, jax.random.PRNGKey(1)), p, repeat, JAMSCOPE_BUDGET_S)
    rows.append({"interpolation": "sample (fields)", "P": p, "jamscope_img_s": rate, "first_call_s": first})
    return rows


def table(rows: list[dict]) -> str:
    head = (f"{'interpolation':<15} {'P':>5} {'jamscope img/s':>14} {'1st call s':>10}  {'baseline':<29} "
            f"{'img/s':>7} {'ratio':>7} {'max |Δ|':>8}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for r in rows:
        line = f"{r['interpolation']:<15} {r['P']:>5} {r['jamscope_img_s']:>14.0f} {r['first_call_s']:>10.2f}"
        if "baseline" in r:
            diff = "–" if r["max_abs_diff"] is None else f"{r['max_abs_diff']:.1e}"
            line += f"  {r['baseline']:<29} {r['baseline_img_s']:>7.0f} {r['ratio']:>6.1f}× {diff:>8}"
        lines.append(line)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="batches of 32 and 128 only (smoke test)")
    parser.add_argument("--float64", action="store_true", help="float64 images and fields")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls after the first (best kept)")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", args.float64)
    dtype = jnp.float64 if args.float64 else jnp.float32
    batches = (32, 128) if args.quick else (32, 256, 1024)

    print(f"device {jax.devices()[0]} ({jax.devices()[0].device_kind}); jax {jax.__version__}, "
          f"scipy {scipy.__version__}, numpy {np.__version__}; images (P, {CHANNELS}, {N}, {N}) "
          f"{jnp.dtype(dtype).name}, c = {CUTOFF}, δ = 1 pixel", flush=True)  # fmt: skip
    rows = []
    for p in batches:
        rows += run_batch(p, dtype, args.repeat)
        print(f"  P = {p} done", flush=True)
    print()
    print(table(rows))

    tolerance = TOLERANCE[jnp.dtype(dtype).name]
    worst = max(r["max_abs_diff"] for r in rows if r.get("max_abs_diff") is not None)
    print(f"\nlargest max |Δ| to the bilinear and eq. 16 baselines: {worst:.1e} (tolerance {tolerance:g})")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))
    if worst >= tolerance:
        print("jamscope and the baselines disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
