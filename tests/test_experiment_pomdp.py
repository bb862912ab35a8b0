"""The POMDP experiment: validation, the plan, a tiny resumable run, its summary, figures and targets."""

import json

import numpy as np
import pytest
import xarray as xr

from jamscope import cli, pomdp
from jamscope.experiments import pomdp as experiment
from jamscope.experiments import run

SMOKE = experiment.SMOKE


@pytest.mark.parametrize(
    "changes, message",
    [({"mus": (0.0,)}, "mus"), ({"resets": (1.5,)}, "resets"), ({"ccp_sizes": (1,)}, "ccp_sizes"),
     ({"memento_lengths": (7,)}, "memento_lengths"), ({"seeds": 0}, "seeds"), ({"n_records": 1}, "n_records"),
     ({"equal_reset": 0.0}, "equal_reset")],
)  # fmt: skip
def test_config_is_validated(changes, message):
    with pytest.raises((ValueError, TypeError), match=message):
        experiment.PomdpConfig(**changes)


def test_the_plan_has_every_curve_of_fig_4_and_equal_effective_sizes():
    points = experiment.plan(experiment.QUICK)
    curves = [p for p in points if p["kind"] == "learning"]
    assert len([p for p in points if p["kind"] == "ccp"]) == 2 * 3
    assert [p["init"] for p in curves if p["panel"] == "A"] == ["random", "linear", "columns", "ccp"]
    assert [p["init"] for p in curves if p["panel"] == "C"] == ["random", "cycles", "necklace"]
    pair = {p["memory"]: p["size"] for p in curves if p["panel"] == "E"}
    assert 4 * pair["ram"] == 4 ** pair["memento"]  # M_eff = 4M = 4^m
    # the random starts of one curve differ between seeds, the deterministic ones have one member
    random_ram = experiment.initial_memories(SMOKE, curves[0] | {"size": 2, "reset": 1e-3})
    assert random_ram.policy_logits.shape == (SMOKE.seeds, 10, 4)
    assert not np.allclose(random_ram.policy_logits[0], random_ram.policy_logits[1])
    ccp = experiment.initial_memories(SMOKE, curves[3] | {"size": 2, "reset": 1e-3})
    assert ccp.policy_logits.shape[0] == 1


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The smoke run, computed once: ``<root>/pomdp/`` is where `jamscope reproduce --out <root>` looks."""
    root = tmp_path_factory.mktemp("reproduce")
    return root, run(SMOKE, root / "pomdp", progress=False)["pomdp"]


@pytest.fixture(scope="module")
def results(stored):
    return stored[1]


def test_tiny_run_is_exact_where_it_must_be_and_resumes(stored, results, monkeypatch):
    # Fig. 2: the stored exact q is the chain's q of the CCP at the stored ε*
    mu, size = float(results["mu"][0]), int(results["size"][0])
    for r in results["reset"].values:
        c = results.sel(mu=mu, size=size, reset=r)
        problem = pomdp.TwoHypothesis(mu=mu, reset=float(r))
        ccp = pomdp.column_of_confidence(size, float(c["ccp_epsilon"]))
        assert float(c["ccp_q"]) == pytest.approx(float(pomdp.worst_arm_probability(problem, ccp)), rel=1e-9)
        assert float(c["ccp_learned_q"]) >= float(c["ccp_q"]) * (1 - 1e-3)  # learning does not beat the CCP
    # Fig. 4: q(t) starts at the initial memories' q and every q is a probability
    assert np.nanmin(results["q"]) >= 0 and np.nanmax(results["q"]) <= 1
    first = results.isel(curve=0)
    start = experiment.initial_memories(SMOKE, experiment.plan(SMOKE)[len(SMOKE.mus) * len(SMOKE.ccp_sizes)])
    problem = pomdp.TwoHypothesis(mu=SMOKE.mu, reset=float(first["curve_reset"]))
    q0 = [float(pomdp.worst_arm_probability(problem, m)) for m in _members(start)]
    np.testing.assert_allclose(first["q"].values[: len(q0), 0], q0, rtol=1e-10)
    # the Hessian counts add up to at most N, and N is the number of logits
    counts = results["n_negative"] + results["n_zero"]
    assert bool(((counts <= results["n_params"]) | counts.isnull()).all())
    assert float(first["n_params"][0]) == 5 * 2 * 2 * 2 + 2  # RAM M = 2: (5M × 2M) + M
    # a second run recomputes nothing and returns the same results
    monkeypatch.setattr(experiment, "_learning_point", lambda *a: pytest.fail("recomputed"))
    monkeypatch.setattr(experiment, "_ccp_point", lambda *a: pytest.fail("recomputed"))
    xr.testing.assert_identical(run(SMOKE, stored[0] / "pomdp", progress=False)["pomdp"], results)


def _members(batch):
    import jax

    return [jax.tree.map(lambda a, i=i: a[i], batch) for i in range(batch.policy_logits.shape[0])]


def test_summary_figures_and_targets(results):
    text = experiment.summarize_pomdp(results)
    assert "eq. 7" in text and "Hessian" in text and "CCP q" in text and "necklace q" in text
    assert all(len(line) <= 88 for line in text.splitlines())
    assert experiment.ccp_figure(results).axes and experiment.learning_figure(results).axes
    summary = experiment.learning_summary(results)
    ram = [c for c in summary["curve"].values if "ram" in c]
    assert np.all(np.isfinite(summary["ccp_q"].sel(curve=ram)))
    targets = experiment.pomdp_targets(results)
    quantities = [t.quantity for t in targets]
    assert sum(q.startswith("CCP q as r → 0") for q in quantities) == len(SMOKE.mus) * len(SMOKE.ccp_sizes)
    assert any("Memento / RAM" in q for q in quantities)
    assert {t.verdict for t in targets} <= {"agrees", "consistent", "differs", "not measured"}


def test_reproduce_smoke_writes_the_pomdp_rows(stored, results, monkeypatch):
    root = stored[0]
    monkeypatch.setattr(experiment, "_learning_point", lambda *a: pytest.fail("recomputed"))
    monkeypatch.setattr(experiment, "_ccp_point", lambda *a: pytest.fail("recomputed"))
    assert cli.main(["reproduce", "--smoke", "--only", "pomdp", "--out", str(root), "--quiet"]) == 0
    rows = json.loads((root / "reproduction.json").read_text())["targets"]
    assert len(rows) == len(experiment.pomdp_targets(results))
    assert {r["experiment"] for r in rows} == {"pomdp"}
