"""The public pages meet WCAG AA contrast (4.5:1 for text), computed from the stylesheets
themselves: the colours each text element of the contact form gets from the CSS rules that
match it and its ancestors, against the background it sits on."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "storedesk" / "static"
STYLESHEETS = [STATIC / "storedesk" / "desk.css", STATIC / "css" / "help.css"]  # page order
AA_TEXT = 4.5
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_VAR = re.compile(r"var\(\s*(--[\w-]+)\s*(?:,\s*([^)]+))?\)")
_HEX = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def parse_css(text: str) -> list[tuple[list[str], dict[str, str]]]:
    """(selectors, declarations) of every rule, the rules inside @media blocks included."""
    rules, text = [], _COMMENT.sub("", text)
    depth, start, prelude = 0, 0, []
    for index, char in enumerate(text):
        if char == "{":
            prelude.append(text[start:index].strip())
            depth, start = depth + 1, index + 1
        elif char == "}":
            head = prelude.pop() if prelude else ""
            body = text[start:index]
            if "{" not in body and not head.startswith("@"):
                declarations = {}
                for part in body.split(";"):
                    if ":" in part:
                        name, value = part.split(":", 1)
                        declarations[name.strip()] = value.strip()
                rules.append(([s.strip() for s in head.split(",")], declarations))
            depth, start = depth - 1, index + 1
    return rules


def _rules() -> list[tuple[list[str], dict[str, str]]]:
    return [rule for path in STYLESHEETS for rule in parse_css(path.read_text())]


def _variables(rules) -> dict[str, str]:
    return {
        name: value
        for selectors, declarations in rules
        if ":root" in selectors
        for name, value in declarations.items()
        if name.startswith("--")
    }


def colour(value: str, variables: dict[str, str]) -> str | None:
    """A #rrggbb colour from a CSS value (var() with its fallback resolved), or None."""
    for _ in range(5):
        value = _VAR.sub(lambda m: variables.get(m.group(1), m.group(2) or ""), value).strip()
    value = {"white": "#ffffff", "black": "#000000", "#fff": "#ffffff"}.get(value, value)
    match = _HEX.match(value.split()[0] if value else "")
    if not match:
        return None
    digits = match.group(1)
    return "#" + ("".join(c * 2 for c in digits) if len(digits) == 3 else digits).lower()


def contrast(foreground: str, background: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted([luminance(foreground), luminance(background)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _matches(compound: str, element: tuple[str, set[str]]) -> bool:
    """A simple compound selector (`label`, `.muted`, `button.primary`) against (tag, classes)."""
    tag, classes = element
    match = re.fullmatch(r"([a-z][a-z0-9]*)?((?:\.[\w-]+)*)", compound)
    if not match or not compound:
        return False
    wanted = set(filter(None, match.group(2).split(".")))
    return (match.group(1) in (None, tag)) and wanted <= classes


def _selector_matches(selector: str, chain: list[tuple[str, set[str]]]) -> bool:
    """`X` or a descendant selector `A X` (`.field label`) against an element and its ancestors."""
    parts = selector.replace(">", " ").split()
    if not parts or not _matches(parts[-1], chain[-1]):
        return False
    ancestors = chain[:-1]
    for part in reversed(parts[:-1]):
        while ancestors and not _matches(part, ancestors[-1]):
            ancestors = ancestors[:-1]
        if not ancestors:
            return False
        ancestors = ancestors[:-1]
    return True


def computed(chain, rules, variables, properties: tuple[str, ...]) -> str | None:
    """The colour the nearest element of the chain that sets one of `properties` gives it (the
    last matching rule wins, as in the cascade for selectors of equal weight)."""
    for depth in range(len(chain), 0, -1):
        found = None
        for selectors, declarations in rules:
            if any(_selector_matches(s, chain[:depth]) for s in selectors):
                for name in properties:
                    if name in declarations and colour(declarations[name], variables):
                        found = colour(declarations[name], variables)
        if found:
            return found
    return None


class TextElements(HTMLParser):
    """Every element holding text directly, with its ancestor chain, outside hidden parts."""

    VOID = {"meta", "link", "input", "br", "img", "hr"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, set[str]]] = []
        self.found: list[tuple[list[tuple[str, set[str]]], str]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append((tag, set((dict(attrs).get("class") or "").split())))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        hidden = any({"honeypot", "visually-hidden"} & classes for _, classes in self.stack)
        inside_head = any(tag in ("head", "script", "style", "title") for tag, _ in self.stack)
        if data.strip() and self.stack and not hidden and not inside_head:
            self.found.append((list(self.stack), data.strip()))


def text_elements(html: str):
    parser = TextElements()
    parser.feed(html)
    return parser.found


@pytest.fixture
def store(db):
    from tests.factories import StoreFactory

    return StoreFactory()


@pytest.mark.parametrize("path", ["/help/contact/", "/help/contact/embed/"])
def test_every_text_on_the_contact_form_meets_wcag_aa(client, store, path):
    rules = _rules()
    variables = _variables(rules)
    pages = [client.get(path).text, client.post(path, {}).text]  # the form, then its errors
    checked = 0
    for html in pages:
        for chain, text in text_elements(html):
            foreground = computed(chain, rules, variables, ("color",))
            background = computed(chain, rules, variables, ("background", "background-color"))
            assert contrast(foreground, background) >= AA_TEXT, (text, foreground, background)
            checked += 1
    assert checked > 10


def test_the_contact_form_labels_are_in_the_text_colour_not_the_muted_grey(client, store):
    rules = _rules()
    variables = _variables(rules)
    labels = [
        chain
        for chain, _ in text_elements(client.get("/help/contact/").text)
        if chain[-1][0] == "label"
    ]
    assert len(labels) >= 3
    for chain in labels:
        assert computed(chain, rules, variables, ("color",)) == colour("var(--text)", variables)


def test_the_muted_grey_is_readable_on_every_surface_it_sits_on():
    variables = _variables(_rules())
    muted = colour("var(--muted)", variables)
    for surface in ("--panel", "--bg", "--neutral-bg"):
        assert contrast(muted, colour(f"var({surface})", variables)) >= AA_TEXT, surface
