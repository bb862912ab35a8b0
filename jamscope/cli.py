"""Command line: ``jamscope jamming [options]``; results (netCDF) and figures (PNG) go to ``--out``.

``jamscope jamming`` runs the sweep of [`jamscope.sweep`][jamscope.sweep] at its quick defaults
(minutes on 2 cores; `make demo`), or at the paper's sizes with ``--paper`` (a GPU). Any option
overrides the chosen preset. Interrupted runs resume from the results file.
"""

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from .sweep import PAPER, QUICK, SweepConfig

__all__ = ["main", "parser"]


def _ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from err
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
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


_OPTIONS = [  # (field of SweepConfig, parser, help)
    ("n_train", _ints, "training-set sizes P, comma-separated"),
    ("depths", _ints, "depths L (hidden layers), comma-separated"),
    ("p_over_n", _floats, "target ratios P/N; widths are chosen to hit them"),
    ("dim", _positive_int, "input dimension d"),
    ("activation", str, "relu or tanh"),
    ("data", str, "sphere (random, 000 §III), digits (embedded, PCA) or mnist (local files, PCA)"),
    ("data_root", str, "folder with the MNIST IDX files (--data mnist)"),
    ("seeds", _positive_int, "networks per point, trained vmapped"),
    ("steps", _positive_int, "Adam step budget per run"),
    ("lr", _positive_float, "initial Adam learning rate"),
    ("decay_every", _positive_int, "divide the learning rate by 10 every this many steps"),
    ("lr_floor", float, "smallest learning rate"),
    ("bias_scale", float, "scale β of the biases"),
    ("spectra_max_n", _positive_int, "largest N with dense Hessian spectra"),
    ("seed", int, "PRNG seed of data and initialisations"),
]


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jamscope`` command (one sub-command per experiment)."""
    top = argparse.ArgumentParser(prog="jamscope", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    jam = commands.add_parser(
        "jamming",
        help="the jamming transition: N_Δ/N, N*, spectra and gap distributions (000 Figs. 5c–8)",
        description="Sweep P/N around the jamming transition for several depths (000 §III–VI); "
        "write jamming.nc and the figures of 000 Figs. 5c, 6, 7 and 8 to --out.",
    )
    jam.add_argument("--out", type=Path, default=Path("out"), help="output directory (out)")
    jam.add_argument("--paper", action="store_true", help="the paper's sizes (N ≈ 8000, d = h; GPU)")
    for field, kind, text in _OPTIONS:
        default = getattr(QUICK, field)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        jam.add_argument("--" + field.replace("_", "-"), type=kind, default=None, help=f"{text} ({shown})")
    jam.add_argument(
        "--float32",
        action="store_true",
        help="train in float32 (default float64, the papers' precision: in float32 Δ is resolved to ~1e-7)",
    )
    jam.add_argument("--quiet", action="store_true", help="no progress bar")
    return top


def config_from(args: argparse.Namespace) -> SweepConfig:
    """The preset (quick or ``--paper``) with every option given on the command line applied."""
    preset = PAPER if args.paper else QUICK
    changes = {field: getattr(args, field) for field, _, _ in _OPTIONS if getattr(args, field) is not None}
    return dataclasses.replace(preset, **changes)


def _run_jamming(args: argparse.Namespace) -> None:
    import jax

    jax.config.update("jax_enable_x64", not args.float32)
    from .report import jamming_report

    try:
        config = config_from(args)
    except ValueError as err:
        parser().error(str(err))
    args.out.mkdir(parents=True, exist_ok=True)
    print(jamming_report(config, args.out, progress=not args.quiet))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jamscope`` console script."""
    args = parser().parse_args(argv)
    {"jamming": _run_jamming}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
