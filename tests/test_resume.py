"""A sweep killed by SIGKILL through the `jamscope` command and run again ends with the same results
file as one never interrupted (issue 19: two experiments, through the CLI, in subprocesses)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from jamscope import experiments as ex


def _smoke(command: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "jamscope.cli", command, "--smoke", "--quiet", "--out", str(out)]


def _kill_after_the_first_point(command: str, out: Path) -> int:
    """Run ``jamscope <command> --smoke`` in a subprocess and SIGKILL it as soon as its first point is
    stored; return how many points were stored."""
    process = subprocess.Popen(_smoke(command, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store, deadline = out / command, time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        if store.exists() and list(store.glob("[!.]*.nc")):
            process.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    assert process.wait() == -signal.SIGKILL, "the run ended before it was killed"
    return len(list(store.glob("[!.]*.nc")))


@pytest.mark.parametrize("command", ["regimes", "kernels"])
def test_a_sigkilled_run_resumes_to_the_uninterrupted_results(command, tmp_path):
    """The store keeps every finished point: a run killed (SIGKILL) after its first point and run
    again ends with the same results file as a run never interrupted."""
    experiment = ex.experiment_named(command)
    stored = _kill_after_the_first_point(command, tmp_path / "killed")
    assert 1 <= stored < len(experiment.points(experiment.presets["smoke"]))
    for out in ("killed", "whole"):
        run = subprocess.run(_smoke(command, tmp_path / out), capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-2000:]
    resumed, whole = (xr.load_dataset(tmp_path / out / f"{command}.nc") for out in ("killed", "whole"))
    xr.testing.assert_identical(resumed, whole)
