"""Command line: ``jamscope <experiment> [options]``; results (netCDF) and figures (PNG) go to ``--out``.

``jamscope jamming`` runs the sweep of [`jamscope.sweep`][jamscope.sweep] (`make demo`),
``jamscope regimes`` the lazy/feature and fluctuation sweep of [`jamscope.regimes`][jamscope.regimes]
``jamscope diffeo`` the relative stability to diffeomorphisms of
[`jamscope.diffeo_sweep`][jamscope.diffeo_sweep], ``jamscope kernels`` the kernel learning curves of
[`jamscope.kernel_sweep`][jamscope.kernel_sweep] and ``jamscope aging`` the aging of SGD of
[`jamscope.aging_sweep`][jamscope.aging_sweep], each at its quick defaults (minutes on 2 cores), or
at the paper's sizes with ``--paper`` (a GPU).
Any option overrides the chosen preset. Interrupted runs resume from the results file.
"""

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import jax

from .sweep import PAPER, QUICK, REFERENCE

__all__ = ["main", "parser", "example_main"]


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


_NONE = "none"


def _optional_int(text: str) -> int | str:
    return _NONE if text.lower() == _NONE else _positive_int(text)


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _ints_or_empty(text: str) -> tuple[int, ...]:
    return () if text.lower() == _NONE else _ints(text)


def _optional_float(text: str) -> float | str:
    return _NONE if text.lower() == _NONE else _positive_float(text)


def _yes_no(text: str) -> bool:
    if text.lower() not in ("yes", "no"):
        raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")
    return text.lower() == "yes"


_JAMMING_OPTIONS = [  # (field of SweepConfig, parser, help)
    ("sizes", _ints, "target numbers of weights N (one width per depth and size), comma-separated"),
    ("depths", _ints, "depths L (hidden layers), comma-separated"),
    ("p_over_n", _floats, "ratios P/N of the training sets of each size"),
    ("parametrization", str, "standard (000: orthogonal init, zero biases) or ntk (FCNet)"),
    ("dim", _optional_int, "input dimension d ('none': d = h, as in 000)"),
    ("activation", str, "relu or tanh"),
    ("data", str, "sphere (random, 000 §III), digits (embedded, PCA) or mnist (local files, PCA)"),
    ("data_root", str, "folder with the MNIST IDX files (--data mnist)"),
    ("seeds", _positive_int, "networks per point, trained vmapped"),
    ("steps", _positive_int, "Adam step budget per run"),
    ("lr", _positive_float, "Adam learning rate"),
    ("decay_every", _optional_int, "divide the learning rate by 10 every this many steps ('none': constant)"),
    ("lr_floor", float, "smallest learning rate"),
    ("plateau", _positive_float, "a run is jammed when its loss fell less than this fraction over a decade"),
    ("min_steps", _positive_int, "no run is judged jammed before this step"),
    ("n_records", _positive_int, "log-spaced records of every trajectory"),
    ("newton", _yes_no, "yes: also run the Newton test on runs that did not fit (smooth activations)"),
    ("bias_scale", float, "scale β of the biases (ntk parametrization)"),
    ("spectra_max_n", _positive_int, "largest N with dense Hessian spectra"),
    ("seed", int, "PRNG seed of data and initialisations"),
]

_REGIMES_OPTIONS = [  # (field of RegimesConfig, parser, help)
    ("data", str, "digits (embedded), stripe (001 §5), or mnist, fashion, cifar10 (local files)"),
    ("data_root", str, "folder with the local data files (default $JAMSCOPE_DATA)"),
    ("n_train", _positive_int, "training-set size P"),
    ("n_test", _positive_int, "test-set size"),
    ("pca_dim", _optional_int, "PCA components of the images ('none': all pixels)"),
    ("dim", _positive_int, "input dimension of the stripe data"),
    ("depth", _positive_int, "hidden layers L"),
    ("widths", _ints, "widths h of the (h, α√h) grid, comma-separated"),
    ("scaled_scales", _floats, "values of α√h, comma-separated"),
    ("fluctuation_widths", _ints, "widths of the fluctuation sweep at fixed α (004)"),
    ("fluctuation_scale", _positive_float, "α of the fluctuation sweep"),
    ("seeds", _positive_int, "networks per point (the ensemble), trained vmapped"),
    ("steps", _positive_int, "gradient-flow step budget per run"),
    ("kernel_points", _positive_int, "test inputs on which the NTK change is measured"),
    ("seed", int, "PRNG seed of data and initialisations"),
]


_DIFFEO_OPTIONS = [  # (field of DiffeoConfig, parser, help)
    ("data", str, "digits (embedded), or mnist, fashion, cifar10 (local files)"),
    ("data_root", str, "folder with the local data files (default $JAMSCOPE_DATA)"),
    ("image_size", _positive_int, "side of the digits images in pixels (resized from 8)"),
    ("n_train", _ints, "training-set sizes P, comma-separated"),
    ("n_test", _positive_int, "test-set size"),
    ("n_probes", _positive_int, "test images probed for D_f, G_f, R_f"),
    ("architectures", _names, "fc and/or cnn, comma-separated"),
    ("fc_width", _positive_int, "width of the FC net"),
    ("fc_depth", _positive_int, "hidden layers of the FC net"),
    ("cnn_channels", _positive_int, "channels of the small CNN"),
    ("seeds", _positive_int, "networks per point, trained vmapped"),
    ("steps", _positive_int, "Adam steps (full batch)"),
    ("lr", _positive_float, "Adam learning rate"),
    ("cutoff", _positive_float, "cutoff c of the probing diffeomorphisms"),
    ("delta", _positive_float, "typical displacement δ in pixels (eq. 3)"),
    ("interpolation", str, "bilinear, gaussian or nearest"),
    ("field_cutoffs", _floats, "cutoffs of the field statistics and of the (T, c) grid"),
    ("field_samples", _positive_int, "fields per (c, T) for δ and max Ξ"),
    ("stripe_n_train", _ints_or_empty, "training-set sizes of the stripe model ('none': skip it)"),
    ("stripe_dim", _positive_int, "input dimension of the stripe model"),
    ("stripe_width", _positive_int, "hidden width of the stripe model's net"),
    ("stripe_steps", _positive_int, "gradient-flow steps of the stripe model"),
    ("seed", int, "PRNG seed of data, initialisations, fields and noise"),
]


_KERNELS_OPTIONS = [  # (field of KernelsConfig, parser, help)
    ("dims", _ints, "dimensions d of the spheres S^d of the teacher–student curves"),
    ("teachers", _names, "teacher kernels: laplace and/or gaussian (the student is Laplace, σ = d)"),
    ("ns", _ints, "training-set sizes n of the teacher–student curves"),
    ("n_test", _positive_int, "test points of the teacher–student curves"),
    ("repeats", _positive_int, "random point sets per teacher–student curve"),
    ("sample_teacher", _yes_no, "yes: sample one teacher per repeat (the paper); no: exact teacher average"),
    ("fit_low", _positive_int, "smallest n of the teacher–student β fits"),
    ("data", str, "digits (embedded), or mnist, cifar10 (local files)"),
    ("data_root", str, "folder with the local data files (default $JAMSCOPE_DATA)"),
    ("data_kernels", _names, "kernels of the real-data curves: laplace and/or gaussian"),
    ("data_sigma", _optional_float, "kernel length σ on the data ('none': the median distance)"),
    ("data_ns", _ints, "training-set sizes n of the real-data curves"),
    ("data_n_test", _positive_int, "test points of the real-data curves"),
    ("data_repeats", _positive_int, "random subsets per real-data curve"),
    ("tasks", _names, "regression and/or classification (SVM, C = 10⁴)"),
    ("data_fit_low", _positive_int, "smallest n of the real-data β fits"),
    ("kpca_points", _positive_int, "points ñ of the kernel PCA (eq. 14)"),
    ("sphere_dims", _ints, "dimensions of the spheres of the nearest-neighbour curves"),
    ("sphere_ns", _ints, "subset sizes of the nearest-neighbour curves on spheres"),
    ("nn_repeats", _positive_int, "random subsets per nearest-neighbour curve"),
    ("data_nn_ns", _ints, "subset sizes of the nearest-neighbour curve of the data"),
    ("seed", int, "PRNG seed of points, teachers and subsets"),
]


_AGING_OPTIONS = [  # (field of AgingConfig, parser, help)
    ("data", _names, "synthetic (2-D, 4 classes, LJAT19 stand-in), digits (MNIST stand-in), mnist (local)"),
    ("data_root", str, "folder with the local data files (default $JAMSCOPE_DATA)"),
    ("depths", _ints, "hidden layers H, comma-separated"),
    ("runs", _positive_int, "networks per depth, trained vmapped"),
    ("n_params", _optional_int, "target parameter count P ('none': 72 synthetic, 175 digits, 4000 mnist)"),
    ("steps", _optional_int, "SGD steps ('none': 150000 synthetic, 100000 digits, 300000 mnist)"),
    ("batch_size", _optional_int, "mini-batch size ('none': 100 synthetic, 50 digits and mnist)"),
    ("n_train", _optional_int, "training-set size N ('none': 1000 synthetic, 1500 digits, 60000 mnist)"),
    ("lr", _positive_float, "SGD learning rate"),
    ("weight_decay", float, "λ of the L2 term λ‖θ‖² (eq. 1)"),
    ("init", str, "xavier_uniform (Keras, 003) or lecun_normal"),
    ("n_waiting", _positive_int, "log-spaced waiting times t_w"),
    ("n_lags", _positive_int, "log-spaced lags t"),
    ("first_waiting", _positive_int, "smallest t_w"),
    ("delta_star", _positive_float, "Δ* of the relaxation time t*"),
    ("fit_low", _positive_int, "smallest t_w of the μ fit"),
    ("gradient_after", int, "the gradient-norm RMS is taken over steps above this"),
    ("hessian_points", _positive_int, "snapshots with a full Hessian spectrum"),
    ("hessian_runs", int, "runs with Hessian spectra"),
    ("n_records", _positive_int, "log-spaced steps of loss and accuracy (plus the snapshot steps)"),
    ("seed", int, "PRNG seed of data, initializations and batches"),
]


@dataclasses.dataclass(frozen=True)
class _Experiment:
    quick: object
    paper: object
    options: list
    help: str
    description: str
    paper_help: str
    float64: bool = True
    reference: object = None
    reference_help: str = ""


def _experiments() -> dict[str, _Experiment]:
    from .aging_sweep import PAPER as AGING_PAPER
    from .aging_sweep import QUICK as AGING_QUICK
    from .diffeo_sweep import PAPER as DIFFEO_PAPER
    from .diffeo_sweep import QUICK as DIFFEO_QUICK
    from .kernel_sweep import PAPER as KERNELS_PAPER
    from .kernel_sweep import QUICK as KERNELS_QUICK
    from .regimes import PAPER as REGIMES_PAPER
    from .regimes import QUICK as REGIMES_QUICK

    return {
        "jamming": _Experiment(
            QUICK, PAPER, _JAMMING_OPTIONS,
            "the jamming transition: N_Δ/N, N*, spectra and gap distributions (000 Figs. 5c–8)",
            "Sweep P/N around the jamming transition for several depths and sizes (000 §III–VI), every "
            "run ending fitted, jammed (certified), frozen (dead units) or undecided; write jamming.nc and "
            "the figures of 000 Figs. 5c, 6, 7 and 8 to --out.",
            "the paper's sizes (N ≈ 8000, d = h, up to 10⁷ steps; GPU)",
            reference=REFERENCE,
            reference_help="the finite-size study: N ≈ 100, 200, 400 (P* ≈ 250–1000), L = 2, 3",
        ),
        "regimes": _Experiment(
            REGIMES_QUICK, REGIMES_PAPER, _REGIMES_OPTIONS,
            "lazy vs feature learning, the NTK change, fluctuations and ensembles (thesis ch. 3, 001, 004)",
            "Train centered softplus nets by gradient flow over (h, α√h) and over widths at fixed α; "
            "write regimes.nc, regimes.png (thesis ch. 3 Figs. 3–5, 001 Fig. 4) and fluctuations.png "
            "(004 Figs. 2, 5, 7) to --out.",
            "001 Fig. 4's sizes (MNIST-10PCA, P = 5000, 15 nets; GPU, local MNIST files)",
        ),
        "diffeo": _Experiment(
            DIFFEO_QUICK, DIFFEO_PAPER, _DIFFEO_OPTIONS,
            "diffeomorphisms and relative stability R_f = D_f/G_f against P (thesis ch. 4)",
            "Sample max-entropy diffeomorphisms, measure δ and max Ξ over (c, T), train FC and CNN nets on "
            "images and the stripe model for several P, and write diffeo.nc, diffeo_fields.nc and the "
            "figures of thesis ch. 4 Figs. 1, 3, 6, 7, 8 to --out.",
            "MNIST sizes (P up to 32768, 16 nets; GPU, local MNIST files)",
            float64=False,
        ),
        "kernels": _Experiment(
            KERNELS_QUICK, KERNELS_PAPER, _KERNELS_OPTIONS,
            "kernel learning curves: teacher–student β(d), real data, kernel PCA, d_eff (thesis ch. 6)",
            "Measure learning curves of kernel regression for Laplace and Gaussian teachers on spheres S^d, "
            "of regression and SVM on real data, the kernel-PCA tail and the effective dimension; write "
            "kernels.nc and the figures of thesis ch. 6 Figs. 1–4 to --out.",
            "the paper's sizes (n up to 8192, MNIST from local files; GPU)",
        ),
        "aging": _Experiment(
            AGING_QUICK, AGING_PAPER, _AGING_OPTIONS,
            "aging of SGD: MSD Δ(t_w, t_w + t), t*(t_w) and the subaging exponent μ (003)",
            "Train small tanh networks by SGD at fixed P for H = 1, 2, 3, store θ at log-spaced t_w + t, and "
            "write aging_<data>.nc, the MSD, t*(t_w) and μ figures (003 Figs. 2, 5, 6) and the loss, "
            "accuracy, gradient-norm and Hessian figures (Figs. 1, 4, 7, A.1, A.3) to --out.",
            "003's sizes (MNIST from local files, 3·10⁵ steps, 50 runs; GPU)",
            float64=False,
        ),
    }  # fmt: skip


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jamscope`` command (one sub-command per experiment)."""
    top = argparse.ArgumentParser(prog="jamscope", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    for name, experiment in _experiments().items():
        sub = commands.add_parser(name, help=experiment.help, description=experiment.description)
        sub.add_argument("--out", type=Path, default=Path("out"), help="output directory (out)")
        presets = sub.add_mutually_exclusive_group()
        presets.add_argument("--paper", action="store_true", help=experiment.paper_help)
        if experiment.reference is not None:
            presets.add_argument("--reference", action="store_true", help=experiment.reference_help)
        for field, kind, text in experiment.options:
            default = getattr(experiment.quick, field)
            shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
            sub.add_argument(
                "--" + field.replace("_", "-"), type=kind, default=None, help=f"{text} ({shown})"
            )
        if experiment.float64:
            sub.add_argument(
                "--float32",
                action="store_true",
                help="compute in float32 (default float64: gaps Δ, kernel changes and spectra need it)",
            )
        else:
            sub.add_argument("--float64", action="store_true", help="compute in float64 (default float32)")
        if name != "kernels":  # the kernel experiment trains no networks
            sub.add_argument(
                "--devices",
                type=_positive_int,
                default=None,
                help="split each seed ensemble over the first N devices (all; 1: plain vmap)",
            )
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
    return top


def _mesh(n_devices: int | None):
    """The ensemble mesh over the first `n_devices` devices (all by default); None for one device."""
    import jax

    from .ensemble import ensemble_mesh

    devices = jax.devices()
    n = len(devices) if n_devices is None else n_devices
    if n > len(devices):
        parser().error(f"--devices {n}: only {len(devices)} devices are available")
    return ensemble_mesh(devices[:n]) if n > 1 else None


def config_from(args: argparse.Namespace):
    """The preset (quick, ``--paper`` or ``--reference``) of the sub-command with every option given on
    the command line applied: a [`SweepConfig`][jamscope.sweep.SweepConfig], a
    [`RegimesConfig`][jamscope.regimes.RegimesConfig], a
    [`DiffeoConfig`][jamscope.diffeo_sweep.DiffeoConfig], a
    [`KernelsConfig`][jamscope.kernel_sweep.KernelsConfig] or an
    [`AgingConfig`][jamscope.aging_sweep.AgingConfig]."""
    experiment = _experiments()[args.command]
    preset = experiment.paper if args.paper else experiment.quick
    if getattr(args, "reference", False):
        preset = experiment.reference
    given = {field: getattr(args, field) for field, _, _ in experiment.options}
    changes = {k: None if v == _NONE else v for k, v in given.items() if v is not None}
    return dataclasses.replace(preset, **changes)


def _run(args: argparse.Namespace) -> None:
    import jax

    try:
        config = config_from(args)
    except (ValueError, TypeError) as err:  # TypeError: a value of the wrong kind, e.g. an unknown name
        parser().error(str(err))
    # the precision is global to the process: set it only once the options are valid
    jax.config.update("jax_enable_x64", not getattr(args, "float32", True) or getattr(args, "float64", False))
    from .report import aging_report, diffeo_report, jamming_report, kernels_report, regimes_report

    args.out.mkdir(parents=True, exist_ok=True)
    reports = {"jamming": jamming_report, "regimes": regimes_report, "diffeo": diffeo_report}
    report = (reports | {"kernels": kernels_report, "aging": aging_report})[args.command]
    sharding = {} if args.command == "kernels" else {"mesh": _mesh(args.devices)}
    print(report(config, args.out, progress=not args.quiet, **sharding))


_HOST_DEVICES = "--xla_force_host_platform_device_count"


def _split_host_cores() -> None:
    """One XLA host device per CPU core (unless ``XLA_FLAGS`` or ``jax_num_cpu_devices`` already set
    their number), so that `--devices` can split a seed ensemble over the cores: small networks leave
    a vmapped ensemble on one host device single-threaded (measured: 2 devices on 2 cores run 1.9× the
    member-steps per second of one). Only the CPU platform is affected. Through JAX's config, not the
    environment, so that no subprocess inherits it; a no-op once JAX has started its backends (when
    `main` is called from a running program)."""
    if _HOST_DEVICES in os.environ.get("XLA_FLAGS", "") or jax.config.jax_num_cpu_devices >= 0:
        return
    try:
        jax.config.update("jax_num_cpu_devices", os.cpu_count() or 1)
    except RuntimeError:  # the backends are running: keep their devices
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jamscope`` console script: 0 on success, 2 on a user error (a bad option,
    or a file the run needs or writes: missing data, an unwritable ``--out``), told in one line."""
    _split_host_cores()
    args = parser().parse_args(argv)
    try:
        _run(args)
    except OSError as err:
        print(f"jamscope {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


def example_main(command: str, smoke: Sequence[str], argv: Sequence[str] | None = None) -> int:
    """Entry point of ``examples/<command>.py``: ``jamscope <command>`` with ``--smoke`` replaced by
    the seconds-long options `smoke` (for the test suite) and ``--out`` defaulting to
    ``out/examples/<command>``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--smoke" in argv:
        argv = [a for a in argv if a != "--smoke"] + list(smoke)
    if "--out" not in argv:
        argv += ["--out", f"out/examples/{command}"]
    return main([command, *argv])


if __name__ == "__main__":
    sys.exit(main())
