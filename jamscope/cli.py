"""Command line: ``jamscope <experiment> [options]`` and ``jamscope reproduce``.

``jamscope <experiment>`` runs one experiment of [`jamscope.experiments`][jamscope.experiments] at its
quick preset (minutes on 2 cores), ``--paper`` (the paper's sizes, a GPU) or ``--smoke`` (seconds);
any option overrides the preset's field of the same name. Results (netCDF) and figures (PNG) go to
``--out``; a killed run resumes from the points stored under ``--out/<experiment>/``.
``jamscope reproduce`` runs the experiments and writes the reproduction table.
"""

import argparse
import ast
import dataclasses
import inspect
import os
import sys
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path

import jax

__all__ = ["main", "parser", "config_from", "example_main", "field_docs"]

_NONE = "none"


def _scalar(kind) -> Callable[[str], object]:
    """The parser of one value of type `kind` (int, float, str, bool as yes/no, a Literal's choices)."""
    if typing.get_origin(kind) is typing.Literal:
        choices = typing.get_args(kind)

        def choice(text: str) -> str:
            if text not in choices:
                raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {text!r}")
            return text

        return choice
    if kind is bool:

        def yes_no(text: str) -> bool:
            if text.lower() not in ("yes", "no"):
                raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}")
            return text.lower() == "yes"

        return yes_no

    def convert(text: str):
        try:
            return kind(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from err

    return convert


def _option_parser(annotation) -> tuple[Callable[[str], object], str]:
    """The parser of a configuration field's option and the form of its value, from its annotation:
    a tuple is comma-separated ('none': empty), an optional value accepts 'none'."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        parse, form = _option_parser(inner)
        optional = f"{form}, or none" if form else "or none"
        return (lambda text: None if text.lower() == _NONE else parse(text)), optional
    if typing.get_origin(annotation) is tuple:
        one = _scalar(args[0])

        def values(text: str) -> tuple:
            if text.lower() == _NONE:
                return ()
            return tuple(one(v.strip()) for v in text.split(",") if v.strip())

        return values, "comma-separated"
    return _scalar(annotation), ""


def field_docs(config_type: type) -> dict[str, str]:
    """The docstring of each field of a configuration dataclass (the string literal under it)."""
    tree = ast.parse(inspect.getsource(config_type))
    body = tree.body[0].body
    docs = {}
    for field, doc in zip(body, body[1:], strict=False):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(doc, ast.Expr)
            and isinstance(doc.value, ast.Constant)
            and isinstance(doc.value.value, str)
        ):
            docs[field.target.id] = " ".join(doc.value.value.split())
    return docs


def _shown(value) -> str:
    if value is None:
        return _NONE
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or _NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _experiment_parser(commands, experiment) -> None:
    sub = commands.add_parser(experiment.name, help=experiment.title, description=experiment.description)
    _common_options(sub, experiment.presets, experiment.preset_help, experiment.trains_networks)
    hints = typing.get_type_hints(experiment.config_type)
    docs = field_docs(experiment.config_type)
    quick = experiment.presets["quick"]
    options = sub.add_argument_group("configuration (each overrides the preset's field)")
    for field in dataclasses.fields(experiment.config_type):
        parse, form = _option_parser(hints[field.name])
        text = docs.get(field.name, field.name).rstrip(".")
        default = _shown(getattr(quick, field.name))
        options.add_argument(
            "--" + field.name.replace("_", "-"),
            dest=field.name,
            type=parse,
            default=argparse.SUPPRESS,
            metavar=field.name.upper(),
            help=f"{text} [{form + '; ' if form else ''}quick: {default}]",
        )
    if experiment.float64:
        sub.add_argument(
            "--float32",
            action="store_true",
            help="compute in float32 (default float64: gaps, kernel changes and spectra need it)",
        )
    else:
        sub.add_argument("--float64", action="store_true", help="compute in float64 (default float32)")


def _common_options(sub, presets, preset_help, devices: bool) -> None:
    """--out, one flag per preset (the quick one is the default: a flag only where its help is given),
    --devices where ensembles are trained, and --quiet."""
    sub.add_argument("--out", type=Path, default=Path("out"), help="output directory (out)")
    group = sub.add_mutually_exclusive_group()
    for name in presets:
        if name != "quick" or name in preset_help:
            group.add_argument(
                f"--{name}", dest="preset", action="store_const", const=name, help=preset_help[name]
            )
    sub.set_defaults(preset="quick")
    if devices:
        sub.add_argument(
            "--devices",
            type=_positive_int,
            default=None,
            help="split each seed ensemble over the first N devices (all; 1: plain vmap)",
        )
    sub.add_argument("--quiet", action="store_true", help="no progress bar")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from err
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``jamscope`` command: one sub-command per experiment, its options
    generated from the fields of the experiment's configuration, and ``reproduce``."""
    from .experiments import EXPERIMENTS, experiment_named

    top = argparse.ArgumentParser(prog="jamscope", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    for name in EXPERIMENTS:
        _experiment_parser(commands, experiment_named(name))
    sub = commands.add_parser(
        "reproduce",
        help="run the experiments and write the reproduction table",
        description="Run the experiments at one preset and write reproduction.md and reproduction.json "
        "(quantity | paper | measured | size used | verdict for every paper target) to --out.",
    )
    presets = {
        "quick": "the quick presets (default; minutes each on 2 cores)",
        "paper": "the papers' sizes (a GPU)",
        "smoke": "seconds, for the tests",
    }
    _common_options(sub, presets, presets, True)
    sub.add_argument(
        "--only",
        type=lambda t: tuple(v.strip() for v in t.split(",") if v.strip()),
        default=tuple(EXPERIMENTS),
        help=f"experiments, comma-separated ({','.join(EXPERIMENTS)})",
    )
    return top


def config_from(args: argparse.Namespace):
    """The preset chosen on the command line with every option given applied (raises ValueError or
    TypeError when the configuration rejects a value)."""
    from .experiments import experiment_named

    experiment = experiment_named(args.command)
    given = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(experiment.config_type) if f.name in args
    }
    return dataclasses.replace(experiment.presets[args.preset], **given)


class _UserError(Exception):
    """A bad value on the command line, told in one line."""


def _mesh(n_devices: int | None):
    """The ensemble mesh over the first `n_devices` devices (all by default); None for one device."""
    from .ensemble import ensemble_mesh

    devices = jax.devices()
    n = len(devices) if n_devices is None else n_devices
    if n > len(devices):
        raise _UserError(f"--devices {n}: only {len(devices)} devices are available")
    return ensemble_mesh(devices[:n]) if n > 1 else None


def _run(args: argparse.Namespace) -> None:
    from .experiments import EXPERIMENTS, experiment_named, reproduce, reproduction_markdown, run

    if args.command == "reproduce":
        unknown = [name for name in args.only if name not in EXPERIMENTS]
        if unknown or not args.only:
            raise _UserError(
                f"--only: expected experiments among {', '.join(EXPERIMENTS)}, got {unknown or 'none'}"
            )
        targets = reproduce(
            args.only, args.preset, args.out, mesh=_mesh(args.devices), progress=not args.quiet
        )
        print(f"wrote {args.out / 'reproduction.md'}, {args.out / 'reproduction.json'}")
        print(reproduction_markdown(targets, args.preset))
        return
    experiment = experiment_named(args.command)
    try:
        config = config_from(args)
    except (ValueError, TypeError) as err:  # TypeError: a value of the wrong kind
        raise _UserError(str(err)) from err
    # the precision is global to the process: set it only once the options are valid
    jax.config.update("jax_enable_x64", not getattr(args, "float32", True) or getattr(args, "float64", False))
    mesh = _mesh(args.devices) if experiment.trains_networks else None
    args.out.mkdir(parents=True, exist_ok=True)
    results = run(config, args.out, mesh=mesh, progress=not args.quiet)
    summary, figures = experiment.report(config, results, args.out)
    written = [args.out / f"{stem}.nc" for stem in results] + figures
    print("\n".join([f"wrote {', '.join(map(str, written))}", summary]))


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
    """Entry point of the ``jamscope`` console script: 0 on success, 2 on a user error (a bad option
    or value, or a file the run needs or writes: missing data, an unwritable ``--out``), told in one
    line."""
    _split_host_cores()
    top = parser()
    args = top.parse_args(argv)
    try:
        _run(args)
    except (_UserError, OSError) as err:
        print(f"jamscope {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


def example_main(command: str, argv: Sequence[str] | None = None) -> int:
    """Entry point of ``examples/<command>.py``: ``jamscope <command>`` with ``--out`` defaulting to
    ``out/examples/<command>``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in argv:
        argv += ["--out", f"out/examples/{command}"]
    return main([command, *argv])


if __name__ == "__main__":
    sys.exit(main())
