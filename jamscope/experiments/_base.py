"""The experiment base, its runner and the reproduction table.

An experiment is a final subclass of [`Experiment`][jamscope.experiments.Experiment]: its
configuration type with presets, the points of its sweep, the computation of one point, the
assembly of the points into labelled Datasets, its figures and summary, and the paper targets it
checks. [`run`][jamscope.experiments.run] is the one way to compute a sweep: every point is stored
atomically in an [`io.ResultStore`][jamscope.io.ResultStore] under ``<out>/<name>/``, keyed by the
configuration and the point, so a sweep killed at any moment (SIGKILL included) recomputes at most the
point it was on, and the assembled ``<out>/<name>.nc`` of a resumed sweep is the same as an
uninterrupted one's. [`reproduce`][jamscope.experiments.reproduce] runs experiments and writes the table
"quantity | paper | measured | size | verdict" of every target.
"""

import abc
import dataclasses
import json
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import jax
import xarray as xr
from jax.sharding import Mesh

from ..io import ResultStore, load_netcdf, run_points, save_netcdf

__all__ = [
    "Experiment",
    "Target",
    "compare",
    "run",
    "reproduce",
    "EXPERIMENTS",
    "concat_points",
    "experiment_named",
    "experiment_of",
    "reproduction_markdown",
    "read_reproduction",
]

Verdict = Literal["agrees", "consistent", "differs", "not measured"]
VERDICTS: tuple[str, ...] = ("agrees", "consistent", "differs", "not measured")


@dataclasses.dataclass(frozen=True)
class Target:
    """One number of a paper checked by an experiment, with what was measured.

    `verdict`: ``"agrees"`` (the measured value lies within the stated tolerance of the paper's),
    ``"consistent"`` (no point estimate within tolerance, but the measured interval contains the
    paper's value: a bracket or a wide confidence interval), ``"differs"``, or ``"not measured"``
    (no certified run, no fit). `size` states the size used: CPU presets are far below the papers'.
    """

    experiment: str
    quantity: str
    source: str
    paper: str
    measured: float | None
    interval: tuple[float, float] | None
    size: str
    verdict: Verdict
    note: str = ""

    def measured_text(self) -> str:
        """The measured value and its interval as text (— when nothing was measured)."""
        value = "—" if self.measured is None else f"{self.measured:.3g}"
        if self.interval is None:
            return value
        low, high = self.interval
        span = f"[{low:.3g}, {high:.3g}]"
        return span if self.measured is None else f"{value} {span}"


def compare(
    experiment: str,
    quantity: str,
    source: str,
    paper: float | tuple[float, float],
    measured: float | None,
    *,
    tolerance: float,
    interval: tuple[float, float] | None = None,
    size: str = "",
    note: str = "",
) -> Target:
    """A [`Target`][jamscope.experiments.Target] with its verdict: `paper` is a value or a range
    (low, high); the measured value agrees when it lies within `tolerance` of it (absolute), the
    `interval` is consistent when it overlaps it. A non-finite value or interval counts as not measured."""
    low, high = (paper, paper) if isinstance(paper, int | float) else paper
    text = f"{low:g}" if low == high else f"{low:g}–{high:g}"
    finite = measured is not None and math.isfinite(measured)
    if interval is not None and not all(math.isfinite(v) for v in interval):
        interval = None
    if finite and low - tolerance <= measured <= high + tolerance:
        verdict = "agrees"
    elif interval is not None and interval[0] <= high and low <= interval[1]:
        verdict = "consistent"
    elif finite or interval is not None:
        verdict = "differs"
    else:
        verdict = "not measured"
    return Target(experiment, quantity, source, text, measured if finite else None, interval, size,
                  verdict, note)  # fmt: skip


Results = dict[str, xr.Dataset]


class Experiment(abc.ABC):
    """One experiment of the papers. A final subclass declares, as class attributes, its `name` (the
    sub-command and the result files), a one-line `title`, a `description`, its configuration type
    `config_type` (a frozen dataclass whose fields carry docstrings: the command's options), its
    `presets` (``"quick"``, the default, ``"paper"`` and ``"smoke"``, seconds long, for the tests;
    others may follow) with one help line each in `preset_help`, its default precision (`float64`)
    and whether it trains networks (`trains_networks`: then ``--devices`` splits ensembles); and it
    implements the methods below."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    config_type: ClassVar[type]
    presets: ClassVar[Mapping[str, Any]]
    preset_help: ClassVar[Mapping[str, str]]
    float64: ClassVar[bool] = True
    trains_networks: ClassVar[bool] = True

    @abc.abstractmethod
    def points(self, config) -> list[dict]:
        """The points of the sweep, each a JSON-able mapping, in the order they run."""

    def point_key(self, config, point: dict) -> dict:
        """What a point's store key is made of (with ``config.seed``): every field of the
        configuration and the point, unless the experiment narrows it (to reuse points of a grown grid)."""
        return {"experiment": self.name, "config": dataclasses.asdict(config), "point": point}

    def prepare(self, config, point: dict) -> Any:
        """Inputs that one point needs and that are costly to build (a data set): built only when a
        point must be computed, once per `prepare_key`."""
        return None

    def prepare_key(self, config, point: dict) -> Any:
        """Points with equal keys share one `prepare` result (default: all points)."""
        return None

    @abc.abstractmethod
    def compute(self, config, point: dict, prepared: Any, mesh: Mesh | None) -> xr.Dataset:
        """The results of one point."""

    @abc.abstractmethod
    def assemble(self, config, pieces: list[xr.Dataset], points: list[dict]) -> Results:
        """The labelled results, file stem → Dataset, from every point's results as stored (in plan
        order, with the store's attributes ``point_config``, ``point_seed``, ``point_key``)."""

    @abc.abstractmethod
    def report(self, config, results: Results, out: Path) -> tuple[str, list[Path]]:
        """Draw the figures into `out`; return the summary (the paper's values beside the measured
        ones, with the sizes used) and the figures' paths."""

    @abc.abstractmethod
    def targets(self, config, results: Results) -> list[Target]:
        """The paper targets this experiment checks, measured on `results`."""


def run(config, out: str | os.PathLike, *, mesh: Mesh | None = None, progress: bool = True) -> Results:
    """Run (or resume) the experiment whose configuration `config` is (e.g. ``regimes.QUICK``):
    each point is computed once and stored under ``out/<name>/``; the assembled results are written
    to ``out/<stem>.nc`` and returned (file stem → Dataset). The process's precision is part of a
    point's key when it is not the experiment's default (`Experiment.float64`). `mesh`: split each
    seed ensemble over these devices (None: vmap on one device)."""
    experiment = experiment_of(config)
    out = Path(out)
    store = ResultStore(out / experiment.name)
    points = experiment.points(config)
    if not points:
        raise ValueError(f"the {experiment.name} plan is empty")
    # a point computed at another precision than the experiment's default is another point
    x64 = bool(jax.config.jax_enable_x64)
    precision = {} if x64 == experiment.float64 else {"float64": x64}
    keyed = [(experiment.point_key(config, point) | precision, config.seed) for point in points]
    prepared: dict[str, Any] = {}

    def compute(key_config: dict, seed: int) -> xr.Dataset:
        point = points[keyed.index((key_config, seed))]
        slot = json.dumps(experiment.prepare_key(config, point), sort_keys=True, default=str)
        if slot not in prepared:
            prepared.clear()  # one prepared input alive at a time
            prepared[slot] = experiment.prepare(config, point)
        return experiment.compute(config, point, prepared[slot], mesh)

    keys = run_points(store, keyed, compute, progress=progress)
    pieces = [load_netcdf(store.root / f"{key}.nc") for key in keys]
    results = experiment.assemble(config, pieces, points)
    stamp = {"experiment": experiment.name, "config": json.dumps(dataclasses.asdict(config), sort_keys=True)}
    results = {stem: ds.assign_attrs(stamp) for stem, ds in results.items()}
    for stem, ds in results.items():
        save_netcdf(ds, out / f"{stem}.nc")
    return results


def concat_points(pieces: Sequence[xr.Dataset], dim: str) -> xr.Dataset:
    """The pieces concatenated along `dim`, without their attributes. Strings are concatenated as
    objects and converted back to the widest width: xarray keeps the first piece's fixed width
    otherwise (``"linearized"`` after ``"network"`` would read ``"lineari"``)."""
    merged = xr.concat([_cast(p.drop_attrs(), "U", object) for p in pieces], dim=dim, data_vars="minimal")
    return _cast(merged, "O", str)


def _cast(ds: xr.Dataset, kind: str, dtype) -> xr.Dataset:
    """`ds` with every variable (coordinates included) of dtype kind `kind` cast to `dtype`."""
    ds = ds.copy()
    for name in list(ds.variables):
        if ds[name].dtype.kind == kind:
            ds[name] = ds[name].astype(dtype)
    return ds


def experiment_of(config) -> Experiment:
    """The experiment that `config` configures (dispatch on its type)."""
    for name in EXPERIMENTS:
        experiment = experiment_named(name)
        if isinstance(config, experiment.config_type):
            return experiment
    raise TypeError(
        f"`config` must be an experiment's configuration (e.g. regimes.QUICK), got {type(config).__name__}"
    )


def experiment_named(name: str) -> Experiment:
    """The experiment called `name` (importing its module)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"`name` must be one of {', '.join(EXPERIMENTS)}, got {name!r}")
    import importlib

    return importlib.import_module(f"{__package__}.{name}").EXPERIMENT


EXPERIMENTS: tuple[str, ...] = ("jamming", "regimes", "diffeo", "kernels", "aging", "pomdp")
"""The experiments, in the order of the papers' physics (and of `reproduce`)."""


def reproduction_markdown(targets: Sequence[Target], preset: str) -> str:
    """The reproduction table as Markdown: one row per target, grouped by experiment."""
    counts = {v: sum(t.verdict == v for t in targets) for v in VERDICTS}
    lines = [
        f"Preset `{preset}`: {len(targets)} targets — "
        + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        + ".",
        "",
        "| experiment | quantity | source | paper | measured | size used | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in targets:
        note = f" ({t.note})" if t.note else ""
        cells = [t.experiment, t.quantity, t.source, t.paper, t.measured_text(), t.size, t.verdict + note]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def read_reproduction(path: str | os.PathLike) -> tuple[str, list[Target]]:
    """The preset and the targets of a ``reproduction.json`` written by
    [`reproduce`][jamscope.experiments.reproduce]."""
    table = json.loads(Path(path).read_text())
    targets = [Target(**(row | {"interval": None if row["interval"] is None else tuple(row["interval"])}))
               for row in table["targets"]]  # fmt: skip
    return table["preset"], targets


def reproduce(
    names: Sequence[str],
    preset: str,
    out: str | os.PathLike,
    *,
    mesh: Mesh | None = None,
    progress: bool = True,
) -> list[Target]:
    """Run each experiment of `names` at `preset` into ``out/<name>/`` (resumable), in its default
    precision (float64, or float32 for diffeo and aging: the process-wide setting is changed), draw
    its figures, and write ``out/reproduction.md`` and ``out/reproduction.json``: every target of
    every experiment with the paper's value, the measured one, the size used and the verdict."""
    out = Path(out)
    targets: list[Target] = []
    for name in names:
        experiment = experiment_named(name)
        if preset not in experiment.presets:
            raise ValueError(f"{name} has no preset {preset!r}; it has {', '.join(experiment.presets)}")
        config = experiment.presets[preset]
        folder = out / name
        jax.config.update("jax_enable_x64", experiment.float64)  # the experiment's own precision
        results = run(config, folder, mesh=mesh if experiment.trains_networks else None,
                      progress=progress)  # fmt: skip
        experiment.report(config, results, folder)
        targets += experiment.targets(config, results)
    (out / "reproduction.md").write_text(reproduction_markdown(targets, preset))
    rows = [dataclasses.asdict(t) for t in targets]
    (out / "reproduction.json").write_text(json.dumps({"preset": preset, "targets": rows}, indent=1))
    return targets


REPORT_WIDTH = 88
"""Characters per line of the experiments' summaries: they fit a terminal and the documentation's
content column (tests/test_site.py)."""


def report_text(lines: Sequence[str]) -> str:
    """`lines` joined, each longer than `REPORT_WIDTH` wrapped at spaces, its continuation indented
    four spaces past the line's own indentation."""
    out = []
    for line in lines:
        for part in line.split("\n"):
            indent = " " * (len(part) - len(part.lstrip(" ")) + 4)
            out += textwrap.wrap(part, REPORT_WIDTH, subsequent_indent=indent, break_long_words=False,
                                 break_on_hyphens=False, drop_whitespace=True) or [""]  # fmt: skip
    return "\n".join(out)
