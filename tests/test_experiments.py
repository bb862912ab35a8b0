"""The experiment base: verdicts of the paper targets, the reproduction table, the dispatch of `run`
on the configuration's type, and the assembly of stored points."""

import math

import numpy as np
import pytest
import xarray as xr

from jamscope import experiments as ex
from jamscope.experiments import _base, jamming, kernels


@pytest.mark.parametrize(
    ("paper", "measured", "interval", "verdict"),
    [
        (2.8, 2.85, None, "agrees"),  # within the tolerance 0.1
        (2.8, 3.0, None, "differs"),
        ((2.8, 2.9), 2.95, None, "agrees"),  # a range widened by the tolerance
        (2.8, None, (1.6, 4.5), "consistent"),  # only a bracket, and it holds the paper's value
        (2.8, None, (3.0, 4.5), "differs"),
        (2.8, 3.5, (2.5, 4.0), "consistent"),  # off, but the interval holds it
        (2.8, None, None, "not measured"),
        (2.8, math.nan, (math.nan, math.nan), "not measured"),
    ],
)
def test_the_verdict_follows_the_tolerance_and_the_interval(paper, measured, interval, verdict):
    target = ex.compare("jamming", "P/N*", "000 Fig. 6", paper, measured, tolerance=0.1, interval=interval)
    assert target.verdict == verdict
    assert target.measured is None or math.isfinite(target.measured)


def test_the_table_has_one_row_per_target_and_counts_the_verdicts():
    targets = [
        ex.compare("jamming", "P/N*, L = 2", "000 Fig. 6", (2.8, 2.9), None, tolerance=0.0,
                   interval=(1.6, 4.5), size="N = 136"),
        ex.compare("kernels", "β | d = 1", "eq. 7", 1.0, 1.06, tolerance=0.1, interval=(1.0, 1.1)),
    ]  # fmt: skip
    text = _base.reproduction_markdown(targets, "quick")
    assert "2 targets — 1 agrees, 1 consistent" in text
    rows = [line for line in text.splitlines() if line.startswith(("| jamming", "| kernels"))]
    assert rows[0] == "| jamming | P/N*, L = 2 | 000 Fig. 6 | 2.8–2.9 | [1.6, 4.5] | N = 136 | consistent |"
    assert "β \\| d = 1" in rows[1] and "1.06 [1, 1.1]" in rows[1]  # a | in a cell is escaped


def test_run_dispatches_on_the_configuration_type():
    assert ex.experiment_of(jamming.SMOKE) is jamming.EXPERIMENT
    assert ex.experiment_of(kernels.QUICK) is kernels.EXPERIMENT
    with pytest.raises(TypeError, match="`config`"):
        ex.run({"sizes": (20,)}, "out")
    with pytest.raises(ValueError, match="`name` must be one of"):
        ex.experiment_named("jammin")


def test_every_experiment_declares_its_presets_and_help():
    for name in ex.EXPERIMENTS:
        experiment = ex.experiment_named(name)
        assert experiment.name == name
        assert {"quick", "paper", "smoke"} <= set(experiment.presets) == set(experiment.preset_help)
        assert all(isinstance(c, experiment.config_type) for c in experiment.presets.values())
        assert experiment.points(experiment.presets["smoke"])


def test_points_of_different_string_widths_concatenate_whole():
    def piece(kind):
        return xr.Dataset({"e": ("point", [1.0])}, coords={"kind": ("point", np.array([kind]))},
                          attrs={"point_key": "k"})  # fmt: skip

    merged = _base.concat_points([piece("network"), piece("linearized")], "point")
    assert merged["kind"].values.tolist() == ["network", "linearized"] and not merged.attrs


def test_a_point_at_another_precision_than_the_default_has_its_own_key(monkeypatch):
    import jax

    seen = []

    class Stop(Exception):
        pass

    def capture(store, points, compute, progress=True):
        seen.append(points)
        raise Stop

    monkeypatch.setattr(_base, "run_points", capture)
    for x64 in (True, False):  # kernels compute in float64 by default
        jax.config.update("jax_enable_x64", x64)
        with pytest.raises(Stop):
            ex.run(kernels.SMOKE, "unused")
    default, other = seen
    assert all("float64" not in config for config, _ in default)
    assert all(config["float64"] is False for config, _ in other)
    assert [c for c, _ in default] == [{k: v for k, v in c.items() if k != "float64"} for c, _ in other]
