"""Fuzzed public API: every public function and constructor rejects bad inputs with a clear error.

A registry (`CASES`) holds one valid call per public callable at tiny sizes; each argument is tagged
with its kind, and hypothesis draws an argument and a mutation that makes it invalid: NaN or inf
entries, an added or dropped dimension, an int or bool dtype, no patterns, a changed trailing size,
zero or negative sizes, NaN/inf/non-positive hyper-parameters, labels outside {−1, +1}, x and y of
different lengths, a value of the wrong type, or a case-specific bad value. Every mutated call must
raise ``ValueError`` or ``TypeError`` (jaxtyping's ``TypeCheckError`` is one) whose message names the
offending argument; returning a result (silently) or failing any other way fails the test.

The number of cases tried per function is printed at the end of the run (``pytest_terminal_summary``
in conftest.py, which reads the JSON lines written under ``.cache/fuzz-counts/``).

Public names that are not fuzzed, and why:

- typing aliases: ``diffeo.Interpolation``, ``stability.Average`` (Literal type aliases).
- constants: ``experiments.aging.PROBLEMS``, ``diffeo.GAUSSIAN_SIGMA``,
  ``experiments.jamming.PAPER_P_OVER_N_STAR``, ``experiments.jamming.MARGIN_ROUNDING``, the end-state codes
  ``end_state.UNDECIDED``, ``end_state.FITTED``, ``end_state.JAMMED``, ``end_state.FROZEN``,
  ``end_state.OUTCOMES`` and the presets ``experiments.aging.QUICK``, ``experiments.aging.PAPER``,
  ``experiments.diffeo.QUICK``, ``experiments.diffeo.PAPER``, ``experiments.kernels.QUICK``,
  ``experiments.kernels.PAPER``, ``experiments.regimes.QUICK``, ``experiments.regimes.PAPER``,
  ``experiments.jamming.QUICK``, ``experiments.jamming.REFERENCE``, ``experiments.jamming.PAPER``,
  ``experiments.pomdp.QUICK``, ``experiments.pomdp.PAPER`` (their config classes are fuzzed);
  ``pomdp.FORBIDDEN_LOGIT``, ``pomdp.NECKLACES_MAX_M``, ``pomdp.GRAY_CHAIN_MAX_M``.
- abstract bases: ``diffeo.AbstractDiffeo``, ``kernels.AbstractKernel``, ``losses.AbstractLoss``,
  ``losses.AbstractMarginLoss``, ``losses.AbstractObjective``, ``nets.AbstractNet``,
  ``pomdp.AbstractMemory``, ``train.AbstractMethod`` (not instantiable).
- result records (frozen containers built by the package): ``fits.ExponentFit``,
  ``experiments.aging.Problem``, ``curvature.HessianParts``, ``curvature.SpectrumSummary``,
  ``curvature.SpectralDensity``, ``curvature.LogSpectralDensity``, ``curvature.NEffResult``,
  ``fits.PowerLawFit``, ``fits.ScalingFit``, ``fits.BootstrapFit``, ``jamming.OverlapDistributions``,
  ``jamming.JammingSearch``, ``end_state.NewtonMinimum``,
  ``learning_curves.EffectiveDimension``, ``nets.Linearized`` (built by ``linearize``),
  ``experiments.regimes.Crossover``, ``experiments.regimes.FluctuationFits``, ``stability.Stability``,
  ``stability.Perturbations`` (built by ``perturb``), ``train.History``.
- no arguments to fuzz: ``losses.MSE``, ``losses.SoftmaxCrossEntropy``; ``nets.Frozen`` and
  ``nets.partition`` accept any PyTree.
- the runners that write files (the configurations they take are fuzzed): ``experiments.run``,
  ``experiments.reproduce``.
- analyses of a sweep's xarray results (no array arguments of their own):
  ``experiments.aging.relaxation_times``, ``experiments.aging.aging_fits``,
  ``experiments.aging.collapse_exponents``, ``experiments.aging.gradient_rms``,
  ``experiments.diffeo.stability_summary``, ``experiments.diffeo.stability_slope``,
  ``experiments.kernels.teacher_student_fits``, ``experiments.kernels.beta_table``,
  ``experiments.kernels.data_betas``, ``experiments.kernels.kpca_beta``,
  ``experiments.kernels.effective_dimensions``, ``regimes.ensemble_statistics``,
  ``experiments.regimes.regimes_grid``, ``experiments.regimes.width_sweep``,
  ``experiments.regimes.crossover``, ``experiments.regimes.kernel_change_slope``,
  ``experiments.regimes.fluctuation_fits``, ``experiments.jamming.jamming_points``,
  ``experiments.jamming.jamming_times``, ``experiments.jamming.near_jamming``,
  ``experiments.jamming.run_outcomes``, ``experiments.jamming.extrapolate``,
  ``experiments.pomdp.learning_summary``.
- the figures, summaries and paper targets of the experiments (they draw or read a sweep's results; the
  experiments' tests draw each from real or planted results): ``experiments.aging.aging_figure``,
  ``experiments.aging.aging_training_figure``, ``experiments.aging.aging_targets``,
  ``experiments.diffeo.deformation_grid_figure``, ``experiments.diffeo.field_statistics_figure``,
  ``experiments.diffeo.stability_figure``, ``experiments.diffeo.stripe_figure``,
  ``experiments.diffeo.summarize_diffeo``, ``experiments.diffeo.diffeo_targets``,
  ``experiments.jamming.hessian_spectra_figure``, ``experiments.jamming.jamming_point_figure``,
  ``experiments.jamming.jamming_transition_figure``, ``experiments.jamming.overlap_figure``,
  ``experiments.jamming.summarize_sweep``, ``experiments.jamming.jamming_targets``,
  ``experiments.kernels.data_curves_figure``, ``experiments.kernels.effective_dimension_figure``,
  ``experiments.kernels.teacher_student_figure``, ``experiments.kernels.summarize_kernels``,
  ``experiments.kernels.kernels_targets``, ``experiments.regimes.fluctuations_figure``,
  ``experiments.regimes.regimes_figure``, ``experiments.regimes.summarize_regimes``,
  ``experiments.regimes.regimes_targets``, ``experiments.pomdp.ccp_figure``,
  ``experiments.pomdp.learning_figure``, ``experiments.pomdp.summarize_pomdp``,
  ``experiments.pomdp.pomdp_targets``.
- the experiments' constants and classes (no arguments): ``experiments.EXPERIMENTS``,
  ``experiments.aging.PAPER_MU``, the presets ``experiments.aging.SMOKE``, ``experiments.diffeo.SMOKE``,
  ``experiments.jamming.SMOKE``, ``experiments.kernels.SMOKE``, ``experiments.regimes.SMOKE``,
  ``experiments.pomdp.SMOKE``, the experiments ``experiments.aging.EXPERIMENT``,
  ``experiments.diffeo.EXPERIMENT``, ``experiments.jamming.EXPERIMENT``, ``experiments.kernels.EXPERIMENT``,
  ``experiments.regimes.EXPERIMENT``, ``experiments.pomdp.EXPERIMENT`` of the final classes
  ``experiments.aging.AgingExperiment``, ``experiments.diffeo.DiffeoExperiment``,
  ``experiments.jamming.JammingExperiment``, ``experiments.kernels.KernelsExperiment``,
  ``experiments.regimes.RegimesExperiment``, ``experiments.pomdp.PomdpExperiment`` on the abstract
  ``experiments.Experiment``; the record
  ``experiments.Target``, ``experiments.compare``, which builds one from numbers
  (tests/test_experiments.py checks its verdicts), ``experiments.reproduction_markdown`` (their
  table) and ``experiments.read_reproduction`` (a reader of results on disk).
- readers of files on disk (tests/test_data.py covers them): ``data.read_idx``, ``data.mnist``,
  ``data.cifar10``.
- ``ensemble.AXIS`` (a constant), ``ensemble.default_mesh`` (no arguments), ``ensemble.gather`` (any
  PyTree).
- readers of results on disk (tests/test_io.py covers them): ``io.load_netcdf``, ``io.load_point``,
  ``io.stored_keys``.
"""

import dataclasses
import importlib
import json
import math
import os
import pathlib
import re
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jamscope import (
    aging,
    curvature,
    data,
    diffeo,
    end_state,
    ensemble,
    fits,
    io,
    jamming,
    kernels,
    learning_curves,
    losses,
    nets,
    ntk,
    pomdp,
    regimes,
    regression,
    stability,
    teacher_student,
    train,
)
from jamscope import experiments as experiments_package
from jamscope.experiments import aging as aging_sweep
from jamscope.experiments import diffeo as diffeo_sweep
from jamscope.experiments import jamming as sweep
from jamscope.experiments import kernels as kernel_sweep
from jamscope.experiments import pomdp as pomdp_experiment
from jamscope.experiments import regimes as regimes_experiment

MODULES = (
    "aging curvature data diffeo fits jamming kernels learning_curves losses nets ntk regimes regression "
    "stability teacher_student train ensemble io end_state experiments experiments.aging experiments.diffeo "
    "experiments.jamming experiments.kernels experiments.regimes pomdp experiments.pomdp"
).split()

_FIGURES_AND_SUMMARIES = (
    "experiments.aging.aging_figure", "experiments.aging.aging_training_figure",
    "experiments.aging.aging_targets", "experiments.diffeo.deformation_grid_figure",
    "experiments.diffeo.field_statistics_figure", "experiments.diffeo.stability_figure",
    "experiments.diffeo.stripe_figure", "experiments.diffeo.summarize_diffeo",
    "experiments.diffeo.diffeo_targets", "experiments.jamming.hessian_spectra_figure",
    "experiments.jamming.jamming_point_figure", "experiments.jamming.jamming_transition_figure",
    "experiments.jamming.overlap_figure", "experiments.jamming.summarize_sweep",
    "experiments.jamming.jamming_targets", "experiments.kernels.data_curves_figure",
    "experiments.kernels.effective_dimension_figure", "experiments.kernels.teacher_student_figure",
    "experiments.kernels.summarize_kernels", "experiments.kernels.kernels_targets",
    "experiments.regimes.fluctuations_figure", "experiments.regimes.regimes_figure",
    "experiments.regimes.summarize_regimes", "experiments.regimes.regimes_targets",
    "experiments.pomdp.ccp_figure", "experiments.pomdp.learning_figure", "experiments.pomdp.summarize_pomdp",
    "experiments.pomdp.pomdp_targets",
)  # fmt: skip

SKIPPED = {
    "diffeo.Interpolation", "stability.Average",
    "experiments.aging.PROBLEMS", "experiments.aging.QUICK", "experiments.aging.PAPER",
    "experiments.diffeo.QUICK",
    "experiments.diffeo.PAPER", "experiments.kernels.QUICK", "experiments.kernels.PAPER",
    "experiments.regimes.QUICK", "experiments.regimes.PAPER",
    "experiments.jamming.QUICK", "experiments.jamming.REFERENCE", "experiments.jamming.PAPER",
    "experiments.pomdp.QUICK", "experiments.pomdp.PAPER",
    "pomdp.FORBIDDEN_LOGIT", "pomdp.NECKLACES_MAX_M", "pomdp.GRAY_CHAIN_MAX_M",
    "experiments.jamming.PAPER_P_OVER_N_STAR", "experiments.jamming.MARGIN_ROUNDING",
    "diffeo.GAUSSIAN_SIGMA",
    "end_state.UNDECIDED", "end_state.FITTED", "end_state.JAMMED", "end_state.FROZEN", "end_state.OUTCOMES",
    "end_state.NewtonMinimum",
    "diffeo.AbstractDiffeo", "kernels.AbstractKernel", "losses.AbstractLoss", "losses.AbstractMarginLoss",
    "losses.AbstractObjective",
    "nets.AbstractNet", "pomdp.AbstractMemory", "train.AbstractMethod",
    "fits.ExponentFit", "experiments.aging.Problem", "curvature.HessianParts", "curvature.SpectrumSummary",
    "curvature.SpectralDensity", "curvature.LogSpectralDensity", "curvature.NEffResult", "fits.PowerLawFit",
    "fits.ScalingFit", "fits.BootstrapFit", "jamming.OverlapDistributions", "jamming.JammingSearch",
    "learning_curves.EffectiveDimension", "nets.Linearized",
    "experiments.regimes.Crossover",
    "experiments.regimes.FluctuationFits", "stability.Stability", "stability.Perturbations", "train.History",
    "losses.MSE", "losses.SoftmaxCrossEntropy", "nets.Frozen", "nets.partition",
    "experiments.run", "experiments.reproduce",
    "experiments.aging.relaxation_times", "experiments.aging.aging_fits",
    "experiments.aging.collapse_exponents",
    "experiments.aging.gradient_rms", "experiments.diffeo.stability_summary",
    "experiments.diffeo.stability_slope",
    "experiments.kernels.teacher_student_fits", "experiments.kernels.beta_table",
    "experiments.kernels.data_betas",
    "experiments.kernels.kpca_beta", "experiments.kernels.effective_dimensions",
    "regimes.ensemble_statistics",
    "experiments.regimes.regimes_grid", "experiments.regimes.width_sweep",
    "experiments.regimes.crossover", "experiments.regimes.kernel_change_slope",
    "experiments.regimes.fluctuation_fits", "experiments.jamming.jamming_points",
    "experiments.jamming.near_jamming", "experiments.jamming.jamming_times",
    "experiments.jamming.run_outcomes", "experiments.jamming.extrapolate",
    "experiments.pomdp.learning_summary",
    "data.read_idx", "data.mnist", "data.cifar10",
    "ensemble.AXIS", "ensemble.default_mesh", "ensemble.gather",
    "io.load_netcdf", "io.load_point", "io.stored_keys",
    "experiments.EXPERIMENTS", "experiments.aging.PAPER_MU",
    *(f"experiments.{e}.{n}" for e in ("aging", "diffeo", "jamming", "kernels", "regimes", "pomdp")
      for n in ("SMOKE", "EXPERIMENT")),
    "experiments.Experiment", "experiments.aging.AgingExperiment", "experiments.diffeo.DiffeoExperiment",
    "experiments.jamming.JammingExperiment", "experiments.kernels.KernelsExperiment",
    "experiments.regimes.RegimesExperiment", "experiments.pomdp.PomdpExperiment",
    "experiments.Target", "experiments.compare", "experiments.reproduction_markdown",
    "experiments.read_reproduction",
    *_FIGURES_AND_SUMMARIES,
}  # fmt: skip

EXAMPLES = int(os.environ.get("JAMSCOPE_FUZZ_EXAMPLES", "8"))  # per function; more for a deeper search
DIMS = ("add_lead", "add_trail", "drop_lead", "drop_trail")
ALIASES = {"add_dim": ("add_lead", "add_trail"), "drop_dim": ("drop_lead", "drop_trail")}
COUNT_DIR = "fuzz-counts"


# ----------------------------------------------------------------------------------------------------
# argument kinds and their mutations


@dataclasses.dataclass
class Arg:
    """One argument of a valid call: its value, its kind and which of the kind's mutations apply."""

    value: object
    kind: str
    skip: tuple[str, ...] = ()
    low: float = 1  # sizes: the smallest valid integer; reals: the smallest valid value
    open_low: bool = False  # reals: `low` itself is invalid
    high: float = math.inf  # reals: the largest valid value
    bad: tuple = ()  # case-specific invalid values
    choices: tuple = ()  # alternative valid values, drawn per example

    def mutations(self) -> list[str]:
        base = {
            "array": ["nan", "inf", *DIMS, "as_int", "as_bool", "empty", "trailing"],
            "int_array": ["as_float", *DIMS, "empty"],
            "labels": ["nan", "not_binary", "add_lead", "add_trail", "as_int", "empty"],
            "class_labels": ["out_of_range", "as_float", "add_lead", "add_trail"],
            "size": ["below", "as_float"],
            "real": ["nan", "inf", "below", "above"],
            "key": ["wrong_key"],
            "object": ["wrong_type"],
            "sizes": ["empty_tuple", "below"],
            "curve": ["nan", "empty"],
            "fixed": [],
        }[self.kind]
        if self.kind == "real":
            base = [m for m in base if not (m == "above" and self.high == math.inf)]
            base = [m for m in base if not (m == "below" and self.low == -math.inf)]
        if self.kind in ("array", "int_array", "labels", "class_labels") and np.ndim(self.value) == 0:
            base = [m for m in base if m not in ("drop_lead", "drop_trail", "empty", "trailing")]
        skip = set(self.skip) | {m for alias, ms in ALIASES.items() if alias in self.skip for m in ms}
        return [m for m in base if m not in skip] + [f"bad{i}" for i in range(len(self.bad))]


def A(value, *skip, **kw):
    return Arg(jnp.asarray(value) if not isinstance(value, np.ndarray) else value, "array", skip, **kw)


def IA(value, *skip):
    return Arg(value, "int_array", skip)


def B(value, *skip):
    return Arg(value, "labels", skip)


def S(value, low=1, *skip, bad=()):
    return Arg(value, "size", skip, low=low, bad=bad)


def R(value, low=0.0, *skip, open_low=True, high=math.inf, bad=()):
    return Arg(value, "real", skip, low=low, open_low=open_low, high=high, bad=bad)


def Key(value=None):
    return Arg(jax.random.PRNGKey(0) if value is None else value, "key")


def O(value, *skip, bad=(), choices=()):  # noqa: E743
    return Arg(value, "object", skip, bad=bad, choices=choices)


def Fix(value):
    return Arg(value, "fixed")


def Sizes(value, low=1, *skip, bad=()):
    return Arg(value, "sizes", skip, low=low, bad=bad)


def _index(draw, shape):
    return tuple(draw(st.integers(0, n - 1), label="index") for n in shape)


def mutate(draw, arg: Arg, mutation: str):
    """The bad value of `arg` for `mutation`, its parameters drawn by hypothesis."""
    v = arg.value
    if mutation.startswith("bad"):
        return arg.bad[int(mutation[3:])]
    if mutation == "wrong_type":  # None is left out where it is the valid value (an optional argument)
        wrong = ["not-an-object", 3] + ([None] if v is not None else [])
        return draw(st.sampled_from(wrong), label="wrong type")
    if mutation == "wrong_key":
        return draw(st.sampled_from([jnp.zeros(2), jnp.zeros((3, 2), jnp.uint32), "key"]), label="key")
    if arg.kind == "size":
        if mutation == "as_float":
            return arg.value + 0.5
        return draw(st.integers(-(10**6), int(arg.low) - 1), label="size")
    if arg.kind == "sizes":
        if mutation == "empty_tuple":
            return ()
        i = draw(st.integers(0, len(v) - 1), label="position")
        bad = draw(st.integers(-1000, int(arg.low) - 1) if isinstance(v[0], int) else
                   st.floats(max_value=arg.low, exclude_max=False), label="entry")  # fmt: skip
        return v[:i] + (bad,) + v[i + 1 :]
    if arg.kind == "real":
        if mutation == "nan":
            return math.nan
        if mutation == "inf":
            return draw(st.sampled_from([math.inf, -math.inf]), label="inf")
        if mutation == "below":
            return draw(st.floats(max_value=arg.low, exclude_max=arg.open_low is False, allow_nan=False,
                                  allow_infinity=False, min_value=-1e6), label="below")  # fmt: skip
        return draw(st.floats(min_value=arg.high, exclude_min=True, max_value=1e6), label="above")
    if arg.kind == "curve":
        if mutation == "nan":
            values = np.array(v.values)
            values[_index(draw, values.shape)] = math.nan
            return v.copy(data=values)
        return v.isel(n=slice(0, 0))
    a = v
    module = np if isinstance(a, np.ndarray) else jnp
    if mutation in ("nan", "inf"):
        bad = math.nan if mutation == "nan" else draw(st.sampled_from([math.inf, -math.inf]), label="inf")
        idx = _index(draw, np.shape(a))
        return a.at[idx].set(bad) if module is jnp else _np_set(a, idx, bad)
    if mutation in ("add_lead", "add_trail"):
        return a[None] if mutation == "add_lead" else a[..., None]
    if mutation in ("drop_lead", "drop_trail"):
        return a[0] if mutation == "drop_lead" else a[..., 0]
    if mutation == "as_int":
        return a.astype(module.int32)
    if mutation == "as_bool":
        return a.astype(bool)
    if mutation == "as_float":
        return a.astype(module.float64)
    if mutation == "empty":
        return a[:0]
    if mutation == "trailing":
        if draw(st.booleans(), label="grow") or a.shape[-1] == 1:
            return module.concatenate([a, a[..., :1]], axis=-1)
        return a[..., :-1]
    if mutation == "not_binary":
        bad = draw(st.sampled_from([0.0, 2.0, -2.0, 0.5, 3.0]), label="label")
        return a.at[_index(draw, a.shape)].set(bad)
    if mutation == "out_of_range":
        bad = draw(st.sampled_from([-1, 99]), label="label")
        return a.at[_index(draw, a.shape)].set(bad)
    raise AssertionError(mutation)


def _np_set(a, idx, value):
    a = np.array(a, dtype=float)
    a[idx] = value
    return a


# ----------------------------------------------------------------------------------------------------
# shared tiny fixtures


KEY = jax.random.PRNGKey(0)


K1, K2, K3, K4 = jax.random.split(KEY, 4)
_A = jax.random.normal(K1, (8, 8))
_T_W = np.array([10, 20, 40, 80, 160])
_LAGS = np.array([0, 1, 3, 7])
_BUILD = {  # each built on first use, once per process (several compile small XLA programs)
    "data": lambda: data.random_sphere(K1, 6, 3),
    "x": lambda: fx()["data"].x,
    "y": lambda: fx()["data"].y,
    "fc": lambda: nets.FCNet(K2, 3, 4, 2),
    "mlp": lambda: nets.MLP(K3, 3, 4, 2),
    "images": lambda: jax.random.normal(K4, (3, 1, 5, 5)),
    "diffeo": lambda: diffeo.MaxEntDiffeo(1e-3, 3),
    "field": lambda: fx()["diffeo"].sample(K4, 5, count=3),
    "theta": lambda: nets.flat_params(fx()["fc"]),
    "snapshots": lambda: jnp.stack([fx()["theta"] + 0.01 * i for i in range(3)]),
    "k": lambda: kernels.gram(kernels.Laplace(1.0), fx()["x"]),
    "t_w": lambda: _T_W,
    "t_star": lambda: np.stack([_T_W**0.7 * (1 + 0.1 * i) for i in range(3)]).astype(float),
    "lags": lambda: _LAGS,
    "schedule": lambda: aging.snapshot_schedule(np.array([2, 4]), _LAGS, 20),
    "n_snap": lambda: int(fx()["schedule"].size),
    "matvec": lambda: lambda v: (_A @ _A.T) @ v,
    "curve": lambda: learning_curves.nearest_neighbour_curve(K1, fx()["x"], (2, 4, 6), repeats=2),
    "gaps": lambda: np.asarray(jax.random.normal(K2, (2, 30))),
    "parts": lambda: curvature.decompose(losses.QuadraticHinge(), fx()["fc"], fx()["data"]),
    "other_data": lambda: data.random_sphere(K1, 6, 4),
    "class_data": lambda: data.ring_mixture(K1, 6, n_classes=4),
    "problem": lambda: pomdp.TwoHypothesis(mu=0.1, reset=1e-2),
    "ram": lambda: pomdp.RAM.random(K1, 2),
    "memento": lambda: pomdp.Memento.random(K2, 2),
}


class _Fixtures(dict):
    def __missing__(self, name):
        self[name] = value = _BUILD[name]()
        return value


_FIXTURES = _Fixtures()


def fx() -> _Fixtures:
    """Tiny shared objects, each built lazily once per process."""
    return _FIXTURES


BINARY_LOSSES = (losses.QuadraticHinge(), losses.LinearHinge(), losses.SoftHinge(), losses.CrossEntropy())


def _hinge():
    return O(losses.QuadraticHinge(), choices=BINARY_LOSSES)


def _template(**kw):
    args = _model_data()
    return dict(loss=args["loss"], template=args["model"], data=args["data"], **kw)


def _model_data():
    f = fx()
    return dict(loss=_hinge(), model=O(f["fc"]), data=O(f["data"], bad=(f["other_data"], f["class_data"])))


# ----------------------------------------------------------------------------------------------------
# the registry: qualified name -> (callable, valid arguments, pairs that must have the same length)


@dataclasses.dataclass
class Case:
    fn: object
    args: object  # () -> dict[str, Arg]
    pairs: tuple[tuple[str, str], ...] = ()
    names: dict = dataclasses.field(default_factory=dict)  # argument -> other names its errors may use


def _sample_field(**kw):
    return lambda: dict(self=Fix(fx()["diffeo"]), **kw)


CASES: dict[str, Case] = {}


def case(name, fn, args, pairs=(), **names):
    CASES[name] = Case(fn, args, pairs, names)


f_ = fx  # short alias in the lambdas below

# fmt: off
# aging
case("aging.aging_grid", aging.aging_grid,
     lambda: dict(steps=S(1000), n_waiting=S(4, 2), n_lags=S(5, 2), first_waiting=S(10)))
case("aging.snapshot_schedule", aging.snapshot_schedule,
     lambda: dict(t_w=IA(np.array([2, 4])), t=IA(f_()["lags"]), steps=S(20)))
case("aging.msd", aging.msd,
     lambda: dict(snapshots=A(jnp.ones((f_()["n_snap"], 4)), "add_dim", "trailing"),
                  snapshot_steps=IA(f_()["schedule"]), t_w=IA(np.array([2, 4])), t=IA(f_()["lags"])),
     snapshots=("snapshot_steps",), snapshot_steps=("snapshots",))
case("aging.relaxation_time", aging.relaxation_time,
     lambda: dict(t=IA(f_()["lags"]),
                  delta=A(jnp.array([0.0, 0.005, 0.02, 0.05]), "add_dim", "nan"),  # NaN: beyond the run
                  delta_star=R(0.01)),
     t=("delta",), delta=("t",))
case("aging.fit_aging_exponent", aging.fit_aging_exponent,
     lambda: dict(t_w=IA(f_()["t_w"], "as_float"),
                  t_star=A(f_()["t_star"], "add_dim", "drop_lead", "nan", "inf"),  # NaN: never relaxed
                  n_boot=S(20),
                  confidence=R(0.95, high=1.0, open_low=True)),
     t_w=("t_star",), t_star=("t_w",))
case("aging.scaled_lags", aging.scaled_lags,
     lambda: dict(t_w=IA(f_()["t_w"]), t=IA(f_()["lags"]), mu=R(0.7, -math.inf)))
case("aging.collapse_error", aging.collapse_error,
     lambda: dict(t_w=IA(np.array([2, 4])), t=IA(f_()["lags"]), delta=A(jnp.ones((2, 4)) * 0.1, "nan", "inf"),
                  mu=R(0.7, -math.inf), n_grid=S(10, 2)),
     t_w=("delta",), t=("delta",), delta=("t_w", "t"))
case("aging.collapse_exponent", aging.collapse_exponent,
     lambda: dict(t_w=IA(np.array([2, 4])), t=IA(f_()["lags"]),
                  delta=A(jnp.ones((2, 4)) * 0.1, "nan", "inf")),
     t_w=("delta",), t=("delta",), delta=("t_w", "t"))
case("aging.gradient_norms", aging.gradient_norms,
     lambda: _template(snapshots=A(f_()["snapshots"], "add_lead"), weight_decay=R(0.0, open_low=False)),
     data=("data.x", "data.y", "template"), snapshots=("template",))
case("aging.gradient_norm_rms", aging.gradient_norm_rms,
     lambda: dict(snapshot_steps=IA(np.array([0, 5, 10])), norms=A(jnp.ones(3), "add_dim"), after=S(2, 0)),
     snapshot_steps=("norms",), norms=("snapshot_steps",))
case("aging.hessian_spectra", aging.hessian_spectra,
     lambda: _template(snapshots=A(f_()["snapshots"]), weight_decay=R(0.0, open_low=False)),
     data=("data.x", "data.y", "template"), snapshots=("template",))
# aging_sweep
case("experiments.aging.AgingConfig", aging_sweep.AgingConfig,
     lambda: dict(depths=Sizes((1, 2)), runs=S(3), lr=R(0.05), weight_decay=R(1e-4, open_low=False),
                  n_waiting=S(4, 2), n_lags=S(5), first_waiting=S(10), delta_star=R(0.01), fit_low=S(10),
                  gradient_after=S(10, 0), hessian_points=S(3, 2), hessian_runs=S(1, 0), n_records=S(5),
                  steps=S(100), batch_size=S(10), n_train=S(100), data=O(("synthetic",), bad=((), ("x",)))))
case("experiments.aging.load_problem", aging_sweep.load_problem,
     lambda: dict(config=O(aging_sweep.AgingConfig(data=("synthetic",), n_train=20, batch_size=5, steps=50,
                                                          gradient_after=10, fit_low=10)),
                  name=O("synthetic", bad=("imagenet",)), key=Key()))
# curvature
for _name in ("decompose", "hessian"):
    case(f"curvature.{_name}", getattr(curvature, _name),
         lambda: dict(**_model_data(), chunk_size=S(4), block_size=S(4)), data=("data.x", "data.y", "model"))
case("curvature.jacobian", curvature.jacobian,
     lambda: dict(model=O(f_()["fc"]), x=A(f_()["x"], "add_dim", "drop_dim"), chunk_size=S(4)))
case("curvature.spectrum", curvature.spectrum, lambda: dict(matrix=A(f_()["k"])))
case("curvature.summarize", curvature.summarize,
     lambda: dict(eigenvalues=A(jnp.array([0.0, 1e-3, 1.0, 2.0]), "trailing"), rtol=R(1e-8, open_low=False)))
case("curvature.hessian_summaries", curvature.hessian_summaries,
     lambda: dict(parts=O(f_()["parts"]), rtol=R(1e-8, open_low=False)))
for _name in ("hvp", "h0vp", "hpvp"):
    case(f"curvature.{_name}", getattr(curvature, _name),
         lambda: dict(**_model_data(), v=A(jnp.ones_like(f_()["theta"]))),
         data=("data.x", "data.y", "model"), v=("model",))
case("curvature.operators", curvature.operators, lambda: dict(**_model_data()),
     data=("data.x", "data.y", "model"))
case("curvature.operator", curvature.operator,
     lambda: dict(**_model_data(), part=O("h", bad=("h1",))), data=("data.x", "data.y", "model"))
case("curvature.top_eigenvalues", curvature.top_eigenvalues,
     lambda: dict(matvec=O(f_()["matvec"]), n=S(8), k=S(2), key=Key(), krylov_depth=S(6),
                  which=O("largest", bad=("middle",))))
case("curvature.trace_estimate", curvature.trace_estimate,
     lambda: dict(matvec=O(f_()["matvec"]), n=S(8), key=Key(), num_samples=S(4), probe_batch=S(2)))
for _name in ("spectral_density", "log_spectral_density"):
    case(f"curvature.{_name}", getattr(curvature, _name),
         lambda: dict(matvec=O(f_()["matvec"]), n=S(8), key=Key(), num_probes=S(2), krylov_depth=S(4),
                      n_grid=S(16, 2)))
case("curvature.peak_memory_estimate_bytes", curvature.peak_memory_estimate_bytes,
     lambda: dict(n=S(8), krylov_depth=S(4), probe_batch=S(2)))
case("curvature.n_eff", curvature.n_eff,
     lambda: dict(model=O(f_()["fc"]), data=O(f_()["data"], bad=(f_()["other_data"],)),
                  rtol=R(1e-8, open_low=False),
                  chunk_size=S(4), method=O("auto", bad=("qr",))),
     data=("data.x", "model"))
case("curvature.tangent_matrix", curvature.tangent_matrix,
     lambda: dict(model=O(f_()["fc"]), x=A(f_()["x"], "add_dim"), chunk_size=S(4)))
# data
case("data.Dataset", data.Dataset,
     lambda: dict(x=A(f_()["x"], "add_dim", "trailing"), y=B(f_()["y"]), x_test=A(f_()["x"][:3], "add_dim"),
                  y_test=B(f_()["y"][:3]), n_classes=Fix(None)),
     pairs=(("x", "y"), ("x_test", "y_test")))
case("data.random_sphere", data.random_sphere,
     lambda: dict(key=Key(), n_train=S(4), dim=S(3), n_test=S(2, 0),
                  center=O(False, choices=(True,)), balanced=O(False, choices=(True,))))
case("data.stripe", data.stripe,
     lambda: dict(key=Key(), n_train=S(4), dim=S(3), n_test=S(2, 0), boundaries=O((-0.3, 1.2), bad=((),))))
case("data.ring_mixture", data.ring_mixture,
     lambda: dict(key=Key(), n_train=S(4), n_test=S(2, 0), n_classes=S(4, 2), blobs_per_class=S(2),
                  spread=R(0.3)))
case("data.ring_mixture_bayes_accuracy", data.ring_mixture_bayes_accuracy,
     lambda: dict(key=Key(), n_samples=S(100), n_classes=S(4, 2), blobs_per_class=S(2), spread=R(0.3)))
case("data.normalize_on_sphere", data.normalize_on_sphere,
     lambda: dict(x=A(f_()["x"], "add_dim", "trailing", "drop_dim", bad=(jnp.zeros((3, 2)),))))
case("data.pca", data.pca, lambda: dict(x=A(f_()["x"], "add_dim", "trailing"), n_components=S(2, bad=(99,))),
     x=("n_components",))
case("data.parity_labels", data.parity_labels,  # any integer has a parity
     lambda: dict(classes=Arg(jnp.array([0, 1, 2, 3]), "class_labels", ("out_of_range",))))
case("data.digits", data.digits,
     lambda: dict(key=Key(), n_train=S(20), n_test=S(5, 0), pca_dim=S(3, bad=(1000,))))
case("data.standardize_channels", data.standardize_channels, lambda: dict(x=A(f_()["images"], "trailing")))
case("data.digit_images", data.digit_images,
     lambda: dict(key=Key(), n_train=S(10), n_test=S(2, 0), size=S(8, 3)))
# diffeo
case("diffeo.MaxEntDiffeo", diffeo.MaxEntDiffeo,
     lambda: dict(temperature=R(1e-3, open_low=False), cutoff=R(3, 1.0, open_low=False)))
case("diffeo.MaxEntDiffeo.sample", diffeo.MaxEntDiffeo.sample,
     _sample_field(key=Key(), n=S(5, 3), count=S(2)))
case("diffeo.deform", diffeo.deform,
     lambda: dict(images=A(f_()["images"], "add_dim", "drop_lead"),
                  field=A(f_()["field"], "add_dim", "drop_dim"),
                  interpolation=O("bilinear", bad=("cubic",))),
     images=("field",), field=("images",))
case("diffeo.smoothed", diffeo.smoothed,
     lambda: dict(images=A(f_()["images"], "add_dim", "drop_dim", "empty", "trailing"),
                  interpolation=O("gaussian", bad=("cubic",))))
case("diffeo.temperature_range", diffeo.temperature_range,
     lambda: dict(n=S(8, 3), cutoff=R(3, 1.0, open_low=False)))
case("diffeo.typical_displacement", diffeo.typical_displacement,
     lambda: dict(temperature=R(1e-3, open_low=False), cutoff=R(3, 1.0, open_low=False), n=S(8, 3)))
case("diffeo.temperature_for", diffeo.temperature_for,
     lambda: dict(delta=R(1.0, open_low=False), cutoff=R(3, 1.0, open_low=False), n=S(8, 3)))
case("diffeo.rms_displacement", diffeo.rms_displacement,
     lambda: dict(field=A(f_()["field"], "add_dim", "drop_lead", "empty")))
case("diffeo.max_xi", diffeo.max_xi, lambda: dict(field=A(f_()["field"], "add_dim", "drop_lead", "empty")))
case("diffeo.cutoff_from_reference", diffeo.cutoff_from_reference,
     lambda: dict(cut=R(3, 1.0, open_low=False)))
case("diffeo.random_deform", diffeo.random_deform,
     lambda: dict(key=Key(), images=A(f_()["images"], "add_dim", "drop_lead"),
                  temperature=R(1e-3, open_low=False), cutoff=R(3, 1.0, open_low=False),
                  interpolation=O("bilinear", bad=("cubic",))))
case("diffeo.RandomDiffeo", diffeo.RandomDiffeo,
     lambda: dict(cutoffs=Sizes((2.0, 3.0), 1.0), concentration=R(2.0), bias=R(1.0),
                  interpolation=O("bilinear", bad=("cubic",))))
case("diffeo.RandomDiffeo.sample", diffeo.RandomDiffeo.sample,
     lambda: dict(self=Fix(diffeo.RandomDiffeo((2, 3))), key=Key(), n=S(8, 3), count=S(2)))
case("diffeo.RandomDiffeo.__call__", diffeo.RandomDiffeo.__call__,
     lambda: dict(self=Fix(diffeo.RandomDiffeo((2, 3))), key=Key(),
                  images=A(f_()["images"], "add_dim", "drop_lead")))
# diffeo_sweep
_TINY_DIFFEO = dict(image_size=8, n_train=(8,), n_test=8, n_probes=4, seeds=1, steps=2, field_temperatures=3,
                    field_samples=4, stripe_n_train=(8,))
case("experiments.diffeo.DiffeoConfig", diffeo_sweep.DiffeoConfig,
     lambda: dict(image_size=S(8, 3), n_train=Sizes((8, 16)), n_test=S(8), n_probes=S(4, 2), seeds=S(1),
                  steps=S(2), lr=R(1e-3), cutoff=R(3.0), delta=R(1.0), field_cutoffs=Sizes((3.0,), 0.0),
                  field_temperatures=S(3, 2), field_samples=S(4),
                  stripe_n_train=Sizes((8,), 1, "empty_tuple"),  # empty: no stripe model
                  stripe_dim=S(5, 2), fc_width=S(4), fc_depth=S(2), cnn_channels=S(2),
                  data=O("digits", bad=("imagenet",)), architectures=O(("fc",), bad=((), ("rnn",)))))
for _name in ("plan", "image_side"):
    case(f"experiments.diffeo.{_name}", getattr(diffeo_sweep, _name),
         lambda: dict(config=O(diffeo_sweep.DiffeoConfig(**_TINY_DIFFEO))))
case("experiments.diffeo.load_images", diffeo_sweep.load_images,
     lambda: dict(config=O(diffeo_sweep.DiffeoConfig(**_TINY_DIFFEO)), key=Key()))
case("experiments.diffeo.field_statistics", diffeo_sweep.field_statistics,
     lambda: dict(config=O(diffeo_sweep.DiffeoConfig(**_TINY_DIFFEO)), n=S(8, 3), key=Key()))
case("experiments.diffeo.deformation_grid", diffeo_sweep.deformation_grid,
     lambda: dict(config=O(diffeo_sweep.DiffeoConfig(**_TINY_DIFFEO)),
                  image=A(jnp.ones((1, 8, 8)), "drop_dim"),
                  key=Key(), n_temperatures=S(3, 2)))
# fits
_POS = np.exp(np.linspace(-3.0, 1.0, 40))
case("fits.log_binned_density", fits.log_binned_density,
     lambda: dict(values=A(_POS, "trailing"), n_bins=S(5), low=R(1e-3), high=R(10.0), total=S(50)))
case("fits.power_law_fit", fits.power_law_fit,
     lambda: dict(values=A(_POS, "trailing"), n_bootstrap=S(5, 0), window=O(None, bad=((1.0, 0.1),)),
                  quantiles=O((0.01, 0.5), bad=((0.5, 0.01), (-1.0, 0.5)))))
_XS = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
for _name in ("scaling_fit", "offset_fit"):
    case(f"fits.{_name}", getattr(fits, _name),
         lambda: dict(x=A(_XS), y=A(3.0 * _XS**-0.5, "nan", "inf"),  # non-finite y are left out
                      low=R(0.5, -math.inf, "inf", bad=(100.0, math.inf)),
                      high=R(20.0, -math.inf, "inf", bad=(0.1, -math.inf))),
         pairs=(("x", "y"),), x=("y",), low=("x", "high"), high=("x", "low"))  # empty x: y's length differs
case("fits.bootstrap_scaling_fit", fits.bootstrap_scaling_fit,
     lambda: dict(x=A(_XS, "as_int", "as_bool"),
                  values=A(np.stack([_XS**-0.5, 1.1 * _XS**-0.5]), "nan", "inf"),
                  n_boot=S(5)),
     x=("values",), values=("x",))
# jamming
for _name in ("gaps", "n_delta"):
    case(f"jamming.{_name}", getattr(jamming, _name), lambda: _model_data(),
         data=("data.x", "data.y", "model"))
case("jamming.n_misclassified", jamming.n_misclassified,
     lambda: dict(model=O(f_()["fc"]), data=O(f_()["data"], bad=(f_()["other_data"], f_()["class_data"]))),
     data=("data.x", "data.y", "model"))
case("jamming.overlap_distributions", jamming.overlap_distributions,
     lambda: dict(gaps=A(f_()["gaps"], "nan", "as_int", "as_bool", "trailing"),  # NaN: padding; any P
                  losses=A(np.array([0.1, 0.2]), "as_int", "as_bool"), n_bins=S(4), n_bootstrap=S(5, 2),
                  min_value=R(1e-8)),
     gaps=("losses",), losses=("gaps",))
case("jamming.find_jamming", jamming.find_jamming,
     lambda: dict(loss=_hinge(), data=O(f_()["data"], bad=(f_()["class_data"],)),
                  make=O(lambda key, h: nets.FCNet(key, 3, h, 2)), method=O(train.Adam(1e-2)),
                  low=S(2), high=S(4, bad=(1,)), steps=S(5), key=Key(), seeds=S(1),
                  fraction=R(0.5, high=1.0), end=O(None), progress=Fix(False)),
     data=("data.y",), high=("low",))
case("jamming.point_outcome", jamming.point_outcome,
     lambda: dict(outcomes=IA(np.array([1, 2, 0])), fraction=R(0.5, high=1.0)))
case("jamming.jamming_bracket", jamming.jamming_bracket,
     lambda: dict(p_over_n=A(np.array([1.0, 2.0, 3.0]), "as_int", "as_bool"),  # any finite reals
                  outcomes=IA(np.array([1, 0, 2]))),
     p_over_n=("outcomes",), outcomes=("p_over_n",))
# kernel_sweep
case("experiments.kernels.KernelsConfig", kernel_sweep.KernelsConfig,
     lambda: dict(dims=Sizes((1, 2)), ns=Sizes((8, 16)), n_test=S(8), repeats=S(2), fit_low=S(8),
                  data_ns=Sizes((8,)), data_n_test=S(8), data_repeats=S(2), data_fit_low=S(8),
                  kpca_points=S(300, 200), sphere_dims=Sizes((2,)), sphere_ns=Sizes((16,)), nn_repeats=S(1),
                  data_nn_ns=Sizes((16,)), data_sigma=R(1.0),
                  teachers=O(("laplace",), bad=((), ("cosine",)))))
case("experiments.kernels.load_points", kernel_sweep.load_points,
     lambda: dict(config=O(kernel_sweep.KernelsConfig()), key=Key()))
# kernels
for _name in ("Laplace", "Gaussian"):
    case(f"kernels.{_name}", getattr(kernels, _name), lambda: dict(sigma=R(1.0)))
case("kernels.Matern", kernels.Matern, lambda: dict(nu=R(1.5), sigma=R(1.0)))
case("kernels.kernel_named", kernels.kernel_named,
     lambda: dict(name=O("laplace", bad=("cosine",)), sigma=R(1.0)))
case("kernels.gram", kernels.gram,
     lambda: dict(kernel=O(kernels.Laplace(1.0)), x=A(f_()["x"]), y=A(f_()["x"][:4]), block_size=S(4)),
     x=("y",), y=("x",))
case("kernels.nearest_neighbour_distances", kernels.nearest_neighbour_distances,
     lambda: dict(x=A(f_()["x"], "trailing"), block_size=S(4)))
# learning_curves
case("learning_curves.teacher_student_curve", learning_curves.teacher_student_curve,
     lambda: dict(key=Key(), teacher=O(kernels.Laplace(1.0)), student=O(kernels.Laplace(1.0)), d=S(2),
                  ns=Sizes((4, 8)), n_test=S(8), repeats=S(1), ridge=R(0.0, open_low=False)))
case("learning_curves.data_curve", learning_curves.data_curve,
     lambda: dict(key=Key(), student=O(kernels.Laplace(1.0)), x=A(f_()["x"], "trailing"),
                  y=B(f_()["y"], "not_binary"),  # regression targets are any reals
                  ns=Sizes((2, 3)), n_test=S(2), repeats=S(1), ridge=R(0.0, open_low=False), c=R(10.0),
                  task=O("regression", bad=("ranking",)), progress=Fix(False)),
     pairs=(("x", "y"),), x=("y",), y=("x",))
case("learning_curves.fit_decay", learning_curves.fit_decay,
     lambda: dict(curve=Arg(f_()["curve"], "curve"), n_boot=S(5, 0),
                  confidence=R(0.9, open_low=False, high=1.0),
                  low=R(1.0, -math.inf, "inf", bad=(100.0,))),
     low=("x",))
case("learning_curves.kernel_pca_tail", learning_curves.kernel_pca_tail,
     lambda: dict(k=A(f_()["k"]), z=A(f_()["y"])), k=("z",), z=("k",))
case("learning_curves.nearest_neighbour_curve", learning_curves.nearest_neighbour_curve,
     lambda: dict(key=Key(), x=A(f_()["x"], "trailing"), ns=Sizes((2, 4), 2, bad=((99,),)), repeats=S(1)))
case("learning_curves.effective_dimension", learning_curves.effective_dimension,
     lambda: dict(curve=Arg(f_()["curve"], "curve"), n_boot=S(5, 0)))
# losses
for _name in ("QuadraticHinge", "LinearHinge", "MultiClassHinge"):
    case(f"losses.{_name}", getattr(losses, _name), lambda: dict(margin=R(0.5)))
case("losses.SoftHinge", losses.SoftHinge, lambda: dict(sharpness=R(20.0), margin=R(1.0)))
case("losses.CrossEntropy", losses.CrossEntropy, lambda: dict(margin=R(0.0, open_low=False)))
case("losses.mean_loss", losses.mean_loss,
     lambda: dict(loss=_hinge(), f=A(f_()["x"][:, 0], "as_int", "as_bool", "add_dim"), y=B(f_()["y"]),
                  output_scale=R(1.0)),
     pairs=(("f", "y"),), f=("y",), y=("f",))
case("losses.objective", losses.objective,
     lambda: dict(loss=_hinge(), model=O(f_()["fc"]), x=A(f_()["x"]), y=B(f_()["y"])), pairs=(("x", "y"),),
     model=("x",), x=("y",), y=("x",))
# nets
case("nets.FCNet", nets.FCNet,
     lambda: dict(key=Key(), in_dim=S(3), width=S(4), depth=S(1), n_outputs=S(1), softplus_beta=R(5.0),
                  bias_scale=R(0.0, open_low=False), activation=O("relu", bad=("gelu",))))
case("nets.MLP", nets.MLP,
     lambda: dict(key=Key(), in_dim=S(3), width=S(4), depth=S(1), n_outputs=S(1),
                  init=O("xavier_uniform", bad=("zeros",), choices=("lecun_normal", "orthogonal"))))
case("nets.SmallCNN", nets.SmallCNN,
     lambda: dict(key=Key(), input_shape=Sizes((1, 5, 5), bad=((1, 5),)), channels=S(2), n_outputs=S(1),
                  softplus_beta=R(5.0)))
case("nets.Centered", nets.Centered, lambda: dict(model=O(f_()["fc"]), output_scale=R(2.0)))
case("nets.unwrap", nets.unwrap,
     lambda: dict(model=O(nets.Centered(f_()["fc"], 2.0), choices=(f_()["fc"],))))
case("nets.activation_function", nets.activation_function,
     lambda: dict(activation=O("softplus", bad=("gelu",)), softplus_beta=R(5.0)))
case("nets.unit_variance_prefactor", nets.unit_variance_prefactor,
     lambda: dict(activation=O("softplus", bad=("gelu",)), softplus_beta=R(5.0)))
case("nets.outputs", nets.outputs, lambda: dict(model=O(f_()["fc"]), x=A(f_()["x"])), model=("x",))
case("nets.flat_outputs", nets.flat_outputs,  # inputs are reshaped to the model's: (P, 3, 1) is valid
     lambda: dict(model=O(f_()["fc"]), x=A(f_()["x"], "add_trail")), model=("x",))
for _name in ("n_params", "flat_params", "layer_maps", ):
    case(f"nets.{_name}", getattr(nets, _name), lambda: dict(model=O(f_()["fc"])))
case("nets.mlp_n_params", nets.mlp_n_params,
     lambda: dict(in_dim=S(3), width=S(4), depth=S(1), n_outputs=S(1)))
case("nets.width_for_params", nets.width_for_params,
     lambda: dict(in_dim=S(3), depth=S(1), n_outputs=S(1), n_params=S(100)))
case("nets.with_flat_params", nets.with_flat_params,
     lambda: dict(model=O(f_()["fc"]), theta=A(f_()["theta"])), theta=("model",))
case("nets.ensemble", nets.ensemble,
     lambda: dict(make=O(lambda k: nets.FCNet(k, 3, 4, 2)), keys=O(jax.random.split(KEY, 2),
                                                                    bad=(jnp.zeros((2, 2)), KEY[:0]))))
case("nets.ensemble_outputs", nets.ensemble_outputs,
     lambda: dict(models=O(nets.ensemble(lambda k: nets.FCNet(k, 3, 4, 2), jax.random.split(KEY, 2)),
                           bad=(f_()["fc"],)),
                  x=A(f_()["x"])),
     models=("x",), x=("models",))
# ntk
case("ntk.ntk", ntk.ntk,
     lambda: dict(model=O(f_()["fc"]), x1=A(f_()["x"]), x2=A(f_()["x"][:4]), chunk_size=S(4),
                  memory_bytes=S(10**6), method=O("auto", bad=("exact",))),
     x1=("x2", "model"), x2=("x1", "model"))
case("ntk.ntk_method", ntk.ntk_method, lambda: dict(model=O(f_()["fc"]), memory_bytes=S(10**6)))
case("ntk.ntk_vector_product", ntk.ntk_vector_product,
     lambda: dict(model=O(f_()["fc"]), x=A(f_()["x"]), v=A(jnp.ones(6), "add_dim")),
     pairs=(("x", "v"),), x=("v", "model"), v=("x", "model"))
case("ntk.ntk_operator", ntk.ntk_operator, lambda: dict(model=O(f_()["fc"]), x=A(f_()["x"])), x=("model",))
case("ntk.kernel_change", ntk.kernel_change,
     lambda: dict(model_t=O(f_()["fc"], bad=(f_()["mlp"],)), model_0=O(f_()["fc"]), x=A(f_()["x"])),
     x=("model_t", "model_0"), model_t=("model_0",))
case("nets.linearize", nets.linearize, lambda: dict(model=O(f_()["fc"])))
case("ntk.ntk_regression", ntk.ntk_regression,
     lambda: dict(model=O(f_()["fc"]), data=O(f_()["data"], bad=(f_()["other_data"],)),
                  x_test=A(f_()["x"][:2]), ridge=R(0.0, open_low=False)),
     data=("data.x", "model"), x_test=("model", "data.x"))
# pomdp: float64 (conftest enables x64); RAM of M = 2 states, Memento of length m = 2
_UNIT = dict(high=1.0, bad=(1.0,))  # a probability in (0, 1) or [0, 1)


def _problem():
    return O(f_()["problem"])


def _memory():
    return O(f_()["ram"], choices=(f_()["ram"], f_()["memento"]))


case("pomdp.TwoHypothesis", pomdp.TwoHypothesis,
     lambda: dict(mu=R(0.1, 0.0, open_low=False, **_UNIT), reset=R(1e-2, **_UNIT)))
case("pomdp.RAM", pomdp.RAM,
     lambda: dict(policy_logits=A(f_()["ram"].policy_logits), reset_logits=A(f_()["ram"].reset_logits)),
     policy_logits=("reset_logits",), reset_logits=("policy_logits", "len(reset_logits)"))
case("pomdp.RAM.random", pomdp.RAM.random, lambda: dict(key=Key(), size=S(2)))
case("pomdp.Memento", pomdp.Memento, lambda: dict(policy_logits=A(f_()["memento"].policy_logits)))
case("pomdp.Memento.random", pomdp.Memento.random, lambda: dict(key=Key(), length=S(2)))
case("pomdp.history_index", pomdp.history_index,
     lambda: dict(arms=O("AB", bad=("AC", "")), rewards=O("+-", bad=("+*", "+"))),
     arms=("rewards",), rewards=("arms",))
case("pomdp.history", pomdp.history, lambda: dict(index=S(3, 0)))
for _name in ("transition_matrix", "steady_state", "mean_reward", "expected_gain", "gain_hessian"):
    case(f"pomdp.{_name}", getattr(pomdp, _name), lambda: dict(problem=_problem(), memory=_memory()))
case("pomdp.steady_state_power", pomdp.steady_state_power,
     lambda: dict(problem=_problem(), memory=_memory(), tol=R(1e-13), max_squarings=S(64)))
case("pomdp.worst_arm_probability", pomdp.worst_arm_probability,
     lambda: dict(problem=_problem(), memory=_memory(), per_hypothesis=O(False)))
case("pomdp.NegativeGain", pomdp.NegativeGain, lambda: dict(problem=_problem()))
case("pomdp.column_of_confidence", pomdp.column_of_confidence,
     lambda: dict(size=S(2), epsilon=R(0.05, 0.0, open_low=False, high=1.0), offset=R(0.0, open_low=False)))
case("pomdp.ccp_exit_rate_profile", pomdp.ccp_exit_rate_profile,
     lambda: dict(problem=_problem(), size=S(2),
                  epsilon=A(jnp.array([0.01, 0.1]), "empty", "trailing")))  # any number of rates, even none
case("pomdp.optimal_ccp_exit_rate", pomdp.optimal_ccp_exit_rate,
     lambda: dict(problem=_problem(), size=S(2), xatol=R(1e-10)))
case("pomdp.ccp_ram", pomdp.ccp_ram,
     lambda: dict(problem=_problem(), size=S(2), offset=R(1e-4, open_low=False)))
for _name in ("linear_ram", "columns_ram"):
    case(f"pomdp.{_name}", getattr(pomdp, _name),
         lambda: dict(key=Key(), size=S(2), offset=R(1e-4, open_low=False)))
case("pomdp.cycles_memento", pomdp.cycles_memento,
     lambda: dict(key=Key(), length=S(2), offset=R(1e-4, open_low=False)))
case("pomdp.necklace_policy", pomdp.necklace_policy,
     lambda: dict(length=S(2), epsilon0=R(0.01, 0.0, open_low=False, high=1.0),
                  epsilon1=R(0.1, 0.0, open_low=False, high=1.0), offset=R(0.0, open_low=False)))
for _name in ("hellman_cover_q", "ccp_q"):
    case(f"pomdp.{_name}", getattr(pomdp, _name),
         lambda: dict(mu=R(0.1, 0.0, open_low=False, **_UNIT), M=S(2)))
case("pomdp.ccp_q_general", pomdp.ccp_q_general,
     lambda: dict(k_a=R(0.55, high=1.0, bad=(1.0, 0.4)), k_b=R(0.45, high=1.0, bad=(1.0, 0.6)), M=S(2)),
     k_a=("k_b",), k_b=("k_a",))
for _name in ("ccp_exit_rate", "ccp_exit_rate_printed"):
    case(f"pomdp.{_name}", getattr(pomdp, _name),
         lambda: dict(mu=R(0.1, **_UNIT), M=S(2, 2), reset=R(1e-2, **_UNIT)))
case("pomdp.necklace_bound", pomdp.necklace_bound,
     lambda: dict(mu=R(0.1, 0.0, open_low=False, **_UNIT), m=S(2),
                  n=O(None, "wrong_type", bad=("3", 1, 4, 2.5))))  # wrong_type draws 3 = N(2), valid
_RATES = lambda: dict(left=A(np.array([0.2, 0.3])), right=A(np.array([0.3, 0.4])))  # noqa: E731
case("pomdp.escape_probability", pomdp.escape_probability, _RATES, left=("right",), right=("left",))
case("pomdp.end_occupation", pomdp.end_occupation, lambda: dict(**_RATES(), L=R(1.0), R=R(2.0)),
     left=("right",), right=("left",))
case("pomdp.necklace_of", pomdp.necklace_of, lambda: dict(word=O((0, 1, 1), bad=((), (0, 2)))))
case("pomdp.necklaces", pomdp.necklaces, lambda: dict(m=S(3, bad=(pomdp.NECKLACES_MAX_M + 1,))))
case("pomdp.necklace_count", pomdp.necklace_count, lambda: dict(m=S(3)))
case("pomdp.gray_chain", pomdp.gray_chain, lambda: dict(m=S(3, bad=(pomdp.GRAY_CHAIN_MAX_M + 1,))))
case("pomdp.is_gray_chain", pomdp.is_gray_chain,
     lambda: dict(chain=O(((0, 0), (0, 1), (1, 1)), bad=((), ((0, 2),), ((0, 0), (1,))))))
case("pomdp.gray_step", pomdp.gray_step,
     lambda: dict(a=O((0, 0), bad=((), (0, 2), (0, 0, 0))), b=O((0, 1), bad=((), (2,), (1, 1)))),
     a=("b",), b=("a",))
# pomdp_experiment
case("experiments.pomdp.PomdpConfig", pomdp_experiment.PomdpConfig,
     lambda: dict(mus=Sizes((0.2,), 0.0, bad=((0.2, 1.0),)), ccp_sizes=Sizes((2,), 2),
                  resets=Sizes((0.25, 0.0625, 0.015625), 0.0, bad=((0.5, 1.0, 0.25),)), ccp_steps=S(20),
                  mu=R(0.1, **_UNIT), reset=R(1e-3, **_UNIT), ram_sizes=Sizes((2,), 2),
                  memento_lengths=Sizes((2,), bad=((7,),)), equal_lengths=Sizes((2,), bad=((7,),)),
                  equal_reset=R(1e-3, **_UNIT), seeds=S(2), steps=S(50), n_records=S(5, 2),
                  hessian_max_params=S(50, 0), ram_inits=O(("random", "ccp"), bad=(("linear", "cycles"),)),
                  memento_inits=O(("necklace",), bad=((),))))
case("experiments.pomdp.plan", pomdp_experiment.plan, lambda: dict(config=O(pomdp_experiment.SMOKE)))
case("experiments.pomdp.initial_memories", pomdp_experiment.initial_memories,
     lambda: dict(config=O(pomdp_experiment.SMOKE),
                  point=O({"kind": "learning", "panel": "A", "memory": "ram", "size": 2, "init": "random",
                           "reset": 1e-3})))
# regimes
case("experiments.regimes.RegimesConfig", regimes_experiment.RegimesConfig,
     lambda: dict(n_train=S(16), n_test=S(8), pca_dim=S(3), dim=S(2), depth=S(1), widths=Sizes((4, 8)),
                  scaled_scales=Sizes((0.1, 1.0), 0.0), fluctuation_widths=Sizes((2, 4)),
                  fluctuation_scale=R(1.0), seeds=S(2, 2), steps=S(5), softplus_beta=R(5.0),
                  sharpness=R(20.0), kernel_points=S(4), data=O("digits", bad=("imagenet",))))
_TINY_REGIMES = dict(n_train=16, n_test=8, pca_dim=3, seeds=2, steps=5, widths=(4,), fluctuation_widths=(2,),
                     kernel_points=4)
case("experiments.regimes.plan", regimes_experiment.plan,
     lambda: dict(config=O(regimes_experiment.RegimesConfig(**_TINY_REGIMES))))
case("experiments.regimes.load_data", regimes_experiment.load_data,
     lambda: dict(config=O(regimes_experiment.RegimesConfig(**_TINY_REGIMES)), key=Key()))
# regression
case("regression.kernel_coefficients", regression.kernel_coefficients,
     lambda: dict(k_train=A(f_()["k"], "add_dim"), y=A(f_()["y"], "add_dim"), ridge=R(0.0, open_low=False),
                  rtol=R(1e-10), jitter=R(1e-10, open_low=False), solver=O("eigh", bad=("qr",))),
     k_train=("y",), y=("k_train",))
case("regression.kernel_regression", regression.kernel_regression,
     lambda: dict(k_train=A(f_()["k"], "add_dim"), y=A(f_()["y"], "add_dim"),
                  k_test=A(f_()["k"][:2], "add_dim", "empty"),  # empty: no test points, no predictions
                  ridge=R(0.0, open_low=False), solver=O("eigh", bad=("qr",))),
     k_train=("y", "k_test"), y=("k_train",), k_test=("k_train",))
# stability
case("stability.matched_noise", stability.matched_noise,
     lambda: dict(key=Key(), x=A(f_()["images"], "add_dim", "drop_dim"), deformed=A(f_()["images"] + 0.1,
                                                                                    "add_dim", "drop_dim")),
     pairs=(("x", "deformed"),), x=("deformed",), deformed=("x",))
case("stability.perturb", stability.perturb,
     lambda: dict(key=Key(), x=A(f_()["images"]), diffeo=O(f_()["diffeo"]),
                  interpolation=O("bilinear", bad=("cubic",))))
case("stability.stability_of", stability.stability_of,
     lambda: dict(f=O(lambda x: x.reshape(x.shape[0], -1)),
                  probes=O(stability.perturb(KEY, f_()["images"], f_()["diffeo"])),
                  average=O("median", bad=("mode",))))
case("stability.stability", stability.stability,
     lambda: dict(f=O(lambda x: x.reshape(x.shape[0], -1)), x=A(f_()["images"]), key=Key(),
                  diffeo=O(f_()["diffeo"]), average=O("median", bad=("mode",))))
case("stability.layerwise_stability", stability.layerwise_stability,
     lambda: dict(features=O([lambda x: x.reshape(x.shape[0], -1)], bad=([],)), x=A(f_()["images"]),
                  key=Key(),
                  diffeo=O(f_()["diffeo"])))
case("stability.invariant_perturbations", stability.invariant_perturbations,
     lambda: dict(key=Key(), x=A(f_()["x"], "add_dim", "trailing"), noise_norm=R(0.1),
                  n_informative=S(1, bad=(3,))))
# sweep
case("experiments.jamming.SweepConfig", sweep.SweepConfig,
     lambda: dict(sizes=Sizes((8, 16)), depths=Sizes((2,)), p_over_n=Sizes((1.0, 2.0), 0.0), dim=S(3),
                  seeds=S(1), steps=S(10), lr=R(0.01), decay_every=S(5), lr_floor=R(0.0, open_low=False),
                  margin=R(0.5), bias_scale=R(0.1, open_low=False), spectra_max_n=S(10),
                  plateau=R(0.01, high=1.0), min_steps=S(10), n_records=S(20, 10), fraction=R(0.5, high=1.0),
                  spectra_window=O((1.5, 4.5), bad=((4.5, 1.5),))))
case("experiments.jamming.weight_count", sweep.weight_count,
     lambda: dict(config=O(sweep.SweepConfig(sizes=(8,), steps=10)), width=S(4), depth=S(1)))
case("experiments.jamming.plan", sweep.plan, lambda: dict(config=O(sweep.SweepConfig(sizes=(8,), steps=10))))
# teacher_student
case("teacher_student.hypersphere", teacher_student.hypersphere, lambda: dict(key=Key(), n=S(4), d=S(1)))
case("teacher_student.teacher_field", teacher_student.teacher_field,
     lambda: dict(key=Key(), teacher=O(kernels.Laplace(1.0)), x=A(f_()["x"], "trailing"), count=S(2)))
case("teacher_student.expected_errors", teacher_student.expected_errors,
     lambda: dict(ks_train=A(f_()["k"]), ks_cross=A(f_()["k"][:, :2]), kt_train=A(f_()["k"]),
                  kt_cross=A(f_()["k"][:, :2]), ridge=R(0.0, open_low=False),
                  jitter=R(1e-10, open_low=False)),
     ks_train=("ks_cross", "kt_train", "kt_cross"), ks_cross=("ks_train", "kt_train", "kt_cross"),
     kt_train=("ks_train", "ks_cross", "kt_cross"), kt_cross=("ks_train", "ks_cross", "kt_train"))
case("teacher_student.expected_mse", teacher_student.expected_mse,
     lambda: dict(teacher=O(kernels.Laplace(1.0)), student=O(kernels.Laplace(1.0)), x_train=A(f_()["x"]),
                  x_test=A(f_()["x"][:2]), ridge=R(0.0, open_low=False)),
     x_train=("x_test",), x_test=("x_train",))
case("teacher_student.regression_mse", teacher_student.regression_mse,
     lambda: dict(k_train=A(f_()["k"]), z_train=A(f_()["y"]), k_test=A(f_()["k"][:2]),
                  z_test=A(f_()["y"][:2]),
                  ridge=R(0.0, open_low=False)),
     k_train=("z_train", "k_test"), z_train=("k_train", "k_test"), k_test=("k_train", "z_test"),
     z_test=("k_test",))
case("teacher_student.svm_error", teacher_student.svm_error,
     lambda: dict(k_train=A(f_()["k"]), y_train=B(f_()["y"]), k_test=A(f_()["k"][:2]),
                  y_test=B(f_()["y"][:2]),
                  c=R(10.0)),
     k_train=("y_train", "k_test"), y_train=("k_train", "k_test"), k_test=("k_train", "y_test"),
     y_test=("k_test",))
case("teacher_student.predicted_beta", teacher_student.predicted_beta,
     lambda: dict(alpha_teacher=R(3.0, 2.0, "inf", bad=(-math.inf,)),  # inf: Gaussian
                  alpha_student=R(3.0, 2.0, "inf", bad=(-math.inf,)), d=S(2, bad=(3,))),
     d=("alpha_teacher", "alpha_student"))
case("teacher_student.lattice_mse", teacher_student.lattice_mse,
     lambda: dict(teacher=O(kernels.Laplace(1.0)), student=O(kernels.Laplace(1.0)), n_side=S(4, 2), d=S(1),
                  period=R(1.0), aliases=S(2)))
# train: the methods check their fields when they are built (`__check_init__`)
case("train.Adam", train.Adam,
     lambda: dict(lr=R(1e-3), decay_every=S(10), decay_factor=R(0.1), lr_floor=R(0.0, open_low=False),
                  b1=R(0.9, high=1.0, open_low=False, bad=(1.0,)),
                  b2=R(0.999, high=1.0, open_low=False, bad=(1.0,)), eps=R(1e-8)))
case("train.SGD", train.SGD, lambda: dict(lr=R(0.05), batch_size=S(5), weight_decay=R(0.0, open_low=False)))
case("train.GradientFlow", train.GradientFlow,
     lambda: dict(max_output_change=R(0.1), max_grad_change=R(1e-4), dt0=R(1.0),
                  grow=R(1.1, 1.0, open_low=False), shrink=R(0.1, high=1.0), dt_min=R(1e-30)))
case("train.log_spaced_steps", train.log_spaced_steps, lambda: dict(steps=S(100), n=S(5, 2)))
_MODEL_DATA_NAMES = dict(data=("data.x", "data.y", "model"), model=("data.x",))
case("train.train", train.train,
     lambda: dict(**_model_data(), method=O(train.Adam(1e-2)), steps=S(3), key=Key(), n_records=S(3, 2),
                  n_snapshots=S(0, 0), ensemble=Fix(False), mesh=O(None), progress=Fix(False)),
     **_MODEL_DATA_NAMES)
case("train.adam", train.adam,
     lambda: dict(**_model_data(), steps=S(3), lr=R(1e-2), decay_every=S(2), decay_factor=R(0.1),
                  n_records=S(3, 2), progress=Fix(False)),
     **_MODEL_DATA_NAMES)
case("train.sgd", train.sgd,
     lambda: dict(**_model_data(), steps=S(3), key=Key(), lr=R(0.05), batch_size=S(2),
                  weight_decay=R(0.0, open_low=False), progress=Fix(False)),
     **_MODEL_DATA_NAMES)
case("train.gradient_flow", train.gradient_flow,
     lambda: dict(**_model_data(), steps=S(3), max_output_change=R(0.1), max_grad_change=R(1e-4), dt0=R(1.0),
                  progress=Fix(False)),
     **_MODEL_DATA_NAMES)
# end_state
_RECORDS = np.array([0, 10, 100, 1000])
case("end_state.EndCriterion", end_state.EndCriterion,
     lambda: dict(plateau=R(0.01, high=1.0, bad=(1.0,)), min_steps=S(10)))
case("end_state.judge", end_state.judge,
     lambda: dict(step=IA(_RECORDS), time=A(1e-3 * _RECORDS, "as_int", "as_bool"),
                  loss=A(np.array([0.3, 0.2, 0.1, 0.1]), "as_int", "as_bool"),
                  n_unsatisfied=IA(np.array([5, 4, 3, 3])),
                  learning_rate=A(np.full(4, 1e-3), "as_int", "as_bool"),
                  criterion=O(end_state.EndCriterion(min_steps=10))),
     **{name: ("step", "time", "loss", "n_unsatisfied", "learning_rate")
        for name in ("step", "time", "loss", "n_unsatisfied", "learning_rate")})
case("end_state.force_balance", end_state.force_balance, lambda: _model_data(),
     data=("data.x", "data.y", "model"))
case("end_state.can_freeze", end_state.can_freeze, lambda: dict(model=O(f_()["fc"])))
case("end_state.frozen_patterns", end_state.frozen_patterns, lambda: _model_data(),
     data=("data.x", "data.y", "model"))
case("end_state.mark_frozen", end_state.mark_frozen,
     lambda: dict(outcome=IA(np.array([2, 2, 1])), n_unsatisfied=IA(np.array([4, 3, 0])),
                  n_frozen=IA(np.array([4, 0, 0]))),
     **{name: ("outcome", "n_unsatisfied", "n_frozen") for name in ("outcome", "n_unsatisfied", "n_frozen")})
case("end_state.newton_minimum", end_state.newton_minimum,
     lambda: dict(**_model_data(), max_iterations=S(2), gradient_tol=R(1e-9), curvature_tol=R(1e-9),
                  zero_loss=R(1e-24)),
     data=("data.x", "data.y", "model"))
# ensemble
_PAIR = lambda: nets.ensemble(lambda k: nets.FCNet(k, 3, 4, 2), jax.random.split(KEY, 2))  # noqa: E731
case("ensemble.ensemble_mesh", ensemble.ensemble_mesh, lambda: dict(devices=O(None, bad=([],))))
case("nets.ensemble_size", nets.ensemble_size, lambda: dict(models=O(_PAIR(), bad=(f_()["fc"],))))
case("ensemble.ensemble_map", ensemble.ensemble_map,
     lambda: dict(fn=O(nets.flat_params), models=O(_PAIR(), bad=(f_()["fc"],)), mesh=O(None)))
case("ensemble.ensemble_mean_and_variance", ensemble.ensemble_mean_and_variance,
     lambda: dict(models=O(_PAIR(), bad=(f_()["fc"], jax.tree.map(lambda a: a[:1], _PAIR()))), x=A(f_()["x"]),
                  mesh=O(None)),
     x=("models",))
# io: the store's arguments (readers of files are tested in test_io.py)
_STORE = lambda: io.ResultStore(pathlib.Path(tempfile.mkdtemp()) / "store")  # noqa: E731
_CONFIG = lambda: O({"width": 4}, bad=("width", 4))  # noqa: E731
_RESULT = lambda: O(xr.Dataset({"a": ("i", np.arange(2.0))}), bad=({"a": 1},))  # noqa: E731


def _stored_point() -> xr.Dataset:
    store = _STORE()
    io.store_point(store, {"width": 4}, 0, xr.Dataset({"a": ("i", np.arange(2.0))}))
    return io.load_point(store, {"width": 4}, 0)


case("io.ResultStore", io.ResultStore,
     lambda: dict(root=O(pathlib.Path("store"), "wrong_type", bad=(3, None))))
case("io.point_key", io.point_key, lambda: dict(config=_CONFIG(), seed=S(0, 0)))
case("io.has_point", io.has_point, lambda: dict(store=O(_STORE()), config=_CONFIG(), seed=S(0, 0)))
case("io.store_point", io.store_point,
     lambda: dict(store=O(_STORE()), config=_CONFIG(), seed=S(0, 0), results=_RESULT()))
case("io.save_netcdf", io.save_netcdf,
     lambda: dict(results=_RESULT(),
                  path=O(pathlib.Path(tempfile.mkdtemp()) / "r.nc", "wrong_type", bad=(3,))))
case("io.run_points", io.run_points,
     lambda: dict(store=O(_STORE()), points=O([({"width": 4}, 0)], bad=(3, [({"width": 4}, -1)], ["ab"])),
                  compute=O(lambda c, s: xr.Dataset({"a": ((), float(s))})), progress=Fix(False)),
     points=("seed",))
case("io.export_store", io.export_store,
     lambda: dict(store=O(_STORE()), path=O(None, "wrong_type", bad=(3,)),
                  keys=O(None, bad=([], ["0" * 20]))),
     store=("keys",))


# experiments
case("experiments.experiment_named", experiments_package.experiment_named,
     lambda: dict(name=O("jamming", "wrong_type", bad=("jammin",))))
case("experiments.experiment_of", experiments_package.experiment_of,
     lambda: dict(config=O(sweep.SMOKE, bad=(3, {"sizes": (20,)}))))
# losses: the 0–1 loss
for _name in ("misclassified", "error_rate"):
    case(f"losses.{_name}", getattr(losses, _name),
         lambda: dict(f=A(f_()["x"][:, 0], "as_int", "as_bool", "add_lead"), y=B(f_()["y"])),
         pairs=(("f", "y"),), f=("y",), y=("f",))
# regimes
case("regimes.relative_weight_change", regimes.relative_weight_change,
     lambda: dict(model=O(f_()["fc"]), initial=O(f_()["fc"], bad=(nets.FCNet(K2, 3, 5, 2),))),
     initial=("model",))
case("regimes.scale_from_feature_lazy", regimes.scale_from_feature_lazy,
     lambda: dict(alpha=R(10.0), width=S(4)))
case("regimes.time_from_feature_lazy", regimes.time_from_feature_lazy,
     lambda: dict(time=R(1.0, open_low=False), alpha=R(10.0), width=S(4)))
# io: combining stored points
case("io.combine_points", io.combine_points,
     lambda: dict(points=O([_stored_point()], bad=([], [xr.Dataset()]))))

# fmt: on

# ----------------------------------------------------------------------------------------------------
# the tests


def _public_names():
    names = set()
    for module in MODULES:
        m = importlib.import_module(f"jamscope.{module}")
        names |= {f"{module}.{name}" for name in m.__all__}
    return names


def test_every_public_name_is_fuzzed_or_skipped():
    names = _public_names()
    registered = {name for name in CASES if name.rsplit(".", 1)[0] in MODULES}
    assert not registered & SKIPPED, registered & SKIPPED
    missing = names - registered - SKIPPED
    assert not missing, f"public names with neither a fuzz case nor a reason to skip: {sorted(missing)}"
    stale = (registered | SKIPPED) - names
    assert not stale, f"fuzz cases or skips for names that are not public: {sorted(stale)}"
    undocumented = {name for name in SKIPPED if f"``{name}``" not in __doc__}
    assert not undocumented, f"skipped names missing from the module docstring: {sorted(undocumented)}"


_QUOTED = "[`'\"]"


def _names_argument(message: str, names: tuple[str, ...]) -> bool:
    """True when `message` names one of `names`: jaxtyping's "typechecking parameter 'x'" line, or
    the name in backticks or quotes (``x``, 'x', `data.x`)."""
    if message.startswith("Type-check error"):  # its listing of all parameters names every argument
        typecheck = re.search(r"whilst typechecking parameter '([\w.]+)'", message)
        return typecheck is not None and typecheck.group(1) in names
    return any(re.search(f"{_QUOTED}{re.escape(n)}({_QUOTED}|[.\\[(])", message) for n in names)


def _count(name: str, n: int) -> None:
    root = pathlib.Path(__file__).resolve().parent.parent / ".cache" / COUNT_DIR
    root.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(root / f"{worker}.jsonl", "a") as f:
        f.write(json.dumps({"function": name, "cases": n}) + "\n")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_inputs_raise_named_errors(name):
    spec = CASES[name]
    args = spec.args()
    mutable = [(arg, m) for arg, a in args.items() for m in a.mutations()]
    mutable += [(pair, "mismatch") for pair in spec.pairs]
    assert mutable, f"{name}: no mutation applies, so the fuzz cannot fail"
    tried = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.data())
    def run(draw):
        which, mutation = draw.draw(st.sampled_from(mutable), label="argument and mutation")
        kwargs = {}
        for arg, a in args.items():
            kwargs[arg] = draw.draw(st.sampled_from(a.choices), label=arg) if a.choices else a.value
        if mutation == "mismatch":
            first, second = which
            shorten = draw.draw(st.sampled_from(which), label="shortened")
            kwargs[shorten] = kwargs[shorten][:-1]
            expected = (first, second)
        else:
            kwargs[which] = mutate(draw.draw, args[which], mutation)
            expected = (which,)
        for n in tuple(expected):
            expected += tuple(spec.names.get(n, ()))
        tried.append(1)
        try:
            result = spec.fn(**kwargs)
        except (ValueError, TypeError) as error:
            message = str(error)
            assert _names_argument(message, expected), (
                f"{name}: mutation {mutation!r} of {which!r} raised {type(error).__name__} without naming "
                f"{expected}: {message[:600]}"
            )
        except Exception as error:  # noqa: BLE001
            raise AssertionError(
                f"{name}: mutation {mutation!r} of {which!r} raised an opaque {type(error).__name__}: {error}"
            ) from error
        else:
            raise AssertionError(
                f"{name}: mutation {mutation!r} of {which!r} was accepted, returning {_short(result)}"
            )

    try:
        run()
    finally:
        _count(name, len(tried))


def _short(result) -> str:
    text = repr(result)
    return text if len(text) < 300 else text[:300] + "…"
