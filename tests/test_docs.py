"""Every Python block of the README and of the home page runs (the tutorials' blocks are executed by
the strict docs build of `make test`; docs/large_sweeps.md shows cluster set-ups, not runnable here)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("README.md", "docs/index.md")
BLOCKS = [
    (page, i, code)
    for page in PAGES
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(), re.S))
]


def test_the_pages_have_python_blocks():
    assert {page for page, _, _ in BLOCKS} == set(PAGES)


@pytest.mark.parametrize(("page", "index", "code"), BLOCKS, ids=[f"{p}:{i}" for p, i, _ in BLOCKS])
def test_a_documented_block_runs(page, index, code, tmp_path):
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert run.returncode == 0, f"{page}, block {index}:\n{run.stderr[-3000:]}"
