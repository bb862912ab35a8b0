"""The documentation site: the strict build (every tutorial executed, every API page rendered, no
broken link or warning) runs inside the suite, so that `make test` keeps two processes busy on two
cores instead of three (the build is scheduled first, see conftest.py)."""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "docs" / "hooks"))
from citations import LABEL as CITATION  # noqa: E402  (the pattern the site's hook links)

WIDTH = 88
"""Characters a code or output line may have: the content column of the theme at a 1300 px window
(Material, both sidebars shown) holds about 88 characters of code."""


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


class _Page(HTMLParser):
    """The parts of a built page the checks read: prose (text outside code, maths, scripts),
    the lines of every preformatted block, and every link."""

    _VERBATIM = {"code", "pre", "math", "script", "style", "svg", "textarea"}

    def __init__(self):
        super().__init__()
        self.prose, self.unlinked, self.blocks, self.links = [], [], [], []
        self._open, self._block, self._anchors = [], None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self._VERBATIM:
            self._open.append(tag)
        if tag == "pre":
            self._block = []
        if tag == "a":
            self._anchors += 1
            if attrs.get("href"):
                self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "a":
            self._anchors -= 1
        if self._open and tag == self._open[-1]:
            self._open.pop()
        if tag == "pre" and self._block is not None:
            self.blocks.append("".join(self._block))
            self._block = None

    def handle_data(self, data):
        if self._block is not None:
            self._block.append(data)
        elif not self._open:
            self.prose.append(data)
            if not self._anchors:
                self.unlinked.append(data)


def _pages(site: Path) -> dict[str, _Page]:
    parsed = {}
    for path in sorted(site.rglob("*.html")):
        if path.name == "404.html" or path.parts[len(site.parts)] in {"assets", "search"}:
            continue
        page = _Page()
        page.feed(path.read_text())
        parsed[str(path.relative_to(site))] = page
    return parsed


@pytest.fixture(scope="module")
def pages(site) -> dict[str, _Page]:
    return _pages(site)


# LaTeX or brace-scripts left in prose: \command, x_{…}, x^{…}, $…$, \( or \[
_MATHS_SOURCE = re.compile(r"\\[A-Za-z]{2,}|[_^]\{|\$[^$\s][^$]*\$|\\[(\[]")


def test_no_maths_source_is_left_outside_code(pages):
    found = {name: _MATHS_SOURCE.findall(" ".join(page.prose)) for name, page in pages.items()}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_every_citation_label_links_to_the_references(pages):
    """`000`–`004` and `thesis ch. N` in prose are links (docs/hooks/citations.py), except on the
    references page, which defines them."""
    found = {
        name: CITATION.findall(" ".join(page.unlinked))
        for name, page in pages.items()
        if name != "references/index.html"
    }
    assert {name: labels for name, labels in found.items() if labels} == {}


def test_every_code_and_output_block_fits_the_content_width(pages):
    wide = {
        name: [line for block in page.blocks for line in block.splitlines() if len(line) > WIDTH][:3]
        for name, page in pages.items()
    }
    assert {name: lines for name, lines in wide.items() if lines} == {}


def test_no_reference_to_files_the_site_does_not_have(site):
    """The design notes and paper notes of the repository are not published: no page may point
    readers to them (cite the papers, docs/references.md, instead)."""
    pattern = re.compile(r"notes/\w+\.md|DESIGN(?:\.md)?\b")
    found = {
        str(path.relative_to(site)): pattern.findall(path.read_text())
        for path in site.rglob("*.html")
        if path.parts[len(site.parts)] not in {"assets", "search"}
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_no_output_block_is_empty(pages):
    assert [name for name, page in pages.items() if any(not block.strip() for block in page.blocks)] == []


def test_every_link_to_the_site_reaches_a_page(site, pages):
    broken = []
    for name, page in pages.items():
        for link in page.links:
            target = urlsplit(link)
            if target.scheme or target.netloc or not target.path:
                continue
            path = (site / name).parent / unquote(target.path)
            if not (path / "index.html" if path.is_dir() or link.endswith("/") else path).exists():
                broken.append(f"{name} → {link}")
    assert broken == []


def test_every_public_name_has_an_entry_on_its_api_page(site):
    """Each name of a documented module's `__all__` gets its own entry (mkdocstrings' anchor
    ``id="jamscope.<module>.<name>"``) on the module's API page, so a page grouped by topic cannot
    drop a name; jaxtyping's annotations, re-exported by `jamscope.typing`, are documented there."""
    import importlib

    import jaxtyping

    api = ROOT / "docs" / "api"
    missing = []
    for source in sorted(api.rglob("*.md")):
        page = source.relative_to(api).with_suffix("")
        module = importlib.import_module("jamscope." + ".".join(page.parts))
        html = (site / "api" / page / "index.html").read_text()
        for name in module.__all__:
            anchor = f"{module.__name__}.{name}"
            if getattr(module, name) is not getattr(jaxtyping, name, None) and f'id="{anchor}"' not in html:
                missing.append(anchor)
    assert missing == []
