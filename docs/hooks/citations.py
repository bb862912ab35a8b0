"""MkDocs hook: link every citation label of the prose to the references page.

The library cites its sources as `000`–`004` (the seed papers) and `thesis ch. N` (docs/references.md
explains the labels). In the text of every page, outside code, maths, figures and existing links,
each label becomes a link to its entry, with the entry's heading as tooltip.
"""

import html
import re
from pathlib import Path

from mkdocs.utils import get_relative_url

LABEL = re.compile(r"(?<![\d,.])(?<![\d,.] )\b(00[0-4]|thesis ch\. [1-7])\b(?![\d,.]\d)")
_SKIPPED = {"a", "code", "pre", "script", "style", "svg", "math", "title", "textarea", "kbd"}
_TAG = re.compile(r"(<[^>]*>)")


def _titles(references: Path) -> dict[str, str]:
    """Label → tooltip, from the headings `### 000 · The jamming transition { #000 }`."""
    headings = re.findall(r"^### (.+?)(?: · (.+?))? \{ #([\w-]+) \}$", references.read_text(), re.M)
    return {anchor: f"{label}: {title}" if title else label for label, title, anchor in headings}


def _anchor(label: str) -> str:
    return label.replace("thesis ch. ", "thesis-ch-")


def on_page_content(content: str, page, config, files) -> str:
    if page.file.src_uri == "references.md":
        return content
    titles = _titles(Path(config["docs_dir"]) / "references.md")
    target = get_relative_url("references/", page.url)
    parts, skipped = _TAG.split(content), []
    for i, part in enumerate(parts):
        if part.startswith("<"):
            name = re.match(r"</?([a-zA-Z0-9]+)", part)
            if name and name[1].lower() in _SKIPPED and not part.endswith("/>"):
                if part.startswith("</"):
                    if skipped and skipped[-1] == name[1].lower():
                        skipped.pop()
                else:
                    skipped.append(name[1].lower())
        elif not skipped:
            parts[i] = LABEL.sub(
                lambda m: f'<a class="citation" href="{target}#{_anchor(m[1])}" '
                f'title="{html.escape(titles.get(_anchor(m[1]), m[1]))}">{m[1]}</a>',
                part,
            )
    return "".join(parts)
