"""The spectra of H, H0 and Hp of a ReLU network near jamming (000 §V, Fig. 7), and N_eff (App. A).

python examples/hessian_spectra.py                   # N = 210, P = 450: ~20 s on 2 cores (dense)
python examples/hessian_spectra.py --smoke           # seconds, for the test suite
python examples/hessian_spectra.py --width 60 --n-train 9000 --matrix-free   # N ≈ 4300, SLQ

Trains an FCNet (ReLU, orthogonal init) on random sphere data with the quadratic hinge (full-batch
Adam, constant lr unless --decay-every), then writes to --out:
- hessian_spectra.nc: the eigenvalues of H, H0, Hp (dense) or their SLQ densities (--matrix-free),
  with N, P, L, N_Δ, N_eff and the summaries (zero modes, C0, skewness) as attributes;
- hessian_spectra.png: the four panels of 000 Fig. 7 (dense) or the SLQ densities.
"""

import argparse
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import jamscope as js  # noqa: E402
from jamscope import curvature  # noqa: E402
from jamscope.experiments.jamming import hessian_spectra_figure  # noqa: E402


def trained_model(args):
    key = jax.random.PRNGKey(args.seed)
    data_key, model_key = jax.random.split(key)
    data = js.data.random_sphere(data_key, args.n_train, args.dim)
    model = js.FCNet(
        model_key, args.dim, args.width, args.depth, "relu", init="orthogonal", dtype=jnp.float64
    )
    loss = js.QuadraticHinge(margin=0.5)
    model, history = js.train.adam(
        model, loss, data, steps=args.steps, lr=args.lr, decay_every=args.decay_every, progress=not args.smoke
    )
    return model, loss, data, history


def dense(model, loss, data, history, args) -> xr.Dataset:
    parts = curvature.decompose(loss, model, data)
    eig = {name: np.asarray(curvature.spectrum(getattr(parts, name))) for name in ("h", "h0", "hp")}
    summaries = curvature.hessian_summaries(parts, rtol=args.zero_rtol)
    attrs = {
        f"{name}_{field}": float(getattr(s, field))
        for name, s in summaries.items()
        for field in ("n_zero", "n_negative", "c0", "skewness", "gap")
    }
    fig = hessian_spectra_figure(
        eig["h"], eig["h0"], eig["hp"], float(history.loss[-1]), zero_rtol=args.zero_rtol, n_bins=25
    )
    fig.savefig(args.out / "hessian_spectra.png", dpi=120)
    return xr.Dataset({name: ("mode", values) for name, values in eig.items()}, attrs=attrs)


def matrix_free(model, loss, data, args) -> xr.Dataset:
    key = jax.random.PRNGKey(args.seed + 1)
    out, fig = {}, plt.figure(figsize=(5, 3.5), constrained_layout=True)
    for name in ("h", "h0", "hp"):
        matvec, n = curvature.operator(loss, model, data, name)
        density = curvature.spectral_density(
            matvec, n, key, num_probes=args.probes, krylov_depth=args.depth_slq
        )
        out[name] = xr.DataArray(
            np.asarray(density.density), coords={f"lambda_{name}": np.asarray(density.grid)}
        )
        plt.semilogy(density.grid, density.density, label=name)
    plt.legend(frameon=False)
    plt.xlabel(r"$\lambda$")
    plt.ylabel(r"$\rho(\lambda)$ (SLQ)")
    fig.savefig(args.out / "hessian_spectra.png", dpi=120)
    return xr.Dataset(out)


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--out", type=Path, default=Path("out/examples"))
    cli.add_argument("--smoke", action="store_true", help="tiny sizes, for tests")
    cli.add_argument("--n-train", type=int, default=450)
    cli.add_argument("--dim", type=int, default=10)
    cli.add_argument("--width", type=int, default=10)
    cli.add_argument("--depth", type=int, default=2)
    cli.add_argument("--steps", type=int, default=10_000)
    cli.add_argument("--decay-every", type=int, default=None, help="lr ÷ 10 every this many steps (none)")
    cli.add_argument("--lr", type=float, default=1e-2)
    cli.add_argument("--seed", type=int, default=1)
    cli.add_argument("--zero-rtol", type=float, default=1e-9, help="zero modes: |λ| ≤ rtol · max|λ|")
    cli.add_argument("--matrix-free", action="store_true", help="SLQ densities instead of dense spectra")
    cli.add_argument("--probes", type=int, default=8, help="SLQ probes (--matrix-free)")
    cli.add_argument("--depth-slq", type=int, default=80, help="Lanczos steps per probe (--matrix-free)")
    args = cli.parse_args()
    if args.smoke:
        args.n_train, args.width, args.steps, args.probes, args.depth_slq = 60, 4, 400, 2, 20
    args.out.mkdir(parents=True, exist_ok=True)
    model, loss, data, history = trained_model(args)
    results = (
        matrix_free(model, loss, data, args) if args.matrix_free else dense(model, loss, data, history, args)
    )
    n_eff = curvature.n_eff(model, data)
    results.attrs.update(
        n_params=js.nets.n_params(model),
        n_train=args.n_train,
        depth=args.depth,
        loss=float(history.loss[-1]),
        n_delta=int(history.n_unsatisfied[-1]),
        n_eff=int(n_eff.rank),
    )
    js.io.save_netcdf(results, args.out / "hessian_spectra.nc")
    print(
        {key: round(value, 4) if isinstance(value, float) else value for key, value in results.attrs.items()}
    )


if __name__ == "__main__":
    main()
