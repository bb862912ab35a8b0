"""The regimes experiment: plan, a tiny resumable run, the observables of `jamscope.regimes` and the
analyses on planted (synthetic) results."""

import math

import equinox as eqx
import jax
import numpy as np
import pytest
import xarray as xr

from jamscope import nets
from jamscope import regimes as observables
from jamscope.experiments import regimes, run

TINY = regimes.SMOKE
"""The smoke preset (P = 30, h = 4): the CLI's kill-and-resume test runs the same programs."""


def test_plan_covers_both_grids_once_and_a_linearized_reference_per_width():
    config = regimes.RegimesConfig(widths=(4, 16), scaled_scales=(0.5, 2.0), fluctuation_widths=(4, 9))
    points = regimes.plan(config)
    network = [(h, a) for kind, h, a in points if kind == "network"]
    assert [(h, round(a * math.sqrt(h), 12)) for h, a in network[:4]] == [
        (4, 0.5),
        (4, 2.0),
        (16, 0.5),
        (16, 2.0),
    ]
    # α = 1 at h = 4 is α√h = 2, already in the regimes grid: not trained twice
    assert network[4:] == [(9, 1.0)]
    assert [(kind, h) for kind, h, _ in points if kind == "linearized"] == [
        ("linearized", 4),
        ("linearized", 16),
    ]


def test_config_is_validated():
    with pytest.raises(ValueError, match="`seeds`"):
        regimes.RegimesConfig(seeds=1)
    with pytest.raises(ValueError, match="`scaled_scales`"):
        regimes.RegimesConfig(scaled_scales=(0.0, 1.0))
    with pytest.raises(ValueError, match="n_train \\+ n_test"):
        regimes.RegimesConfig(n_train=1500, n_test=500)


def test_tiny_sweep_runs_and_resumes(tmp_path, monkeypatch):
    results = run(TINY, tmp_path, progress=False)["regimes"]
    assert results.sizes["point"] == len(regimes.plan(TINY)) and results.sizes["seed"] == 2
    assert results["outputs"].shape == (results.sizes["point"], 2, TINY.n_test)
    network = results["kind"].values == "network"
    assert np.all(np.isfinite(results["kernel_change"].values[network]))
    assert np.all(np.isnan(results["kernel_change"].values[~network]))
    # F = α(f − f₀): the test error is measured on the stored outputs
    errors = (results["outputs"] * results["y_test"] <= 0).mean("test")
    np.testing.assert_allclose(errors, results["test_error"])

    def fail(*args, **kwargs):
        raise AssertionError("a finished point was trained again")

    monkeypatch.setattr(regimes, "_run_point", fail)
    again = run(TINY, tmp_path, progress=False)["regimes"]
    xr.testing.assert_identical(again, results)
    xr.testing.assert_identical(xr.load_dataset(tmp_path / "regimes.nc"), results)


def planted_results(config, kernel_change, outputs, fitted=None):
    """A results Dataset of the experiment's layout with planted kernel changes and outputs."""
    points = regimes.plan(config)
    n_points, k = len(points), config.seeds
    kinds, widths, alphas = zip(*points, strict=True)
    n = np.array([config.depth * h * h + 10 * h for h in widths])
    change = np.array(
        [kernel_change(a * math.sqrt(h)) if kind == "network" else np.nan for kind, h, a in points]
    )
    out = np.stack([outputs(h, nn) for h, nn in zip(widths, n, strict=True)])
    y = np.where(np.arange(out.shape[-1]) % 2 == 0, 1.0, -1.0)
    per_run = {
        "test_error": (out * y <= 0).mean(-1),
        "train_error": np.zeros((n_points, k)),
        "fitted": np.ones((n_points, k)) if fitted is None else np.stack([fitted(nn) for nn in n]),
        "steps": np.ones((n_points, k)),
        "time": np.ones((n_points, k)),
        "loss": np.zeros((n_points, k)),
        "kernel_change": np.repeat(change[:, None], k, axis=1),
        "weight_change": np.ones((n_points, k)),
    }
    variables = {name: (("point", "seed"), value.astype(float)) for name, value in per_run.items()}
    variables["outputs"] = (("point", "seed", "test"), out)
    variables["y_test"] = ("test", y)
    coords = {
        "kind": ("point", list(kinds)), "width": ("point", list(widths)), "alpha": ("point", list(alphas)),
        "scaled_alpha": ("point", [a * math.sqrt(h) for _, h, a in points]), "n_params": ("point", n),
        "seed": np.arange(k),
    }  # fmt: skip
    return xr.Dataset(variables, coords=coords)


def test_ensemble_of_identical_members_has_no_fluctuation():
    config = regimes.RegimesConfig(widths=(4,), scaled_scales=(1.0,), fluctuation_widths=(4,), seeds=3)
    y_like = np.where(np.arange(6) % 2 == 0, 0.5, -2.0)
    results = planted_results(config, lambda s: 1.0, lambda h, n: np.tile(y_like, (3, 1)))
    stats = observables.ensemble_statistics(results)
    np.testing.assert_allclose(stats["variance"], 0.0)
    np.testing.assert_allclose(stats["ensemble_error"], stats["test_error"])
    np.testing.assert_allclose(stats["output_norm"], np.sqrt(np.mean(y_like**2)))


def test_variance_is_the_unbiased_spread_over_members():
    config = regimes.RegimesConfig(widths=(4,), scaled_scales=(1.0,), fluctuation_widths=(4,), seeds=2)
    members = np.array([[1.0, 3.0], [-1.0, 1.0]])  # member means per test point: 0 and 2
    results = planted_results(config, lambda s: 1.0, lambda h, n: members)
    stats = observables.ensemble_statistics(results)
    # ⟨(F − F̄)²⟩ = 1 over points and members, times K/(K − 1) = 2
    np.testing.assert_allclose(stats["variance"], 2.0)
    # y = (+1, −1): member 0 errs on x₁, member 1 on both; F̄ = (0, 2) errs on both (F y ≤ 0 is an error)
    np.testing.assert_allclose(stats["test_error"], 0.75)
    np.testing.assert_allclose(stats["ensemble_error"], 1.0)


def test_crossover_and_lazy_slope_of_a_planted_kernel_change():
    """‖ΔΘ‖/‖Θ₀‖ = 10/(α√h) crosses 1 at α√h = 10 for every width, with slope −1."""
    config = regimes.RegimesConfig(widths=(4, 16, 64), scaled_scales=(0.1, 1.0, 3.0, 30.0, 100.0, 1000.0),
                                   fluctuation_widths=(4,), seeds=2)  # fmt: skip
    results = planted_results(config, lambda s: 10.0 / s, lambda h, n: np.ones((2, 4)))
    stats = observables.ensemble_statistics(results)
    cross = regimes.crossover(stats, config)
    np.testing.assert_allclose(cross.scaled_alpha_star, 10.0, rtol=1e-12)
    np.testing.assert_allclose(cross.alpha_star, 10.0 / np.sqrt([4, 16, 64]), rtol=1e-12)
    slope = regimes.kernel_change_slope(stats, config)
    assert abs(slope.exponent + 1.0) < 1e-12 and slope.n_used == 9
    text = regimes.summarize_regimes(results, config)
    assert "α*√h = 10" in text and "α* ∝ h^-0.50" in text and "slope -1.00" in text


def test_fluctuation_fits_recover_planted_laws():
    """‖F − F̄‖ = 3 N^(−1/4) above N*, nets below N* do not fit: N* and the exponent come back."""
    widths = (2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
    config = regimes.RegimesConfig(widths=(4,), scaled_scales=(0.1,), fluctuation_widths=widths, seeds=2)
    rng = np.random.default_rng(0)
    signs = rng.choice([-1.0, 1.0], size=200)

    def outputs(h, n):
        spread = 3.0 * n**-0.25 / math.sqrt(2.0)  # two members ±s: unbiased variance 2 s² = (3 N^-1/4)²
        return np.stack([1.0 + spread * signs, 1.0 - spread * signs])

    results = planted_results(config, lambda s: 1.0, outputs, fitted=lambda n: np.full(2, float(n >= 100)))
    stats = observables.ensemble_statistics(results)
    fits = regimes.fluctuation_fits(stats, config)
    n_sweep = np.sort([2 * h * h + 10 * h for h in widths])
    assert fits.n_star == n_sweep[n_sweep >= 100][0]
    assert abs(fits.fluctuation.exponent + 0.25) < 1e-10 and abs(fits.fluctuation.prefactor - 3.0) < 1e-8
    assert fits.fluctuation.low == 2.0 * fits.n_star
    fig = regimes.fluctuations_figure(stats, config, fits)
    assert [ax.get_title()[:3] for ax in fig.get_axes()] == ["(a)", "(b)", "(c)"]


def test_regimes_figure_from_planted_results():
    config = regimes.RegimesConfig(
        widths=(4, 16), scaled_scales=(0.1, 1.0, 10.0, 100.0), fluctuation_widths=(4,), seeds=2
    )
    results = planted_results(
        config, lambda s: 10.0 / s, lambda h, n: np.ones((2, 4)) * np.array([1, -1, 1, 1])
    )
    fig = regimes.regimes_figure(observables.ensemble_statistics(results), config)
    axes = fig.get_axes()
    assert [ax.get_title()[:3] for ax in axes[:4]] == ["(a)", "(b)", "(c)", "(d)"]
    assert axes[1].get_yscale() == "log" and len(axes[1].get_lines()) >= 3


def test_load_data_gives_binary_train_and_test_sets():
    for name in ("digits", "stripe"):
        config = regimes.RegimesConfig(data=name, n_train=20, n_test=10, dim=3)
        ds = regimes.load_data(config, jax.random.PRNGKey(0))
        assert ds.binary and ds.x.shape[0] == 20 and ds.x_test.shape[0] == 10
        assert ds.x.shape[1] == (10 if name == "digits" else 3)


def test_relative_weight_change_is_the_relative_distance_of_the_parameters():
    a = nets.FCNet(jax.random.PRNGKey(0), 3, 4, 1)
    b = jax.tree_util.tree_map(lambda w: 2.0 * w if eqx.is_inexact_array(w) else w, a)
    np.testing.assert_allclose(observables.relative_weight_change(b, a), 1.0, rtol=1e-12)
    np.testing.assert_allclose(observables.relative_weight_change(a, a), 0.0)
    with pytest.raises(ValueError, match="same parameters"):
        observables.relative_weight_change(nets.FCNet(jax.random.PRNGKey(0), 3, 5, 1), a)


def test_feature_lazy_alpha_and_time_convert_to_the_articles():
    """feature_lazy's README: output scaled by α_code/h (article: α/√h), loss by 1/α_code (article:
    1/α²), hence α_code = √h α and t_code/h = t/(√h α)."""
    h, alpha_code, t_code = 400, 1e3, 7.0
    alpha = observables.scale_from_feature_lazy(alpha_code, h)
    assert alpha == pytest.approx(50.0, rel=1e-15)  # α√h = α_code: the axis of the phase diagram
    t = observables.time_from_feature_lazy(t_code, alpha_code, h)
    assert t_code / h == pytest.approx(t / (math.sqrt(h) * alpha), rel=1e-15)
    # the loss prefactors: 1/α² of the article = h/α_code × the code's 1/α_code, the factor by
    # which the article's flow is faster: dt_code = (h/α_code) dt
    assert 1 / alpha**2 == pytest.approx(h / alpha_code * (1 / alpha_code), rel=1e-15)
    assert t == pytest.approx(t_code * alpha_code / h, rel=1e-15)
    with pytest.raises(ValueError, match="`alpha`"):
        observables.scale_from_feature_lazy(0.0, h)
    with pytest.raises(ValueError, match="`width`"):
        observables.time_from_feature_lazy(1.0, 1.0, 0)
    with pytest.raises(ValueError, match="`time`"):
        observables.time_from_feature_lazy(-1.0, 1.0, 4)
