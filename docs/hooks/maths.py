"""MkDocs hook: typeset the maths of every page as MathML when the site is built.

`pymdownx.arithmatex` (generic mode) wraps the LaTeX of `$…$` and `\\(…\\)` in
`<span class="arithmatex">` and of `$$…$$` and `\\[…\\]` in `<div class="arithmatex">`; this hook
replaces each by the MathML that `latex2mathml` writes, which browsers render natively: the pages
need no JavaScript and no network, and maths that does not convert fails the build.
"""

import html
import re

from latex2mathml.converter import convert
from mkdocs.exceptions import PluginError

_INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
_DISPLAY = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)


def _mathml(latex: str, display: str, page) -> str:
    try:
        return convert(html.unescape(latex).strip(), display=display)
    except Exception as error:  # latex2mathml raises its own errors and plain ones
        raise PluginError(f"{page.file.src_uri}: cannot typeset ${latex}$: {error}") from error


def on_page_content(content: str, page, config, files) -> str:
    content = _DISPLAY.sub(lambda m: f'<div class="maths">{_mathml(m[1], "block", page)}</div>', content)
    return _INLINE.sub(lambda m: _mathml(m[1], "inline", page), content)
