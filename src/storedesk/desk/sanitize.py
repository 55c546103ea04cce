"""Customer HTML made safe to show an agent: one sanitizer (nh3) for every channel.

Kept: text formatting, lists, tables, quotes, links (opened in a new tab, without referrer or
opener) and images that we hold ourselves. Removed: scripts, event handlers, forms, frames,
objects, `<style>`, `style` and `class` attributes (the desk's CSP forbids inline styles, and
a mail's CSS must never restyle or hide parts of the desk), `<base>`, `<meta>` and comments.

Remote images are never loaded (they are how senders track opens): a 1x1 pixel disappears, any
other remote image becomes a link the agent may open on purpose. `data:` images stay inline.
Inline attachments (`cid:`) keep their `src="cid:…"`; the ticket page turns them into our
attachment URLs at render time with `resolve_inline_images`, since the URL depends on the
request (permission check, host), not on the mail.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from html import escape, unescape

import nh3

ALLOWED_TAGS = frozenset(
    "a abbr b bdi bdo blockquote br caption center cite code col colgroup dd del div dl dt em "
    "figcaption figure font h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small "
    "span strike strong sub sup table tbody td tfoot th thead tr tt u ul wbr".split()
)
# Removed with everything inside them (the rest of the unknown tags keep their text).
DROPPED_WITH_CONTENT = frozenset(
    "script style title head template noscript iframe frame frameset object embed applet "
    "svg math canvas audio video select button".split()
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope"},
    "ol": {"start", "type"},
    "blockquote": {"cite"},
    "*": {"dir", "lang"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "cid", "data"})
LINK_REL = "noopener noreferrer nofollow"
INLINE_IMAGE_TYPES = ("data:image/png", "data:image/jpeg", "data:image/gif", "data:image/webp")
TRACKING_PIXEL_MAX = 3  # width or height at most this many pixels: an open tracker

_IMG = re.compile(r"<img\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r'([a-z-]+)="([^"]*)"')


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    if name == "href" and value.lower().startswith(("data:", "cid:")):
        return None
    if tag == "img" and name == "src":
        lowered = value.lower()
        if lowered.startswith("data:") and not lowered.startswith(INLINE_IMAGE_TYPES):
            return None
    return value


def _pixels(value: str | None) -> int | None:
    digits = re.match(r"\s*(\d+)", value or "")
    return int(digits.group(1)) if digits else None


def _replace_image(match: re.Match) -> str:
    """nh3's output is canonical (`name="value"`, escaped), so its img tags parse plainly."""
    attributes = dict(_ATTR.findall(match.group(1)))
    src = unescape(attributes.get("src", ""))
    if not src or src.lower().startswith(("cid:", "data:")):
        return match.group(0)
    width, height = _pixels(attributes.get("width")), _pixels(attributes.get("height"))
    if (width is not None and width <= TRACKING_PIXEL_MAX) or (
        height is not None and height <= TRACKING_PIXEL_MAX
    ):
        return ""
    label = unescape(attributes.get("alt", "")).strip() or "image"
    return (
        f'<a href="{escape(src)}" rel="{LINK_REL}" target="_blank" class="remote-image">'
        f"[{escape(label)}]</a>"
    )


@functools.cache
def _cleaner() -> nh3.Cleaner:
    """One sanitizer built once: `nh3.clean` converts the whole configuration on every call
    (six times the cost of cleaning a short mail)."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_filter_attribute,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


def sanitize_html(html: str) -> str:
    """Untrusted HTML (mail, chat, form) as HTML that is safe to render in the desk."""
    if not html or not html.strip():
        return ""
    cleaned = _cleaner().clean(html)
    return _IMG.sub(_replace_image, cleaned).strip()


_CID_SRC = re.compile(r'src="cid:([^"]*)"', re.IGNORECASE)


def normalise_content_id(content_id: str) -> str:
    """`<part1.abc@host>` and `part1.abc@host` name the same inline part."""
    return unescape(content_id or "").strip().strip("<>").strip().lower()


def resolve_inline_images(html: str, urls: Mapping[str, str]) -> str:
    """The render-time hook for `cid:` images: `urls` maps a Content-ID (normalised with
    `normalise_content_id`, as `Attachment.content_id` is stored) to our attachment URL.
    A cid we do not hold becomes an empty image, never a request elsewhere."""

    def replace(match: re.Match) -> str:
        url = urls.get(normalise_content_id(match.group(1)))
        return f'src="{escape(url)}"' if url else 'src="" data-missing-inline-image="1"'

    return _CID_SRC.sub(replace, html)
