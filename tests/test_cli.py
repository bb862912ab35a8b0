"""The `jamscope` command and the examples in smoke mode."""

import runpy
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from jamscope import cli, diffeo_sweep, io, regimes, sweep

ROOT = Path(__file__).resolve().parents[1]
TINY_ARGS = ["--n-train", "40", "--depths", "1", "--p-over-n", "0.7,1.5,6", "--seeds", "2", "--steps", "400",
             "--decay-every", "200", "--quiet"]  # fmt: skip


def test_jamming_writes_results_figures_and_summary(tmp_path, capsys):
    assert cli.main(["jamming", "--out", str(tmp_path), *TINY_ARGS]) == 0
    results = io.load_netcdf(tmp_path / "jamming.nc")
    assert results.sizes["seed"] == 2 and set(results["depth"].values) == {1}
    assert (tmp_path / "jamming_transition.png").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "jamming point" in out and "depth 1, P = 40" in out


def test_options_override_the_presets():
    args = cli.parser().parse_args(["jamming", "--paper", "--seeds", "2"])
    config = cli.config_from(args)
    assert config.seeds == 2 and config.n_train == sweep.PAPER.n_train and config.dim_equals_width
    assert cli.config_from(cli.parser().parse_args(["jamming"])) == sweep.QUICK


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["jamming", "--help"])
    text = capsys.readouterr().out
    for flag in ("--n-train", "--depths", "--p-over-n", "--seeds", "--steps", "--lr", "--out", "--float32",
                 "--paper", "--data", "--activation"):  # fmt: skip
        assert flag in text


def test_bad_options_are_rejected(capsys):
    with pytest.raises(SystemExit):
        cli.main(["jamming", "--depths", "0,3"])
    assert "--depths" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["jamming", "--data", "mnist"])
    assert "data_root" in capsys.readouterr().err


def test_regimes_options_and_presets(capsys):
    config = cli.config_from(cli.parser().parse_args(["regimes", "--widths", "8,32", "--pca-dim", "none"]))
    assert config.widths == (8, 32) and config.pca_dim is None and config.seeds == regimes.QUICK.seeds
    assert cli.config_from(cli.parser().parse_args(["regimes"])) == regimes.QUICK
    paper = cli.config_from(cli.parser().parse_args(["regimes", "--paper", "--seeds", "3"]))
    assert paper.seeds == 3 and paper.n_train == regimes.PAPER.n_train
    with pytest.raises(SystemExit):
        cli.main(["regimes", "--scaled-scales", "0,1"])
    assert "--scaled-scales" in capsys.readouterr().err


EXAMPLE_COMMANDS = ("aging", "diffeo", "jamming", "kernels", "regimes")  # examples/<command>.py


def test_every_example_is_tested():
    scripts = {p.stem for p in (ROOT / "examples").glob("*.py")}
    assert scripts == set(EXAMPLE_COMMANDS) | {"hessian_spectra"}


@pytest.mark.parametrize("command", EXAMPLE_COMMANDS)
def test_examples_reach_their_experiment_with_the_smoke_options(command, tmp_path, monkeypatch):
    """Each examples/<command>.py is ``jamscope <command>`` with its SMOKE options. The experiment itself
    is run by the in-process tests of its module (test_sweep, test_regimes, …, with configurations of the
    same size), so here the report is replaced by a recorder: the script, its options and their validation
    are exercised without running the same sweep a second time."""
    from jamscope import report

    called = {}

    def record(config, out, *, progress=True, **sharding):
        called.update(config=config, out=out, progress=progress, **sharding)
        return "recorded"

    monkeypatch.setattr(report, f"{command}_report", record)
    monkeypatch.setattr(sys, "argv", [f"{command}.py", "--smoke", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_code:
        runpy.run_path(str(ROOT / "examples" / f"{command}.py"), run_name="__main__")
    assert exit_code.value.code == 0
    quick = cli.config_from(cli.parser().parse_args([command]))
    assert called["out"] == tmp_path and not called["progress"]
    assert type(called["config"]) is type(quick) and called["config"] != quick
    if command != "kernels":  # by default the seed ensembles are split over every device (4 here)
        assert called["mesh"].size == jax.device_count() == 4


def test_hessian_example_runs_in_smoke_mode(tmp_path):
    script = ROOT / "examples" / "hessian_spectra.py"
    run = subprocess.run([sys.executable, str(script), "--smoke", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert list(tmp_path.glob("*.png")), "the example wrote no figure"


def test_diffeo_options_presets_and_precision():
    config = cli.config_from(
        cli.parser().parse_args(["diffeo", "--architectures", "cnn", "--stripe-n-train", "none"])
    )
    assert (
        config.architectures == ("cnn",)
        and config.stripe_n_train == ()
        and config.seeds == diffeo_sweep.QUICK.seeds
    )
    assert cli.config_from(cli.parser().parse_args(["diffeo"])) == diffeo_sweep.QUICK
    args = cli.parser().parse_args(["diffeo", "--paper"])
    assert cli.config_from(args) == diffeo_sweep.PAPER and not args.float64
    assert cli.parser().parse_args(["diffeo", "--float64"]).float64


def test_bad_diffeo_options_are_rejected(capsys):
    with pytest.raises(SystemExit):
        cli.main(["diffeo", "--architectures", "resnet"])
    assert "architectures" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["diffeo", "--field-cutoffs", "1.2"])
    assert "field_cutoffs" in capsys.readouterr().err
    assert jax.config.jax_enable_x64  # rejected options leave the process's precision alone
