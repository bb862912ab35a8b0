"""The documentation site: the strict build (every tutorial executed, every API page rendered, no
broken link or warning) runs inside the suite, so that `make test` keeps two processes busy on two
cores instead of three (the build is scheduled first, see conftest.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the site with `mkdocs build --strict` in a subprocess, as `make docs` does.

    The tests' XLA_FLAGS (four host devices, set in conftest.py) are not passed on: the tutorials
    run on the machine as a reader's would.
    """
    out = tmp_path_factory.mktemp("site")
    env = {name: value for name, value in os.environ.items() if name != "XLA_FLAGS"}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-4000:]
    return out


def test_the_strict_build_writes_every_page_of_the_navigation(site):
    import yaml

    def pages(nav):
        for entry in nav:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            yield from pages(value) if isinstance(value, list) else [value]

    def built(page: str) -> Path:
        return site / ("index.html" if page == "index.md" else page.removesuffix(".md") + "/index.html")

    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    assert [page for page in pages(config["nav"]) if not built(page).exists()] == []
