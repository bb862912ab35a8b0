"""Test configuration: float64 on, strict promotion rules, hypothesis profiles.

The jaxtyping import hook (``--jaxtyping-packages=jamscope,beartype.beartype`` in pyproject) type-checks
every function of the package during the tests.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import jax  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_numpy_dtype_promotion", "strict")

settings.register_profile(
    "jamscope",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("jamscope")


@pytest.fixture(autouse=True)
def float64_for_every_test():
    """The CLI sets the process-wide precision (float32 for `jamscope diffeo`); tests that call it
    in-process must not leave it to the next test."""
    yield
    jax.config.update("jax_enable_x64", True)


_FUZZ_COUNTS = ".cache/fuzz-counts"


def pytest_sessionstart(session):
    """Clear the fuzz case counts of an earlier run (in the controller only, not in xdist workers)."""
    if not hasattr(session.config, "workerinput"):
        import shutil

        shutil.rmtree(session.config.rootpath / _FUZZ_COUNTS, ignore_errors=True)


def pytest_collection_modifyitems(session, config, items):
    """Run the documentation build (tests/test_site.py, minutes) first: xdist hands out whole files
    in this order (`--dist loadfile --no-loadscope-reorder` in the Makefile), so the longest file
    starts at once instead of ending the run on one busy worker."""
    items.sort(key=lambda item: item.path.name != "test_site.py")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the number of cases tests/test_fuzz.py tried per function (written by each worker)."""
    import json

    counts = {}
    for path in sorted((config.rootpath / _FUZZ_COUNTS).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            counts[record["function"]] = counts.get(record["function"], 0) + record["cases"]
    if not counts:
        return
    terminalreporter.section("fuzz cases per function")
    width = max(map(len, counts))
    for name in sorted(counts):
        terminalreporter.write_line(f"{name:<{width}}  {counts[name]:>5}")
    terminalreporter.write_line(f"{'total':<{width}}  {sum(counts.values()):>5}  ({len(counts)} functions)")
