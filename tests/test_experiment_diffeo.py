"""The diffeomorphism experiment: plan, validation, a tiny resumable run, field statistics, summaries."""

import math

import jax
import numpy as np
import pytest
import xarray as xr

from jamscope.experiments import diffeo as diffeo_sweep
from jamscope.experiments import run

TINY = diffeo_sweep.DiffeoConfig(
    image_size=8, n_train=(20, 40), n_test=30, n_probes=20, architectures=("fc",), fc_width=8, fc_depth=2,
    seeds=2, steps=30, field_cutoffs=(3.0,), field_temperatures=3, field_samples=20, stripe_n_train=(30,),
    stripe_width=8, stripe_steps=50,
)  # fmt: skip


def test_plan_lists_image_then_stripe_points():
    assert diffeo_sweep.plan(TINY) == [("image", "fc", 20), ("image", "fc", 40), ("stripe", "fc", 30)]
    assert diffeo_sweep.image_side(TINY) == 8
    assert diffeo_sweep.image_side(diffeo_sweep.PAPER) == 28


@pytest.mark.parametrize(
    "changes, message",
    [({"architectures": ("resnet",)}, "`architectures`"), ({"n_probes": 600}, "`n_probes`"),
     ({"n_train": (1500,)}, "1797"), ({"cutoff": 1.0}, "`cutoff`"),
     ({"field_cutoffs": (3.0, 1.2)}, "`field_cutoffs`"),
     ({"delta": 0.0}, "`delta`"), ({"seeds": 0}, "`seeds`"), ({"n_train": ()}, "`n_train`")],
)  # fmt: skip
def test_config_is_validated(changes, message):
    with pytest.raises((ValueError, TypeError), match=message.strip("`")):
        diffeo_sweep.DiffeoConfig(**changes)


def test_tiny_sweep_runs_and_resumes(tmp_path, monkeypatch):
    both = run(TINY, tmp_path, progress=False)
    results = both["diffeo"]
    assert both["diffeo_fields"].attrs["n"] == 8 and both["diffeo_fields"]["delta"].shape == (1, 3)
    assert results.sizes == {"point": 3, "state": 2, "seed": 2}
    assert list(results["kind"].values) == ["image", "image", "stripe"]
    for name in ("d_f", "g_f", "r_f", "test_error"):
        assert np.all(np.isfinite(results[name].values)), name
    np.testing.assert_allclose(results["r_f"], results["d_f"] / results["g_f"], rtol=1e-5)
    assert 0.3 < float(results["delta"].values[0]) < 1.5  # δ = 1 by eq. 3 (exact sum: 0.77)
    # resuming recomputes nothing
    monkeypatch.setattr(diffeo_sweep, "_image_point", lambda *a, **k: pytest.fail("recomputed"))
    monkeypatch.setattr(diffeo_sweep, "_stripe_point", lambda *a, **k: pytest.fail("recomputed"))
    monkeypatch.setattr(diffeo_sweep, "field_statistics", lambda *a, **k: pytest.fail("recomputed"))
    again = run(TINY, tmp_path, progress=False)
    xr.testing.assert_identical(again["diffeo"], results)
    xr.testing.assert_identical(again["diffeo_fields"], both["diffeo_fields"])


def test_field_statistics_and_deformation_grid():
    key = jax.random.PRNGKey(0)
    fields = diffeo_sweep.field_statistics(TINY, 16, key)
    assert fields["delta"].shape == (1, 3)
    row = fields.sel(cutoff=3.0)
    np.testing.assert_allclose(row["delta"] / row["delta_exact"], 1.0, atol=0.25)
    assert float(row["bijective"][0]) == 1.0  # T_min/15
    assert float(row["t_min"]) == pytest.approx(1 / (math.pi * 256 * math.log(3)))
    image = jax.random.normal(key, (1, 8, 8))
    grid = diffeo_sweep.deformation_grid(TINY, image, key, n_temperatures=7)
    assert grid["images"].shape == (1, 7, 8, 8) and grid["admissible"].shape == (1, 7)
    assert grid["admissible"].any() and not grid["admissible"].all()
    assert diffeo_sweep.deformation_grid_figure(**grid) is not None
    assert diffeo_sweep.field_statistics_figure(fields) is not None


def planted_results() -> xr.Dataset:
    """R_f = 2/P^½ (fc) and 10/P (stripe) after training, 1 at init, for two seeds."""
    p = np.array([100, 400, 1600, 100, 400, 1600])
    kind = ["image"] * 3 + ["stripe"] * 3
    trained = np.where(np.array(kind) == "image", 2 / np.sqrt(p), 10 / p)
    r_f = np.stack([np.ones(6), trained], axis=1)[:, :, None] * np.array([0.5, 2.0])[None, None, :]
    g_f = np.full_like(r_f, 0.1)
    return xr.Dataset(
        {"r_f": (("point", "state", "seed"), r_f), "g_f": (("point", "state", "seed"), g_f),
         "d_f": (("point", "state", "seed"), r_f * g_f), "test_error": (("point", "state", "seed"), g_f)},
        coords={"kind": ("point", kind), "arch": ("point", ["fc"] * 6), "n_train": ("point", p),
                "state": ["init", "trained"]},
    )  # fmt: skip


def test_summary_log_averages_over_seeds_and_slopes():
    summary = diffeo_sweep.stability_summary(planted_results())
    np.testing.assert_allclose(summary["r_f"].sel(state="init"), 1.0)  # √(0.5 · 2)
    assert diffeo_sweep.stability_slope(summary, "image", "fc").exponent == pytest.approx(-0.5)
    assert diffeo_sweep.stability_slope(summary, "stripe", "fc").exponent == pytest.approx(-1.0)
    fields = diffeo_sweep.field_statistics(TINY, 8, jax.random.PRNGKey(1)).assign_attrs(n=8)
    text = diffeo_sweep.summarize_diffeo(summary, fields)
    assert "R_f ∝ P^(-0.50" in text and "R_f ∝ P^(-1.00" in text and "bijective at T_max" in text
    assert diffeo_sweep.stability_figure(summary) is not None
    assert diffeo_sweep.stripe_figure(summary) is not None
