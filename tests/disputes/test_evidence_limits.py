"""Evidence beyond the gateway's file limit is shortened with a visible warning (in the PDF,
the submission and the API answer), never refused."""

import io

import pytest
from pypdf import PdfReader

from storedesk.accounts.roles import Role
from storedesk.disputes import pdf as pdf_module
from storedesk.disputes.models import DisputeSubmission, EvidencePack
from storedesk.disputes.services import do_assemble_pack
from tests.disputes.builders import disputed_order
from tests.disputes.test_responses import stripe_dispute, stripe_file, stripe_server

pytestmark = pytest.mark.django_db
__all__ = ["stripe_server"]  # the fixture, used by name


@pytest.fixture
def api_client(client, make_user):
    from storedesk.accounts.services import do_create_api_token

    _token, key = do_create_api_token(make_user(Role.PAYMENTS, username="limits"), name="t")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_pdf_over_stripes_file_limit_keeps_the_latest_messages_and_says_so(
    stripe_server, api_client, monkeypatch
):
    messages = [f"Message number {n:03d}. " + "Where is my ring? " * 80 for n in range(40)]
    dispute = disputed_order(messages=messages)
    pack = do_assemble_pack(dispute.pk)
    whole = pdf_module.render_pack_pdf(pack.facts, pack.rebuttal)
    bare = pdf_module.render_pack_pdf({**pack.facts, "messages": []}, pack.rebuttal)
    limit = len(bare) + (len(whole) - len(bare)) // 3  # room for some of the messages
    monkeypatch.setattr(pdf_module, "STRIPE_EVIDENCE_BYTES", limit)
    stripe_server.expect_oneshot_request("/v1/files", method="POST").respond_with_json(
        stripe_file()
    )
    stripe_server.expect_oneshot_request(
        f"/v1/disputes/{dispute.provider_id}", method="POST"
    ).respond_with_json(stripe_dispute(dispute.provider_id, status="under_review"))

    response = api_client.post(
        f"/api/v1/disputes/{dispute.pk}/submit",
        {"idempotency_key": "limits-submit-1"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["status"] == DisputeSubmission.Status.SENT
    (warning,) = [w for w in response.json()["warnings"] if "MB limit" in w]
    assert "over Stripe's" in warning
    assert "of the 40 messages" in warning
    upload = next(request for request, _ in stripe_server.log if request.path == "/v1/files")
    sent = upload.files["file"].read()
    assert len(sent) <= limit
    text = _text(sent)
    assert "Message number 039" in text  # the latest message is kept
    assert "Message number 000" not in text
    assert "earliest messages are left out of this file" in text
    assert DisputeSubmission.objects.get().warnings == response.json()["warnings"]
    assert (
        EvidencePack.objects.get(dispute=dispute)
        .facts["messages"][0]["text"]
        .startswith("Message number 000")
    )  # the pack itself keeps everything


def test_a_pack_within_the_limit_is_sent_whole_without_a_warning(monkeypatch):
    dispute = disputed_order(messages=["Short question about my ring."])
    pack = do_assemble_pack(dispute.pk)

    pdf, warnings = pdf_module.fit_pack_pdf(
        pack.facts, pack.rebuttal, limit=pdf_module.STRIPE_EVIDENCE_BYTES, gateway="Stripe"
    )

    assert warnings == []
    assert "Short question about my ring." in _text(pdf)
