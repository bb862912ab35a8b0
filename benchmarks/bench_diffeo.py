"""Benchmark: deformed images per second, jamscope.diffeo.deform against a scipy loop.

    python benchmarks/bench_diffeo.py            # batches of 32, 256, 1024 images (3, 32, 32)
    python benchmarks/bench_diffeo.py --quick    # 32 and 256 images, < 1 minute

Workload: P colour images (3, 32, 32) in float32, one max-entropy field per image at c = 3 and the
T of δ = 1 pixel (thesis ch. 4 eq. 3). In one process, on the same inputs:

- jamscope: ``jax.jit(deform)`` (bilinear, Gaussian, nearest), images and fields as arguments;
- baselines: a Python loop over images and channels calling ``scipy.ndimage.map_coordinates``
  (``order=1``: bilinear, ``mode="nearest"`` on the clamped source points, the reference tool for
  remapping); for the Gaussian, a NumPy loop over images evaluating eq. 16 as separable sums over
  all rows and columns (scipy has no Gaussian-weighted remap);
- field sampling ``MaxEntDiffeo.sample`` (jitted) as its own row.

Correctness is checked once per interpolation (max abs difference to the baseline, must be below
1e-4 in float32) and the script exits non-zero otherwise. Times exclude compilation (reported
apart); the best of the repeats is kept. Speed targets live here, not in the tests.
"""

import argparse
import sys

import jax
import jax.numpy as jnp
import numpy as np
from scipy.ndimage import map_coordinates
from timing import timed

from jamscope import diffeo

N, CHANNELS, CUTOFF = 32, 3, 3.0


def workload(p: int, dtype):
    key_x, key_t = jax.random.split(jax.random.PRNGKey(p))
    images = jax.random.normal(key_x, (p, CHANNELS, N, N), dtype)
    d = diffeo.MaxEntDiffeo(diffeo.temperature_for(1.0, CUTOFF, N), CUTOFF)
    return images, d.sample(key_t, N, count=p).astype(dtype), d


def sources(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = np.clip(np.arange(N)[:, None] - field[1], 0, N - 1)
    cols = np.clip(np.arange(N)[None, :] - field[0], 0, N - 1)
    return rows, cols


def scipy_bilinear(images: np.ndarray, fields: np.ndarray) -> np.ndarray:
    out = np.empty_like(images)
    for i, (image, field) in enumerate(zip(images, fields, strict=True)):
        coords = sources(field)
        for c in range(image.shape[0]):
            out[i, c] = map_coordinates(image[c], coords, order=1, mode="nearest")
    return out


def numpy_gaussian(images: np.ndarray, fields: np.ndarray) -> np.ndarray:
    """Eq. 16 with separable weights over all rows and columns, one image at a time."""
    out = np.empty_like(images)
    grid = np.arange(N)
    two_sigma2 = 2 * diffeo.GAUSSIAN_SIGMA**2
    for i, (image, field) in enumerate(zip(images, fields, strict=True)):
        rows, cols = sources(field)
        wr = np.exp(-((rows[..., None] - grid) ** 2) / two_sigma2)  # (H, W, H)
        wc = np.exp(-((cols[..., None] - grid) ** 2) / two_sigma2)  # (H, W, W)
        value = np.einsum("hwa,cab,hwb->chw", wr, image, wc, optimize=True)
        out[i] = value / (wr.sum(-1) * wc.sum(-1))[None]
    return out


BASELINES = {"bilinear": scipy_bilinear, "gaussian": numpy_gaussian, "nearest": None}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="batches of 32 and 256 only")
    parser.add_argument("--float64", action="store_true", help="float64 instead of float32")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", args.float64)
    dtype = jnp.float64 if args.float64 else jnp.float32
    batches = (32, 256) if args.quick else (32, 256, 1024)
    device = jax.devices()[0].device_kind
    print(f"jax {jax.__version__} on {device}; images (P, 3, 32, 32) {jnp.dtype(dtype).name}")
    deform = jax.jit(diffeo.deform, static_argnames="interpolation")
    columns = ("interpolation", "P", "jamscope img/s", "compile s", "baseline img/s", "ratio")
    print(" ".join(f"{c:>{w}}" for c, w in zip(columns, (13, 5, 15, 10, 15, 7), strict=True)))
    ok = True
    for p in batches:
        images, fields, d = workload(p, dtype)
        x_np, t_np = np.asarray(images), np.asarray(fields)
        for interpolation, baseline in BASELINES.items():
            run = lambda x=images, t=fields, how=interpolation: deform(x, t, interpolation=how)  # noqa: E731
            first, best, _, out = timed(run, args.repeat)
            rate = p / best
            if baseline is None:
                print(f"{interpolation:>13} {p:5d} {rate:15.0f} {first - best:10.2f} {'–':>15} {'–':>7}")
                continue
            budget = 2.0 if p > 32 else float("inf")
            _, base_best, _, expected = timed(lambda: baseline(x_np, t_np), 2, budget)  # noqa: B023
            error = float(np.max(np.abs(np.asarray(out) - expected)))
            ok &= error < 1e-4
            print(f"{interpolation:>13} {p:5d} {rate:15.0f} {first - best:10.2f} {p / base_best:15.0f} "
                  f"{base_best / best:7.1f}   max |Δ| = {error:.1e}")  # fmt: skip
        sample = jax.jit(lambda k, d=d, p=p: d.sample(k, N, count=p))
        first, best, _, _ = timed(lambda: sample(jax.random.PRNGKey(1)), args.repeat)  # noqa: B023
        print(f"{'fields':>13} {p:5d} {p / best:15.0f} {first - best:10.2f}")
    if not ok:
        print("jamscope and the baselines disagree", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
