"""Evidence packs: what Storedesk holds that answers a dispute, and its gateway forms.

`assemble_facts` reads everything in a fixed number of queries (whatever the number of messages,
shipments or orders) and returns plain JSON, so a pack is stored as assembled and rendered as a
page, a PDF, Stripe's `evidence` hash or PayPal's provide-evidence request without reading again.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils.translation import gettext

from storedesk.commerce.models import LineItem, Order, Refund, Shipment, ShipmentEvent
from storedesk.commerce.queries import policies_in_force
from storedesk.disputes import extensions
from storedesk.disputes.models import Dispute, Family
from storedesk.disputes.reasons import CHECKLIST_ITEMS, rule_for

# Stripe: "The combined character count of all text fields is limited to 150,000."
STRIPE_TEXT_LIMIT = 150_000
STRIPE_TEXT_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_tracking_number",
    "uncategorized_text",
)
# Fields a specialist may edit before submitting (the rest follow from the facts).
EDITABLE_FIELDS = frozenset(STRIPE_TEXT_FIELDS)
OTHER_ORDERS_SHOWN = 20
CE3_MIN_AGE, CE3_MAX_AGE = timedelta(days=120), timedelta(days=365)
TRIM_MARKER = (
    "\n[… {count} characters trimmed to fit the gateway's limit; "
    "the full text is in the attached PDF]"
)


def _money(amount: Decimal | None, currency: str) -> dict:
    return {"amount": str(amount if amount is not None else Decimal(0)), "currency": currency}


def _iso(moment) -> str:
    return moment.isoformat() if moment else ""


def _address_text(address: dict) -> str:
    parts = [
        address.get("name")
        or " ".join(p for p in (address.get("first_name", ""), address.get("last_name", "")) if p),
        address.get("address1", ""),
        address.get("address2", ""),
        " ".join(
            p
            for p in (
                address.get("city", ""),
                address.get("province_code", ""),
                address.get("zip", ""),
            )
            if p
        ),
        address.get("country_code", "") or address.get("country", ""),
    ]
    return ", ".join(p for p in parts if p)


def _dispute_for_pack(dispute_id: int) -> Dispute:
    return Dispute.objects.select_related(
        "order", "order__store", "order__customer", "payment", "owner"
    ).get(pk=dispute_id)


def _shipments(order: Order) -> list[dict]:
    shipments = Shipment.objects.filter(order=order).prefetch_related(
        Prefetch("events", queryset=ShipmentEvent.objects.order_by("happened_at", "pk"))
    )
    return [
        {
            "carrier": s.carrier,
            "service": s.service,
            "tracking_number": s.tracking_number,
            "tracking_url": s.tracking_url,
            "status": s.status,
            "shipped_at": _iso(s.shipped_at),
            "delivered_at": _iso(s.delivered_at),
            "signed_by": s.signed_by,
            "proof_of_delivery_url": s.proof_of_delivery_url,
            "events": [
                {
                    "at": _iso(e.happened_at),
                    "status": e.status,
                    "message": e.message,
                    "place": ", ".join(p for p in (e.city, e.province, e.country) if p),
                }
                for e in s.events.all()
            ],
        }
        for s in shipments.order_by("pk")
    ]


def _other_orders(order: Order) -> list[dict]:
    """The same customer's (or IP's) other orders, newest first, each with what matches the
    disputed order and whether it was disputed: Visa CE 3.0 wants earlier undisputed ones."""
    same = Q(customer_id=order.customer_id) if order.customer_id else Q(email=order.email)
    if order.browser_ip:
        same |= Q(browser_ip=order.browser_ip, store_id=order.store_id)
    others = (
        Order.objects.filter(same)
        .exclude(pk=order.pk)
        .annotate(disputed=Exists(Dispute.objects.filter(order=OuterRef("pk"))))
        .order_by("-created_at")
        .only(
            "pk",
            "number",
            "created_at",
            "total_price",
            "currency",
            "browser_ip",
            "user_agent",
            "shipping_address",
            "financial_status",
        )[:OTHER_ORDERS_SHOWN]
    )
    address_key = _address_key(order.shipping_address)
    rows = []
    for other in others:
        matches = []
        if order.browser_ip and other.browser_ip == order.browser_ip:
            matches.append("ip")
        if order.user_agent and other.user_agent == order.user_agent:
            matches.append("device")
        if address_key and _address_key(other.shipping_address) == address_key:
            matches.append("address")
        age = order.created_at - other.created_at
        rows.append(
            {
                "id": other.pk,
                "number": other.number,
                "created_at": _iso(other.created_at),
                "total": _money(other.total_price, other.currency),
                "financial_status": other.financial_status,
                "disputed": other.disputed,
                "earlier": age > timedelta(0),
                "matches": matches,
                "ip": other.browser_ip or "",
                "ce3": (
                    not other.disputed and len(matches) >= 2 and CE3_MIN_AGE <= age <= CE3_MAX_AGE
                ),
            }
        )
    return rows


def _address_key(address: dict) -> str:
    return (
        "|".join(
            str(address.get(key, "")).strip().lower() for key in ("address1", "zip", "country_code")
        )
        if address and address.get("address1")
        else ""
    )


def assemble_facts(dispute_id: int) -> tuple[Dispute, dict[str, Any]]:
    """Everything the pack is made of, as JSON, in a fixed number of queries."""
    dispute = _dispute_for_pack(dispute_id)
    order, payment = dispute.order, dispute.payment
    customer = order.customer
    items = LineItem.objects.filter(order=order).select_related("variant__product").order_by("pk")
    refunds = Refund.objects.filter(order=order).order_by("created_at")
    policies = policies_in_force(order.store, order.created_at)
    tickets, messages = extensions.conversation_of(order)
    rule = rule_for(dispute)
    facts = {
        "dispute": {
            "id": dispute.pk,
            "gateway": dispute.gateway,
            "provider_id": dispute.provider_id,
            "reason": dispute.reason,
            "network_reason_code": dispute.network_reason_code,
            "family": dispute.family,
            "stage": dispute.stage,
            "amount": _money(dispute.amount, dispute.currency),
            "opened_at": _iso(dispute.opened_at),
            "evidence_due_by": _iso(dispute.evidence_due_by),
        },
        "order": {
            "id": order.pk,
            "number": order.number,
            "created_at": _iso(order.created_at),
            "total": _money(order.total_price, order.currency),
            "subtotal": _money(order.subtotal_price, order.currency),
            "shipping": _money(order.total_shipping, order.currency),
            "tax": _money(order.total_tax, order.currency),
            "discounts": _money(order.total_discounts, order.currency),
            "discount_codes": order.discount_codes,
            "financial_status": order.financial_status,
            "fulfillment_status": order.fulfillment_status,
            "shipping_method": order.shipping_method,
            "email": order.email,
            "customer_name": customer.full_name
            if customer
            else _address_name(order.billing_address),
            "billing_address": _address_text(order.billing_address),
            "shipping_address": _address_text(order.shipping_address),
            "items": [
                {
                    "title": item.title,
                    "variant": item.variant_title,
                    "sku": item.sku,
                    "quantity": item.quantity,
                    "price": _money(item.price, order.currency),
                    "description": _product_description(item),
                }
                for item in items
            ],
        },
        "payment": {
            "gateway": payment.gateway,
            "provider_id": payment.provider_id,
            "amount": _money(payment.amount, payment.currency),
            "created_at": _iso(payment.created_at),
            "card_brand": payment.card_brand,
            "card_last4": payment.card_last4,
            "avs_line1_check": payment.avs_line1_check,
            "avs_postal_check": payment.avs_postal_check,
            "cvc_check": payment.cvc_check,
            "three_d_secure_result": payment.three_d_secure_result,
            "three_d_secure_version": payment.three_d_secure_version,
            "outcome_type": payment.outcome_type,
            "risk_level": payment.risk_level,
            "payer_email": payment.payer_email,
            "payer_status": payment.payer_status,
            "seller_protection": payment.seller_protection,
            "ip": order.browser_ip or "",
            "user_agent": order.user_agent,
            "accept_language": order.accept_language,
        },
        "shipments": _shipments(order),
        "tickets": tickets,
        "messages": messages,
        "policies": [
            {
                "kind": policy.kind,
                "version": policy.version,
                "title": policy.title,
                "effective_from": _iso(policy.effective_from),
                "body": policy.body,
            }
            for policy in policies.values()
        ],
        "refunds": [
            {
                "amount": _money(refund.amount, refund.currency),
                "status": refund.status,
                "reason": refund.reason,
                "provider_id": refund.provider_id,
                "created_at": _iso(refund.created_at),
            }
            for refund in refunds
        ],
        "other_orders": _other_orders(order),
        "rule": {
            "id": rule.pk if rule else None,
            "version": rule.version if rule else None,
            "source": rule.source if rule else "",
            "effective_from": _iso(rule.effective_from) if rule else "",
            "checklist": list(rule.checklist)
            if rule
            else ["order_receipt", "customer_communication", "rebuttal"],
            "actions": dict(rule.actions) if rule else {},
        },
    }
    return dispute, facts


def _address_name(address: dict) -> str:
    return (
        address.get("name")
        or f"{address.get('first_name', '')} {address.get('last_name', '')}".strip()
    )


def _product_description(item: LineItem) -> str:
    variant = item.variant
    if variant is None:
        return item.title
    product = variant.product
    return " · ".join(
        part
        for part in (
            product.title,
            product.get_material_display(),
            product.get_kind_display(),
            f"size {variant.size}" if variant.size else "",
            f"{variant.grams} g" if variant.grams else "",
        )
        if part
    )


def _delivered(facts: dict) -> dict | None:
    return next((s for s in facts["shipments"] if s["delivered_at"]), None)


SATISFIED = {
    "order_receipt": lambda f, r: bool(f["order"]["items"]),
    "authorization": lambda f, r: (
        any(f["payment"][k] for k in ("avs_postal_check", "cvc_check", "three_d_secure_result"))
        or bool(f["payment"]["payer_status"])
    ),
    "purchase_ip_device": lambda f, r: bool(f["payment"]["ip"] and f["payment"]["user_agent"]),
    "shipping_tracking": lambda f, r: any(s["tracking_number"] for s in f["shipments"]),
    "delivery_proof": lambda f, r: _delivered(f) is not None,
    "delivery_signature": lambda f, r: any(s["signed_by"] for s in f["shipments"]),
    "customer_communication": lambda f, r: bool(f["messages"]),
    "refund_policy": lambda f, r: any(p["kind"] == "returns" for p in f["policies"]),
    "shipping_policy": lambda f, r: any(p["kind"] == "shipping" for p in f["policies"]),
    "product_description": lambda f, r: any(i["description"] for i in f["order"]["items"]),
    "prior_undisputed_orders": lambda f, r: any(o["ce3"] for o in f["other_orders"]),
    "refunds_given": lambda f, r: any(x["status"] == "succeeded" for x in f["refunds"]),
    "other_orders": lambda f, r: bool(f["other_orders"]),
    "rebuttal": lambda f, r: len((r or "").strip()) >= 40,
}


def checklist_status(facts: dict, rebuttal: str) -> list[dict]:
    """Each checklist item of the dispute's reason rule, with whether the pack holds it."""
    return [
        {
            "key": key,
            "label": gettext(CHECKLIST_ITEMS.get(key, key)),
            "done": bool(SATISFIED[key](facts, rebuttal)) if key in SATISFIED else False,
        }
        for key in facts["rule"]["checklist"]
    ]


def completeness(facts: dict, rebuttal: str) -> tuple[int, list[str]]:
    """(percent of checklist items held, the keys of those missing)."""
    items = checklist_status(facts, rebuttal)
    if not items:
        return 100, []
    done = sum(item["done"] for item in items)
    return round(100 * done / len(items)), [item["key"] for item in items if not item["done"]]


# --- Rebuttal letters (sent to the bank: US English, not translated) -------------------------

REBUTTALS = {
    Family.FRAUD: (
        "We dispute this chargeback. Order {order} was placed on {date} and paid with a card "
        "that passed the issuer's checks ({checks}). It was placed from IP address {ip}, "
        "matching the customer's earlier undisputed orders ({prior}), and delivered to the "
        "cardholder's address ({delivery}). The customer's own messages about the order are "
        "attached. We ask that the chargeback be reversed."
    ),
    Family.NOT_RECEIVED: (
        "We dispute this claim that the item was not received. Order {order}, placed on {date}, "
        "was shipped with {carrier} (tracking {tracking}) and the carrier reports it delivered "
        "{delivery}. The tracking history, the shipping policy the customer accepted at "
        "purchase and our whole conversation with the customer are attached."
    ),
    Family.NOT_AS_DESCRIBED: (
        "We dispute this claim that the item was not as described. Order {order} was for: "
        "{items}, exactly as described on our store. Our return policy shown at purchase "
        "offered a return and refund; the customer did not return the item. The product "
        "description, the policy and our conversation with the customer are attached."
    ),
    Family.CREDIT_NOT_PROCESSED: (
        "We dispute this claim that a credit was not processed. For order {order} we refunded "
        "{refunds}, as our return policy shown at purchase provides. Proof of the refunds, the "
        "policy and our conversation with the customer are attached."
    ),
    Family.DUPLICATE: (
        "We dispute this claim of a duplicate charge. Order {order} was charged once, "
        "{amount}; the customer's other orders are separate purchases with their own order "
        "numbers, listed in the attached evidence."
    ),
    Family.SUBSCRIPTION: (
        "We dispute this claim. Order {order} was a one-time purchase placed on {date}, not a "
        "subscription; our terms and return policy shown at purchase are attached."
    ),
    Family.OTHER: (
        "We dispute this chargeback. Order {order} was placed on {date}, paid ({amount}) and "
        "fulfilled as ordered. The order details and our conversation with the customer are "
        "attached."
    ),
}


def draft_rebuttal(facts: dict) -> str:
    """The family's letter with this order's facts filled in; the specialist edits it."""
    order, payment = facts["order"], facts["payment"]
    delivered = _delivered(facts)
    shipment = delivered or (facts["shipments"][0] if facts["shipments"] else None)
    checks = (
        ", ".join(
            f"{label} {payment[key]}"
            for label, key in (
                ("AVS", "avs_postal_check"),
                ("CVC", "cvc_check"),
                ("3-D Secure", "three_d_secure_result"),
            )
            if payment[key]
        )
        or "authorized"
    )
    prior = [o["number"] for o in facts["other_orders"] if o["earlier"] and not o["disputed"]]
    values = {
        "order": order["number"],
        "date": order["created_at"][:10],
        "amount": f"{order['total']['amount']} {order['total']['currency']}",
        "checks": checks,
        "ip": payment["ip"] or "unknown",
        "prior": ", ".join(prior[:5]) or "none on record",
        "carrier": shipment["carrier"] if shipment else "the carrier",
        "tracking": shipment["tracking_number"] if shipment else "n/a",
        "delivery": (
            f"on {delivered['delivered_at'][:10]}"
            + (f", signed by {delivered['signed_by']}" if delivered["signed_by"] else "")
            if delivered
            else "(delivery not yet confirmed)"
        ),
        "items": "; ".join(f"{i['quantity']} × {i['title']}" for i in order["items"])
        or "the items ordered",
        "refunds": ", ".join(
            f"{r['amount']['amount']} {r['amount']['currency']} on {r['created_at'][:10]}"
            for r in facts["refunds"]
            if r["status"] == "succeeded"
        )
        or "nothing yet",
    }
    family = facts["dispute"]["family"]
    return REBUTTALS.get(family, REBUTTALS[Family.OTHER]).format_map(values)


# --- Gateway forms --------------------------------------------------------------------------


def transcript(facts: dict) -> str:
    """The whole conversation as plain text a person at a bank reads top to bottom."""
    numbers = {t["id"]: t["number"] for t in facts["tickets"]}
    lines = []
    for message in facts["messages"]:
        who = "Customer" if message["from_customer"] else "Store"
        at = message["at"][:16].replace("T", " ")
        ticket = numbers.get(message["ticket"], "")
        lines.append(f"[{at} UTC] {who} ({message['author']}), ticket {ticket}")
        lines.append(message["text"])
        if message["attachments"]:
            lines.append("Attachments: " + ", ".join(message["attachments"]))
        lines.append("")
    return "\n".join(lines).strip()


def _prior_orders_text(facts: dict) -> str:
    rows = [o for o in facts["other_orders"] if o["earlier"] and not o["disputed"] and o["matches"]]
    if not rows:
        return ""
    return "Earlier undisputed orders of this customer:\n" + "\n".join(
        f"- {o['number']} on {o['created_at'][:10]}, "
        f"{o['total']['amount']} {o['total']['currency']}, matching {', '.join(o['matches'])}"
        + (f" (IP {o['ip']})" if o["ip"] else "")
        for o in rows
    )


def stripe_evidence(
    facts: dict, rebuttal: str, overrides: dict | None = None
) -> tuple[dict, list[str]]:
    """Stripe's `evidence` hash (text fields; files are added when submitting) and the
    warnings of anything trimmed to fit Stripe's 150,000-character limit."""
    order, payment = facts["order"], facts["payment"]
    shipment = _delivered(facts) or (facts["shipments"][0] if facts["shipments"] else None)
    policy = {p["kind"]: p for p in facts["policies"]}
    family = facts["dispute"]["family"]
    evidence = {
        "customer_name": order["customer_name"],
        "customer_email_address": order["email"],
        "billing_address": order["billing_address"],
        "shipping_address": order["shipping_address"],
        "customer_purchase_ip": payment["ip"],
        "access_activity_log": (
            f"Order placed {order['created_at']} from IP {payment['ip']} "
            f"with {payment['user_agent']}"
            if payment["ip"]
            else ""
        ),
        "product_description": "\n".join(
            f"{i['quantity']} × {i['description'] or i['title']} ({i['sku']}), "
            f"{i['price']['amount']} {i['price']['currency']}"
            for i in order["items"]
        ),
        "shipping_carrier": shipment["carrier"] if shipment else "",
        "shipping_tracking_number": shipment["tracking_number"] if shipment else "",
        "shipping_date": (shipment["shipped_at"] or "")[:10] if shipment else "",
        "refund_policy_disclosure": (
            f"{policy['returns']['title']} (version {policy['returns']['version']}, in force "
            f"from {policy['returns']['effective_from'][:10]}) was shown at checkout."
            if "returns" in policy
            else ""
        ),
        "uncategorized_text": "\n\n".join(
            part
            for part in (
                rebuttal.strip(),
                _prior_orders_text(facts),
                "Customer conversation:\n" + transcript(facts) if facts["messages"] else "",
            )
            if part
        ),
    }
    if family == Family.CREDIT_NOT_PROCESSED:
        evidence["refund_refusal_explanation"] = rebuttal.strip()
    if family == Family.DUPLICATE:
        evidence["duplicate_charge_explanation"] = rebuttal.strip()
    if family == Family.SUBSCRIPTION and "terms" in policy:
        evidence["cancellation_policy_disclosure"] = policy["terms"]["title"]
    for name, value in (overrides or {}).items():
        if name in EDITABLE_FIELDS:
            evidence[name] = str(value)
    evidence = {name: value for name, value in evidence.items() if value}
    return trim_to_limit(evidence, STRIPE_TEXT_LIMIT)


def trim_to_limit(evidence: dict, limit: int) -> tuple[dict, list[str]]:
    """Cut the longest free text (the conversation in `uncategorized_text` first) so all text
    fields together fit; say what was cut. Never refuse: the PDF carries the full text."""
    total = sum(len(v) for k, v in evidence.items() if k in STRIPE_TEXT_FIELDS)
    warnings = []
    for name in ("uncategorized_text", "access_activity_log", "product_description"):
        excess = total - limit
        if excess <= 0:
            break
        value = evidence.get(name, "")
        if not value:
            continue
        marker = TRIM_MARKER.format(count=min(len(value), excess + 200))
        keep = max(0, len(value) - excess - len(marker))
        trimmed = value[:keep] + marker
        cut = len(value) - keep
        evidence[name] = trimmed
        total -= len(value) - len(trimmed)
        warnings.append(
            f"{name}: {cut} characters trimmed to fit Stripe's {limit:,} character limit "
            "(the full text is in the attached PDF)"
        )
    return evidence, warnings


PAYPAL_NOTE_LIMIT = 2000


def paypal_evidence(facts: dict, rebuttal: str) -> dict:
    """The `input` of PayPal's provide-evidence request: one evidence per kind we hold, with
    tracking and refund ids where the API has a place for them."""
    evidences = []
    tracking = [
        {"carrier_name": s["carrier"].upper(), "tracking_number": s["tracking_number"]}
        for s in facts["shipments"]
        if s["tracking_number"]
    ]
    if tracking:
        evidences.append(
            {
                "evidence_type": "PROOF_OF_FULFILLMENT",
                "evidence_info": {"tracking_info": tracking},
                "notes": "Tracking history attached.",
            }
        )
    refunds = [
        r["provider_id"]
        for r in facts["refunds"]
        if r["provider_id"] and r["status"] == "succeeded"
    ]
    if refunds:
        evidences.append(
            {"evidence_type": "PROOF_OF_REFUND", "evidence_info": {"refund_ids": refunds}}
        )
    if any(p["kind"] == "returns" for p in facts["policies"]):
        evidences.append(
            {"evidence_type": "RETURN_POLICY", "notes": "Policy shown at purchase attached."}
        )
    if any(i["description"] for i in facts["order"]["items"]):
        evidences.append(
            {"evidence_type": "ITEM_DESCRIPTION", "notes": "Product description attached."}
        )
    note = rebuttal.strip()
    if len(note) > PAYPAL_NOTE_LIMIT:
        note = note[: PAYPAL_NOTE_LIMIT - 40] + " […] (full letter in the attached PDF)"
    evidences.append({"evidence_type": "OTHER", "notes": note or "Evidence pack attached."})
    return {"evidences": evidences}
