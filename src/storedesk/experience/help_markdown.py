"""Help articles and policies from Markdown to HTML that is safe to publish.

The team writes Markdown (raw HTML allowed, since people paste it); markdown-it-py renders it
and nh3 then keeps only formatting, lists, tables, headings, links and images over http(s):
scripts, event handlers, `style`, forms, frames and `javascript:` links never reach a page.
The sanitized HTML is stored with each version, so a page view does no rendering.
"""

from __future__ import annotations

import functools
import html
import re

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    "a abbr b blockquote br caption code dd del div dl dt em h2 h3 h4 h5 h6 hr i img ins kbd "
    "li mark ol p pre s small span strong sub sup table tbody td tfoot th thead tr u ul".split()
)
DROPPED_WITH_CONTENT = frozenset(
    "script style title head template noscript iframe frame frameset object embed applet "
    "svg math canvas audio video select button form textarea".split()
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "*": {"dir", "lang"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
LINK_REL = "noopener noreferrer"
MAX_MARKDOWN_LENGTH = 100_000

_TAG = re.compile(r"<[^>]+>")
_H1 = re.compile(r"<(/?)h1>")


@functools.cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
    )


def render_markdown(text: str) -> str:
    """Markdown (with any HTML in it) as sanitized HTML. A `#` heading becomes an `<h2>`: the
    page's own title is its only `<h1>`."""
    source = (text or "").replace("\x00", "")[:MAX_MARKDOWN_LENGTH]
    if not source.strip():
        return ""
    rendered = _H1.sub(r"<\1h2>", _markdown().render(source))
    return _cleaner().clean(rendered).strip()


def plain_text(sanitized_html: str) -> str:
    """The words of rendered HTML, for the search index and the summaries."""
    return " ".join(html.unescape(_TAG.sub(" ", sanitized_html or "")).split())


def summary_of(sanitized_html: str, length: int = 280) -> str:
    text = plain_text(sanitized_html)
    if len(text) <= length:
        return text
    return text[: length - 1].rsplit(" ", 1)[0] + "…"
