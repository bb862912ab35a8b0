"""The `jamscope` command (options generated from the configurations, presets, one-line errors) and
the examples (the kill-and-resume test is tests/test_resume.py)."""

import dataclasses
import runpy
import subprocess
import sys
import typing
from pathlib import Path

import jax
import pytest

from jamscope import cli, io
from jamscope import experiments as ex
from jamscope.experiments import diffeo as diffeo_sweep
from jamscope.experiments import jamming as sweep
from jamscope.experiments import regimes

ROOT = Path(__file__).resolve().parents[1]
TINY_ARGS = ["--smoke", "--quiet"]


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


def test_bad_options_are_rejected_in_one_line(capsys):
    assert cli.main(["jamming", "--depths", "0,3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jamscope jamming: error: `depths`") and err.count("\n") == 1
    assert cli.main(["jamming", "--data", "mnist"]) == 2
    assert "data_root" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a value of the wrong form: argparse's usage line
        cli.main(["jamming", "--depths", "two"])
    assert "--depths" in capsys.readouterr().err
    assert cli.main(["reproduce", "--only", "jammin"]) == 2
    assert "--only" in capsys.readouterr().err


def test_every_field_of_every_configuration_is_an_option_with_its_docstring(capsys):
    for name in ex.EXPERIMENTS:
        experiment = ex.experiment_named(name)
        docs = cli.field_docs(experiment.config_type)
        with pytest.raises(SystemExit):
            cli.main([name, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        for field in dataclasses.fields(experiment.config_type):
            assert field.name in docs, f"{name}: `{field.name}` has no docstring"
            assert "--" + field.name.replace("_", "-") in text
            assert " ".join(docs[field.name].rstrip(".").split()[:4]) in text
        for preset in experiment.presets:
            if preset != "quick":
                assert f"--{preset}" in text
            assert isinstance(experiment.presets[preset], experiment.config_type)
        # every option parses back to the preset's own value
        quick = experiment.presets["quick"]
        hints = typing.get_type_hints(experiment.config_type)
        for field in dataclasses.fields(experiment.config_type):
            parse, _ = cli._option_parser(hints[field.name])
            value = getattr(quick, field.name)
            assert parse(cli._shown(value)) == value, (name, field.name)


def test_missing_files_and_an_unwritable_out_end_in_one_line(tmp_path, capsys):
    root, out = str(tmp_path / "none"), str(tmp_path / "k")
    assert cli.main(["kernels", "--data", "cifar10", "--data-root", root, "--out", out, "--quiet"]) == 2
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
    assert cli.main(["regimes", "--scaled-scales", "0,1"]) == 2
    assert "scaled_scales" in capsys.readouterr().err


EXAMPLE_COMMANDS = ("aging", "diffeo", "jamming", "kernels", "regimes", "pomdp")  # examples/<command>.py


def test_every_example_is_tested():
    scripts = {p.stem for p in (ROOT / "examples").glob("*.py")}
    assert scripts == set(EXAMPLE_COMMANDS) | {"hessian_spectra"}


@pytest.mark.parametrize("command", EXAMPLE_COMMANDS)
def test_examples_reach_their_experiment_with_the_smoke_preset(command, tmp_path, monkeypatch):
    """Each examples/<command>.py is ``jamscope <command>``. The experiment itself is run by the
    in-process tests of its module (test_experiment_<command>, with configurations of the same size),
    so here the runner is replaced by a recorder: the script, its options and their validation are
    exercised without running the same sweep a second time."""
    called = {}

    def record(config, out, *, mesh=None, progress=True):
        called.update(config=config, out=out, progress=progress, mesh=mesh)
        raise SystemExit(0)

    monkeypatch.setattr(ex, "run", record)
    monkeypatch.setattr(sys, "argv", [f"{command}.py", "--smoke", "--quiet", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_code:
        runpy.run_path(str(ROOT / "examples" / f"{command}.py"), run_name="__main__")
    assert exit_code.value.code == 0
    experiment = ex.experiment_named(command)
    assert called["out"] == tmp_path and not called["progress"]
    assert called["config"] == experiment.presets["smoke"]
    if experiment.trains_networks:  # by default the seed ensembles are split over every device (4 here)
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
    assert cli.main(["diffeo", "--field-cutoffs", "1.2"]) == 2
    assert "field_cutoffs" in capsys.readouterr().err
    assert jax.config.jax_enable_x64  # rejected options leave the process's precision alone
