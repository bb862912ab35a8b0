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
