import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from storedesk.disputes.evidence import (
    STRIPE_TEXT_FIELDS,
    STRIPE_TEXT_LIMIT,
    assemble_facts,
    paypal_evidence,
    stripe_evidence,
)
from storedesk.disputes.models import DisputeEvent, EvidencePack, Family, Stage
from storedesk.disputes.pdf import render_pack_pdf
from storedesk.disputes.services import EvidenceRefused, do_assemble_pack, do_update_evidence
from tests.disputes.builders import disputed_order

pytestmark = pytest.mark.django_db


def test_a_dispute_gets_its_family_and_stage_from_the_reason_rules():
    stripe = disputed_order(reason="fraudulent", network_reason_code="10.4")
    paypal = disputed_order(
        gateway="paypal",
        reason="MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED",
        network_reason_code="",
        status="WAITING_FOR_SELLER_RESPONSE",
        raw={"dispute_life_cycle_stage": "PRE_ARBITRATION"},
    )

    assert (stripe.family, stripe.stage) == (Family.FRAUD, Stage.CHARGEBACK)
    assert (paypal.family, paypal.stage) == (Family.NOT_AS_DESCRIBED, Stage.PRE_ARBITRATION)


def test_the_pack_holds_what_a_not_received_dispute_needs():
    dispute = disputed_order(reason="product_not_received", network_reason_code="13.1")

    pack = do_assemble_pack(dispute.pk)

    facts = pack.facts
    assert facts["order"]["number"] == dispute.order.number
    assert facts["shipments"][0]["signed_by"] == "O BENNETT"
    assert [e["message"] for e in facts["shipments"][0]["events"]] == [
        "Departed Hanoi sorting center",
        "Delivered, front door",
    ]
    assert [m["text"] for m in facts["messages"]][0] == "Where is my ring? It has been two weeks."
    assert {p["kind"] for p in facts["policies"]} == {"returns", "shipping"}
    assert pack.completeness == 100
    assert pack.missing == []
    assert dispute.order.number in pack.rebuttal
    assert DisputeEvent.objects.filter(dispute=dispute, kind="pack_assembled").count() == 1


def test_missing_evidence_is_named_and_lowers_the_score():
    dispute = disputed_order(reason="product_not_received", messages=[])
    dispute.order.shipments.update(signed_by="")

    pack = do_assemble_pack(dispute.pk)

    assert pack.missing == ["delivery_signature", "customer_communication"]
    assert pack.completeness == 71  # 5 of 7


def test_visa_ce3_counts_an_earlier_undisputed_order_with_the_same_ip_and_device():
    with_prior = disputed_order(reason="fraudulent", network_reason_code="10.4")
    without = disputed_order(
        reason="fraudulent",
        network_reason_code="10.4",
        with_prior_order=False,
        browser_ip="98.10.20.30",
    )

    assert "prior_undisputed_orders" not in do_assemble_pack(with_prior.pk).missing
    assert "prior_undisputed_orders" in do_assemble_pack(without.pk).missing


def test_mastercard_fraud_does_not_ask_for_visa_ce3():
    dispute = disputed_order(
        reason="fraudulent", network_reason_code="4837", with_prior_order=False
    )

    pack = do_assemble_pack(dispute.pk)

    assert "prior_undisputed_orders" not in pack.facts["rule"]["checklist"]


def test_stripe_evidence_uses_stripes_field_names():
    dispute = disputed_order()
    pack = do_assemble_pack(dispute.pk)

    evidence, warnings = stripe_evidence(pack.facts, pack.rebuttal)

    assert warnings == []
    assert evidence["shipping_carrier"] == "USPS"
    assert evidence["shipping_tracking_number"] == pack.facts["shipments"][0]["tracking_number"]
    assert evidence["customer_purchase_ip"] == "73.42.18.9"
    assert evidence["uncategorized_text"].startswith(pack.rebuttal)
    assert "Where is my ring?" in evidence["uncategorized_text"]
    assert set(evidence) <= set(STRIPE_TEXT_FIELDS)


def test_evidence_beyond_stripes_limit_is_trimmed_with_a_warning():
    long_message = "My ring never came. " * 10_000  # 200,000 characters
    dispute = disputed_order(messages=[long_message])
    pack = do_assemble_pack(dispute.pk)

    evidence, warnings = stripe_evidence(pack.facts, pack.rebuttal)

    assert sum(len(evidence[name]) for name in evidence) <= STRIPE_TEXT_LIMIT
    assert evidence["uncategorized_text"].startswith(pack.rebuttal)
    assert "characters trimmed" in evidence["uncategorized_text"]
    assert len(warnings) == 1
    assert warnings[0].startswith("uncategorized_text:")


def test_paypal_evidence_carries_tracking_and_the_letter():
    dispute = disputed_order(
        gateway="paypal",
        reason="MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        network_reason_code="",
        status="WAITING_FOR_SELLER_RESPONSE",
    )
    pack = do_assemble_pack(dispute.pk)

    request = paypal_evidence(pack.facts, pack.rebuttal)

    types = [e["evidence_type"] for e in request["evidences"]]
    assert types == ["PROOF_OF_FULFILLMENT", "RETURN_POLICY", "ITEM_DESCRIPTION", "OTHER"]
    tracking = request["evidences"][0]["evidence_info"]["tracking_info"][0]
    assert tracking == {
        "carrier_name": "USPS",
        "tracking_number": pack.facts["shipments"][0]["tracking_number"],
    }
    assert request["evidences"][-1]["notes"] == pack.rebuttal


def test_the_specialists_rebuttal_survives_a_reassembly():
    dispute = disputed_order()
    do_assemble_pack(dispute.pk)
    do_update_evidence(
        dispute,
        actor="specialist",
        rebuttal="Our own words about this order, long enough to count.",
        fields={"shipping_carrier": "USPS Priority"},
    )

    pack = do_assemble_pack(dispute.pk)

    assert pack.rebuttal == "Our own words about this order, long enough to count."
    evidence, _ = stripe_evidence(pack.facts, pack.rebuttal, pack.overrides)
    assert evidence["shipping_carrier"] == "USPS Priority"


def test_an_unknown_evidence_field_is_refused():
    dispute = disputed_order()

    with pytest.raises(EvidenceRefused, match="unknown evidence fields: receipt_url"):
        do_update_evidence(dispute, actor="specialist", fields={"receipt_url": "x"})
    assert not EvidencePack.objects.filter(dispute=dispute).exists()


def _pdf_text(dispute) -> str:
    pack = do_assemble_pack(dispute.pk)
    pdf = render_pack_pdf(pack.facts, pack.rebuttal)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_reads_with_the_order_tracking_and_customer_message():
    dispute = disputed_order()

    text = _pdf_text(dispute)

    assert dispute.order.number in text
    assert dispute.order.shipments.get().tracking_number in text
    assert "Where is my ring? It has been two weeks." in text


def test_the_pdf_renders_emoji_vietnamese_and_very_long_messages():
    long_word = "x" * 5000
    dispute = disputed_order(
        messages=[
            "Tôi chưa nhận được nhẫn, xin hãy kiểm tra giúp tôi.",
            "Still waiting 😡💍 please help",
            "Long: " + ("word " * 8000) + long_word,
        ]
    )

    text = _pdf_text(dispute)

    assert "Tôi chưa nhận được nhẫn" in text
    assert "Still waiting" in text
    assert "[RING]" in text  # a character the font lacks is written as its name
    assert text.count("word") > 7000


def test_assembly_reads_a_fixed_number_of_queries(django_assert_num_queries):
    few = disputed_order(messages=["one", "two"])
    many = disputed_order(messages=[f"message {n}" for n in range(50)])
    with django_assert_num_queries(11) as few_queries:
        assemble_facts(few.pk)
    with django_assert_num_queries(len(few_queries.captured_queries)):
        assemble_facts(many.pk)


def test_due_dates_follow_the_gateway():
    dispute = disputed_order(due_in=timedelta(hours=5))
    assert dispute.evidence_due_by is not None
