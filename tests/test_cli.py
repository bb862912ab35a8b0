"""The `jamscope` command and the examples in smoke mode."""

import runpy
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from jamscope import cli, diffeo_sweep, io, regimes, sweep

ROOT = Path(__file__).resolve().parents[1]
TINY_ARGS = ["--sizes", "20", "--depths", "1", "--p-over-n", "0.3,5", "--seeds", "2", "--steps", "4000",
             "--lr", "0.01", "--min-steps", "500", "--n-records", "40", "--quiet"]  # fmt: skip


def test_jamming_writes_results_figures_and_summary(tmp_path, capsys):
    assert cli.main(["jamming", "--out", str(tmp_path), *TINY_ARGS]) == 0
    results = io.load_netcdf(tmp_path / "jamming.nc")
    assert results.sizes["member"] == 2 and set(results["depth"].values) == {1}
    assert (tmp_path / "jamming_transition.png").stat().st_size > 10_000
    assert (tmp_path / "jamming_point.png").stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "jamming transition" in out and "L = 1, h = d = 4, N = 20: P/N* ∈ [0.30, 5.00)" in out
    assert "000 (N ≈ 8000" in out


def test_options_override_the_presets():
    args = cli.parser().parse_args(["jamming", "--paper", "--seeds", "2"])
    config = cli.config_from(args)
    assert config.seeds == 2 and config.sizes == sweep.PAPER.sizes and config.dim is None
    assert cli.config_from(cli.parser().parse_args(["jamming"])) == sweep.QUICK
    assert cli.config_from(cli.parser().parse_args(["jamming", "--reference"])) == sweep.REFERENCE
    config = cli.config_from(cli.parser().parse_args(["jamming", "--dim", "none", "--decay-every", "none"]))
    assert config.dim is None and config.decay_every is None
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["jamming", "--paper", "--reference"])


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["jamming", "--help"])
    text = capsys.readouterr().out
    flags = ("--sizes", "--depths", "--p-over-n", "--seeds", "--steps", "--lr", "--out", "--float32",
             "--paper", "--reference", "--data", "--activation", "--plateau", "--parametrization")
    for flag in flags:
        assert flag in text


def test_bad_options_are_rejected(capsys):
    with pytest.raises(SystemExit):
        cli.main(["jamming", "--depths", "0,3"])
    assert "--depths" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["jamming", "--data", "mnist"])
    assert "data_root" in capsys.readouterr().err


def test_missing_files_and_an_unwritable_out_end_in_one_line(tmp_path, capsys):
    root, out = str(tmp_path / "none"), str(tmp_path / "k")
    assert cli.main(["kernels", "--data", "cifar10", "--data-root", root, "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jamscope kernels: error: missing data_batch_1") and err.count("\n") == 1
    (tmp_path / "file").write_text("")
    assert cli.main(["jamming", *TINY_ARGS, "--out", str(tmp_path / "file" / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jamscope jamming: error: ") and "file" in err and err.count("\n") == 1


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
