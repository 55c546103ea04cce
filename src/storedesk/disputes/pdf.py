"""The evidence pack as one readable PDF (WeasyPrint), for the bank and as the file uploaded
to the gateway. Always US English: it is read by the card issuer, not by the team."""

import logging
import shutil
import subprocess
import unicodedata
from functools import cache

from django.template.loader import render_to_string
from django.utils import translation

from storedesk.disputes.evidence import checklist_status, stripe_evidence

PDF_FONT = "DejaVu Sans"
# fontTools logs every subsetting step at INFO: thousands of lines per PDF.
logging.getLogger("fontTools").setLevel(logging.WARNING)


@cache
def _font_characters() -> frozenset[int] | None:
    """The code points the PDF's font draws (None when it cannot be found: then nothing is
    replaced). A character the font lacks would be drawn as an empty box and, worse, breaks
    the text layer of the whole line for PDF readers."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    try:
        from fontTools.ttLib import TTFont

        path = subprocess.run(  # noqa: S603 - a fixed program and arguments
            [fc_match, "-f", "%{file}", PDF_FONT],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return frozenset(TTFont(path, lazy=True).getBestCmap())
    except (OSError, subprocess.SubprocessError, ValueError, ImportError):
        return None


def drawable(text: str) -> str:
    """The text with each character the font lacks written as its name: "💍" -> "[RING]"."""
    characters = _font_characters()
    if characters is None or not text:
        return text
    if all(ord(c) in characters or c in "\n\r\t" for c in text):
        return text
    return "".join(
        c
        if ord(c) in characters or c in "\n\r\t"
        else f"[{unicodedata.name(c, f'U+{ord(c):04X}')}]"
        for c in text
    )


def _drawable_facts(value):
    if isinstance(value, str):
        return drawable(value)
    if isinstance(value, list):
        return [_drawable_facts(item) for item in value]
    if isinstance(value, dict):
        return {key: _drawable_facts(item) for key, item in value.items()}
    return value


def render_pack_html(facts: dict, rebuttal: str) -> str:
    _evidence, warnings = stripe_evidence(facts, rebuttal)
    with translation.override("en"):
        return render_to_string(
            "disputes/evidence_pack_pdf.html",
            {
                "facts": _drawable_facts(facts),
                "rebuttal": drawable(rebuttal),
                "checklist": checklist_status(facts, rebuttal),
                "warnings": [drawable(w) for w in warnings],
            },
        )


def render_pack_pdf(facts: dict, rebuttal: str) -> bytes:
    from weasyprint import HTML  # imported here: loading Pango costs time the web pages skip

    html = render_pack_html(facts, rebuttal)
    return HTML(string=html, base_url=None).write_pdf()


# The gateways' file limits (see the payments reference): Stripe takes evidence files of
# at most 4.5 MB together; PayPal 10 MB a file.
STRIPE_EVIDENCE_BYTES = 4_500_000
PAYPAL_EVIDENCE_BYTES = 10_000_000


def fit_pack_pdf(facts: dict, rebuttal: str, *, limit: int, gateway: str) -> tuple[bytes, list]:
    """The pack PDF within `limit` bytes, with a warning of what was left out: the earliest
    messages of the conversation go first (halving what is kept until it fits; the PDF says
    so). Never refused: if even the shortest pack is too big it is sent as it is, with a
    warning, and the gateway decides."""
    pdf = render_pack_pdf(facts, rebuttal)
    if len(pdf) <= limit:
        return pdf, []
    size, messages = len(pdf), facts["messages"]
    kept = len(messages)
    while len(pdf) > limit and kept:
        kept //= 2
        pdf = render_pack_pdf(
            {
                **facts,
                "messages": messages[-kept:] if kept else [],
                "messages_omitted": (len(messages) - kept),
            },
            rebuttal,
        )
    warning = (
        f"the evidence PDF was {size / 1_000_000:.1f} MB, over {gateway}'s "
        f"{limit / 1_000_000:.1f} MB limit: it carries the latest {kept} of the "
        f"{len(messages)} messages (the whole conversation stays in Storedesk)"
    )
    if len(pdf) > limit:
        warning += f"; still {len(pdf) / 1_000_000:.1f} MB, sent as it is"
    return pdf, [warning]
