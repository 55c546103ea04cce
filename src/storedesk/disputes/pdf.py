"""The evidence pack as one readable PDF (WeasyPrint), for the bank and as the file uploaded
to the gateway. Always US English: it is read by the card issuer, not by the team."""

from django.template.loader import render_to_string
from django.utils import translation

from storedesk.disputes.evidence import checklist_status, stripe_evidence


def render_pack_html(facts: dict, rebuttal: str) -> str:
    _evidence, warnings = stripe_evidence(facts, rebuttal)
    with translation.override("en"):
        return render_to_string(
            "disputes/evidence_pack_pdf.html",
            {
                "facts": facts,
                "rebuttal": rebuttal,
                "checklist": checklist_status(facts, rebuttal),
                "warnings": warnings,
            },
        )


def render_pack_pdf(facts: dict, rebuttal: str) -> bytes:
    from weasyprint import HTML  # imported here: loading Pango costs time the web pages skip

    html = render_pack_html(facts, rebuttal)
    return HTML(string=html, base_url=None).write_pdf()
