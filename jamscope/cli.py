"""Command line: ``jamscope <experiment> [options]``; results (netCDF) and figures (PNG) go to ``--out``."""

import argparse
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path

from .demo import jamming_demo

__all__ = ["main", "parser"]


def _widths(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--widths must be comma-separated integers, got {text!r}") from err
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--widths must be positive integers, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jamscope`` command (one sub-command per experiment)."""
    top = argparse.ArgumentParser(prog="jamscope", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="seed ensembles of ReLU nets across the jamming transition (random sphere data)",
        description="Train seed ensembles of ReLU FCNets of several widths at fixed P on random "
        "sphere data with the quadratic hinge (000 §III) and plot N_Δ/N and the final loss vs P/N.",
    )
    defaults = {name: p.default for name, p in inspect.signature(jamming_demo).parameters.items()}
    demo.add_argument("--out", type=Path, default=Path("out"), help="output directory (out)")
    for flag, kind, text in [
        ("n_train", _positive_int, "number P of training points"),
        ("dim", _positive_int, "input dimension d"),
        ("depth", _positive_int, "number L of hidden layers"),
        ("widths", _widths, "hidden widths h, comma-separated"),
        ("seeds", _positive_int, "networks per width (trained vmapped)"),
        ("steps", _positive_int, "maximum Adam steps"),
        ("lr", _positive_float, "initial Adam learning rate"),
        ("decay_every", _positive_int, "divide the learning rate by 10 every this many steps"),
        ("bias_scale", float, "scale β of the standard-normal biases"),
    ]:
        default = defaults[flag]
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        demo.add_argument("--" + flag.replace("_", "-"), type=kind, default=default, help=f"{text} ({shown})")
    demo.add_argument("--seed", type=int, default=0, help="PRNG seed of data and initialisations (0)")
    demo.add_argument("--x64", action="store_true", help="train in float64")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    return top


def _run_demo(args: argparse.Namespace) -> None:
    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    from .io import save_netcdf
    from .plot import jamming_demo_figure

    results = jamming_demo(
        jax.random.PRNGKey(args.seed),
        n_train=args.n_train, dim=args.dim, depth=args.depth, widths=args.widths, seeds=args.seeds,
        steps=args.steps, lr=args.lr, decay_every=args.decay_every, bias_scale=args.bias_scale,
        progress=not args.quiet,
    )  # fmt: skip
    path = save_netcdf(results, args.out / "jamming_demo.nc")
    figure = args.out / "jamming_demo.png"
    jamming_demo_figure(results).savefig(figure, dpi=130)
    print(f"wrote {path} and {figure}")
    ratio = results["n_delta"] / results["n_params"]
    for p_over_n, value in zip(results["p_over_n"].values, ratio.median("seed").values, strict=True):
        print(f"  P/N = {p_over_n:5.2f}   median N_Δ/N = {value:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jamscope`` console script."""
    args = parser().parse_args(argv)
    {"demo": _run_demo}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
