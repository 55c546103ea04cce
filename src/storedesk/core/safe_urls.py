"""One rule for links that come from outside (stores, carriers, visitors): http(s) or nothing.

A carrier's tracking URL or a store's referring site becomes an `href` in our pages, in the
e-mails customers get and in the API. `javascript:`, `data:`, `vbscript:` and every other
scheme would run or show whatever the sender chose, so they are dropped at ingest and again at
render (rows stored before the rule, and any path we forget). The check reads the value the
way a browser does: tabs and newlines anywhere and control characters or spaces at the ends
are ignored by it (`\tjava\nscript:` is `javascript:` to a browser), so they are here.

Protocol-relative links (`//evil.example/x`) are refused too: they name an arbitrary host,
and no store or carrier sends one. A site-relative path (`/products/ring`) is kept only where
the field is a path on the store's own site (Shopify's `landing_site`), with `relative=True`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

HTTP_SCHEMES = frozenset({"http", "https"})
_IGNORED_INSIDE = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IGNORED_AT_ENDS = "".join(map(chr, range(0x21)))  # C0 controls and the space


def safe_http_url(value: object, *, relative: bool = False) -> str:
    """The URL when it is an absolute http(s) URL with a host (or, with `relative`, a path
    on the same site), else ''."""
    if not isinstance(value, str) or not value:
        return ""
    url = _IGNORED_INSIDE.sub("", value).strip(_IGNORED_AT_ENDS)
    if not url or _CONTROL.search(url):
        return ""
    if relative and url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return ""
    if parts.scheme.lower() not in HTTP_SCHEMES or not parts.hostname:
        return ""
    if "\\" in url.split("?", 1)[0].split("#", 1)[0]:
        return ""  # browsers read `\` as `/`: `https:\\evil` would not be the host we checked
    return url
