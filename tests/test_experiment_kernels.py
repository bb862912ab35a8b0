"""The kernel learning-curve experiment: validation, a tiny resumable run, the summaries and figures."""

import json

import jax
import numpy as np
import pytest
import xarray as xr

from jamscope import cli
from jamscope import experiments as ex
from jamscope.experiments import kernels as kernel_sweep
from jamscope.experiments import run

TINY = kernel_sweep.KernelsConfig(
    dims=(1, 2), ns=(32, 64, 128), n_test=40, repeats=2, fit_low=32, data_ns=(32, 64, 128), data_n_test=80,
    data_repeats=2, data_fit_low=32, kpca_points=200, sphere_dims=(2,), sphere_ns=(32, 64, 128),
    nn_repeats=2, data_nn_ns=(32, 64, 128),
)  # fmt: skip


@pytest.mark.parametrize(
    "changes, message",
    [({"teachers": ("cosine",)}, "teachers"), ({"tasks": ()}, "tasks"), ({"dims": (0,)}, "dims"),
     ({"data": "imagenet"}, "data"), ({"data_sigma": -1.0}, "data_sigma"), ({"repeats": 0}, "repeats")],
)  # fmt: skip
def test_config_is_validated(changes, message):
    with pytest.raises((ValueError, TypeError), match=message):
        kernel_sweep.KernelsConfig(**changes)


def test_tiny_run_resumes_summarizes_and_draws(tmp_path, monkeypatch):
    results = run(TINY, tmp_path, progress=False)["kernels"]
    for name in ("teacher_student", "data_error", "kpca_tail", "sphere_delta_min", "data_delta_min"):
        assert np.all(np.isfinite(results[name].values)) and np.all(results[name].values >= 0), name
    assert results["teacher_student"].shape == (2, 2, 2, 3) and results.sizes["rank"] == 200
    # the learning curves fall with n
    assert np.all(np.diff(results["teacher_student"].mean("repeat").values, axis=-1) < 0)
    assert results.attrs["data_sigma"] > 0
    # resuming recomputes nothing and returns the same results
    monkeypatch.setattr(kernel_sweep, "_compute", lambda *a, **k: pytest.fail("recomputed"))
    xr.testing.assert_identical(run(TINY, tmp_path, progress=False)["kernels"], results)
    betas = kernel_sweep.beta_table(results, TINY)
    assert float(betas["predicted"].sel(teacher="laplace", d=2)) == pytest.approx(0.5)
    assert 0.2 < float(betas["beta"].sel(teacher="laplace", d=2)) < 0.8
    text = kernel_sweep.summarize_kernels(results, TINY)
    assert "predicted 0.500" in text and "kernel PCA tail" in text and "effective dimension" in text
    fits = kernel_sweep.teacher_student_fits(results, TINY)
    kpca = {k: kernel_sweep.kpca_beta(results, k) for k in TINY.data_kernels}
    d_eff = kernel_sweep.effective_dimensions(results)
    figures = (
        kernel_sweep.teacher_student_figure(results, betas, fits),
        kernel_sweep.data_curves_figure(results, kernel_sweep.data_betas(results, TINY), kpca, "digits"),
        kernel_sweep.effective_dimension_figure(results, d_eff, "digits"),
    )
    assert all(fig.axes for fig in figures)


def test_reproduce_writes_the_table_of_every_target(tmp_path, capsys):
    """`jamscope reproduce --smoke --only kernels`: one row per target, the same in Markdown and JSON,
    each with the paper's value, the size used and a verdict."""
    assert cli.main(["reproduce", "--smoke", "--only", "kernels", "--out", str(tmp_path), "--quiet"]) == 0
    table = json.loads((tmp_path / "reproduction.json").read_text())
    rows = table["targets"]
    smoke = kernel_sweep.SMOKE
    # β per (teacher, d), d_eff per sphere, and the three real-data numbers
    assert len(rows) == len(smoke.teachers) * len(smoke.dims) + len(smoke.sphere_dims) + 3
    assert table["preset"] == "smoke" and {r["experiment"] for r in rows} == {"kernels"}
    assert {r["verdict"] for r in rows} <= {"agrees", "consistent", "differs", "not measured"}
    beta = next(r for r in rows if r["quantity"].startswith("β, laplace teacher"))
    assert float(beta["paper"]) == pytest.approx(1.0) and beta["measured"] is not None  # Theorem 1, d = 1
    markdown = (tmp_path / "reproduction.md").read_text()
    assert markdown.count("\n| kernels |") == len(rows) and "| quantity | source | paper |" in markdown
    # the digits stand-in has no paper value: said, not compared
    stand_in = [r for r in rows if "no paper value" in r["size"]]
    assert len(stand_in) == 3 and {r["verdict"] for r in stand_in} == {"not measured"}
    assert "reproduction.md" in capsys.readouterr().out
    preset, targets = ex.read_reproduction(tmp_path / "reproduction.json")
    assert ex.reproduction_markdown(targets, preset) == markdown


def test_kernels_options_and_presets(capsys):
    args = cli.parser().parse_args(
        ["kernels", "--dims", "1,3", "--sample-teacher", "yes", "--data-sigma", "none"]
    )
    config = cli.config_from(args)
    assert config.dims == (1, 3) and config.sample_teacher and config.data_sigma is None
    assert cli.config_from(cli.parser().parse_args(["kernels"])) == kernel_sweep.QUICK
    assert cli.config_from(cli.parser().parse_args(["kernels", "--paper"])) == kernel_sweep.PAPER
    with pytest.raises(SystemExit):
        cli.main(["kernels", "--teachers", "cosine"])
    assert "teachers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["kernels", "--sample-teacher", "maybe"])


def test_mnist_points_come_from_local_files(tmp_path):
    from test_data import write_mnist

    write_mnist(tmp_path, n_train=30, n_test=10)
    config = kernel_sweep.KernelsConfig(data="mnist", data_root=str(tmp_path))
    points = kernel_sweep.load_points(config, jax.random.PRNGKey(0))
    assert points.x.shape == (40, 784) and set(np.unique(points.y).tolist()) <= {-1.0, 1.0}
