"""The `jamscope` command and the examples in smoke mode."""

import subprocess
import sys
from pathlib import Path

import pytest

from jamscope import cli, io

ROOT = Path(__file__).resolve().parents[1]


def test_demo_writes_results_and_figure(tmp_path, capsys):
    args = ["demo", "--out", str(tmp_path), "--n-train", "40", "--widths", "2,6", "--seeds", "2",
            "--steps", "300", "--decay-every", "100", "--quiet"]  # fmt: skip
    assert cli.main(args) == 0
    results = io.load_netcdf(tmp_path / "jamming_demo.nc")
    assert results["n_delta"].shape == (2, 2)
    assert set(results.coords) >= {"width", "seed", "n_params", "p_over_n"}
    assert (tmp_path / "jamming_demo.png").stat().st_size > 10_000
    assert "median N_Δ/N" in capsys.readouterr().out


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    text = capsys.readouterr().out
    for flag in ("--n-train", "--widths", "--seeds", "--steps", "--lr", "--out", "--x64"):
        assert flag in text


def test_bad_options_are_rejected(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--widths", "0,3"])
    assert "--widths" in capsys.readouterr().err


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_examples_run_in_smoke_mode(script, tmp_path):
    run = subprocess.run([sys.executable, str(script), "--smoke", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
