"""The aging experiment (003): configuration, a tiny resumable run with its summary and figures, the CLI."""

import jax
import numpy as np
import pytest

from jamscope import cli, io
from jamscope.experiments import aging as aging_sweep
from jamscope.experiments import run

TINY = aging_sweep.SMOKE
"""The smoke preset: the tiny run below is also the `--smoke` end-to-end check."""


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"data": ("ljat19",)}, "data"),
        ({"depths": (0,)}, "`depths`"),
        ({"runs": 0}, "`runs`"),
        ({"hessian_runs": 3, "runs": 2}, "`hessian_runs`"),
        ({"delta_star": 0.0}, "`delta_star`"),
        ({"batch_size": 5000}, "`batch_size`"),
        ({"steps": 100}, "`gradient_after`"),
        ({"init": "orthogonal"}, "init"),
    ],
)
def test_config_is_validated(changes, message):
    with pytest.raises((ValueError, TypeError), match=message):  # TypeError: the jaxtyping hook (Literal)
        aging_sweep.AgingConfig(**changes)


def test_presets_follow_the_paper():
    synthetic = aging_sweep.QUICK.problem("synthetic")
    assert (synthetic.n_train, synthetic.batch_size, synthetic.steps, synthetic.n_params) == (
        1000,
        100,
        150_000,
        72,
    )
    mnist = aging_sweep.PAPER.problem("mnist")
    assert (mnist.n_train, mnist.batch_size, mnist.steps, mnist.n_params) == (60_000, 50, 300_000, 4000)
    assert aging_sweep.QUICK.lr == 0.05 and aging_sweep.QUICK.weight_decay == 1e-4
    assert aging_sweep.AgingConfig(steps=20_000, gradient_after=100).problem("digits").steps == 20_000


def test_tiny_run_resumes_summarizes_and_draws(tmp_path, monkeypatch):
    assert TINY.data == ("synthetic",) and TINY.depths == (1, 2) and TINY.runs == 2
    text, _ = aging_sweep.EXPERIMENT.report(TINY, run(TINY, tmp_path, progress=False), tmp_path)
    synthetic = io.load_netcdf(tmp_path / "aging_synthetic.nc")
    assert synthetic["width"].values.tolist() == [10, 5] and synthetic["n_params"].values.tolist() == [74, 69]
    assert synthetic["msd"].shape[:2] == (2, 2)
    assert np.all(synthetic["msd"].values[..., 0] == 0.0)
    assert np.all(np.isfinite(synthetic["gradient_norm"].values))
    hessian = synthetic["hessian"].sel(depth=2).values  # P = 69 < 74 modes: the rest is NaN padding
    assert np.all(np.isfinite(hessian[..., :69])) and np.all(np.isnan(hessian[..., 69:]))
    assert (tmp_path / "aging_synthetic.png").stat().st_size > 10_000
    assert (tmp_path / "aging_training_synthetic.png").stat().st_size > 10_000
    assert "synthetic: N = 1000" in text and "003: μ = 0.709" in text and "H = 2, w = 5, P = 69" in text

    def fail(*args, **kwargs):
        raise AssertionError("a finished depth was trained again")

    monkeypatch.setattr(aging_sweep, "_train_depth", fail)
    again = run(TINY, tmp_path, progress=False)
    assert again["aging_synthetic"].identical(synthetic)
    assert aging_sweep.EXPERIMENT.report(TINY, again, tmp_path)[0].count("μ") >= 3
    fits = aging_sweep.aging_fits(again["aging_synthetic"])
    assert set(fits) == {1, 2}


def test_digits_are_the_mnist_stand_in():
    config = aging_sweep.QUICK
    problem = aging_sweep.load_problem(config, "digits", jax.random.PRNGKey(0))
    assert problem.x.shape == (1500, 16) and problem.x_test.shape == (297, 16) and problem.n_classes == 10
    widths = aging_sweep._widths(config, config.problem("digits"), 16, 10)
    assert widths == [6, 5, 4]


def test_mnist_comes_from_local_files(tmp_path):
    from test_data import write_mnist

    write_mnist(tmp_path, n_train=30, n_test=10)
    config = aging_sweep.AgingConfig(data=("mnist",), data_root=str(tmp_path), n_train=30, batch_size=10)
    problem = aging_sweep.load_problem(config, "mnist", jax.random.PRNGKey(0))
    assert problem.x.shape == (30, 784) and problem.n_classes == 10 and problem.x_test.shape[0] == 10


def test_aging_options_and_presets(capsys):
    args = cli.parser().parse_args(["aging", "--data", "digits", "--depths", "3", "--n-params", "none"])
    config = cli.config_from(args)
    assert config.data == ("digits",) and config.depths == (3,) and config.n_params is None
    assert cli.config_from(cli.parser().parse_args(["aging"])) == aging_sweep.QUICK
    assert cli.config_from(cli.parser().parse_args(["aging", "--paper"])) == aging_sweep.PAPER
    with pytest.raises(SystemExit):
        cli.main(["aging", "--data", "ljat19"])
    assert "data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["aging", "--help"])
    text = capsys.readouterr().out
    for flag in ("--runs", "--delta-star", "--fit-low", "--float64", "--paper", "--weight-decay"):
        assert flag in text
