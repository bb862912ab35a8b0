"""The experiments of the seed papers, one module each: `jamming` (000), `regimes` (thesis ch. 3, 001,
004), `diffeo` (thesis ch. 4), `kernels` (thesis ch. 6), `aging` (003) and `pomdp` (thesis ch. 7).

Each module holds its configuration (presets `QUICK`, `PAPER`, `SMOKE`), its plan of points, the
computation of one point, the assembly of the points into one labelled Dataset, its figures, its
summary and its paper targets, on the [`Experiment`][jamscope.experiments.Experiment] base; the
runner [`run`][jamscope.experiments.run] stores one point at a time in an
[`io.ResultStore`][jamscope.io.ResultStore] (a killed sweep resumes) and
[`reproduce`][jamscope.experiments.reproduce] checks every target. They are imported by the
``jamscope`` command and by whoever asks for them (they load matplotlib): ``import
jamscope.experiments.regimes``.
"""

from ._base import (
    EXPERIMENTS,
    Experiment,
    Target,
    compare,
    experiment_named,
    experiment_of,
    read_reproduction,
    reproduce,
    reproduction_markdown,
    run,
)

__all__ = [
    "Experiment", "Target", "compare", "EXPERIMENTS", "experiment_named", "experiment_of", "run", "reproduce",
    "reproduction_markdown", "read_reproduction",
]  # fmt: skip
