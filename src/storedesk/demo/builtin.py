"""The built-in scenarios of the demo store: catalog, policies, fraud, payments, shipping,
refunds, disputes and the ground truth. Each writes only through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from storedesk.commerce.ingest import (
    DisputeIn,
    PaymentIn,
    RefundIn,
    ShipmentEventIn,
    ShipmentIn,
)
from storedesk.commerce.services import (
    do_ingest_refunds,
    do_publish_policy,
    do_upsert_catalog,
)
from storedesk.core.bulk import bulk_insert
from storedesk.demo import data
from storedesk.demo.models import GroundTruth
from storedesk.demo.scenarios import DemoContext, OrderPlan, Scenario, scenario
from storedesk.demo.world import (
    ALNUM,
    DIGITS,
    PAYPAL_ID_ALPHABET,
    UPPER_ALNUM,
    Weighted,
    token,
)
from storedesk.disputes.services import do_ingest_disputes

CENT = Decimal("0.01")
FRAUD_PATTERNS = (
    "billing_shipping_mismatch",
    "freight_forwarder",
    "disposable_email",
    "ip_card_country_mismatch",
    "high_value_first_order_expedited",
    "card_testing",
)
STRIPE_DISPUTE_REASONS = (
    "fraudulent",
    "product_not_received",
    "product_unacceptable",
    "duplicate",
    "credit_not_processed",
    "general",
    "unrecognized",
)
PAYPAL_DISPUTE_REASONS = (
    "fraudulent",
    "product_not_received",
    "product_unacceptable",
    "credit_not_processed",
    "duplicate",
)
HEADLESS_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/138.0.0.0 Safari/537.36"
)
FOREIGN_BILLING = {
    "GB": ("London", "England", "ENG", "EC1A 1BB", "United Kingdom"),
    "FR": ("Paris", "Île-de-France", "IDF", "75011", "France"),
    "BR": ("São Paulo", "São Paulo", "SP", "01310-100", "Brazil"),
    "TR": ("Istanbul", "Istanbul", "34", "34430", "Turkey"),
    "MX": ("Mexico City", "Ciudad de México", "CMX", "06600", "Mexico"),
}


def _minutes(rng, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


def _days(rng, low: float, high: float) -> timedelta:
    return timedelta(days=rng.uniform(low, high))


@scenario("catalog", order=5)
class CatalogScenario(Scenario):
    """Puts the store's products on sale before the first order."""

    def setup(self, ctx: DemoContext) -> None:
        ctx.count("products", do_upsert_catalog(ctx.store, ctx.catalog.products))


@scenario("policies", order=6)
class PoliciesScenario(Scenario):
    """Publishes policy versions, with a holiday change mid-way, so 'policy at purchase' varies."""

    def setup(self, ctx: DemoContext) -> None:
        span = ctx.now - ctx.start
        for kind, versions in data.POLICY_TEXTS.items():
            for index, (title, body) in enumerate(versions):
                effective = (
                    ctx.start - timedelta(days=30)
                    if index == 0
                    else (ctx.start + span * (0.55 if kind == "returns" else 0.6))
                )
                do_publish_policy(ctx.store, kind, body, effective, None, title=title)
                ctx.count("policies")


@scenario("fraud", order=10)
class FraudScenario(Scenario):
    """Turns ~1.3% of orders into fraud, one of six patterns the desk must learn to see."""

    RATE = 0.013
    PATTERN_WEIGHTS = (22, 18, 16, 16, 18, 10)

    def setup(self, ctx: DemoContext) -> None:
        ctx.reserve(
            "fraud", [{"fraud": pattern, "gateway": "stripe"} for pattern in FRAUD_PATTERNS]
        )
        self.patterns = Weighted(FRAUD_PATTERNS, self.PATTERN_WEIGHTS)
        self.world = ctx.shared["world"]

    def on_order(self, ctx: DemoContext, plan: OrderPlan) -> None:
        rng = ctx.random_for(self.name)
        pattern = plan.extra.get("fraud")
        if not pattern:
            if plan.extra or rng.random() >= self.RATE:
                return
            pattern = self.patterns.pick(rng)
        self.become_fraud(ctx, rng, plan, pattern)
        getattr(self, pattern)(rng, plan)
        self.world.price(plan, rng)
        ctx.count(f"fraud:{pattern}")

    def become_fraud(self, ctx, rng, plan: OrderPlan, pattern: str) -> None:
        """A fresh identity on a stolen card: new customer, new card, a riskier score."""
        shoppers = self.world.shoppers
        plan.shopper.orders -= 1
        plan.shopper = shoppers.new()
        plan.is_new_customer = True
        plan.email = plan.shopper.email
        plan.billing_address = plan.shipping_address = plan.shopper.address
        plan.card_brand = shoppers.brands.pick(rng)
        plan.card_last4 = token(rng, DIGITS, 4)
        plan.card_fingerprint = token(rng, ALNUM, 16)
        plan.card_funding = "prepaid" if rng.random() < 0.2 else "credit"
        plan.card_wallet = ""
        plan.risk_score = rng.randint(38, 74)
        plan.is_fraud, plan.fraud_pattern = True, pattern
        plan.payer_status = "UNVERIFIED"
        if "gateway" not in plan.extra:
            plan.gateway = "paypal" if rng.random() < 0.25 else "stripe"
        plan.tags = []
        if rng.random() < 0.3:
            plan.extra["blocked_first"] = True  # Radar blocked a first card; the next passed

    def billing_shipping_mismatch(self, rng, plan: OrderPlan) -> None:
        shoppers = self.world.shoppers
        far = [
            city
            for city in data.CITIES
            if city[4].split("/")[-1] != plan.shopper.timezone.split("/")[-1]
        ]
        first, last = rng.choice(data.FIRST_NAMES), rng.choice(data.LAST_NAMES)
        plan.shipping_address, _, _ = shoppers.address(first, last, rng.choice(far))
        plan.lines = [
            (self.world.catalog.pick(rng, material=rng.choice(["gold_plated", "solid_gold"])), 1)
            for _ in range(rng.randint(1, 3))
        ]
        plan.seller_protection = "NOT_ELIGIBLE"

    def freight_forwarder(self, rng, plan: OrderPlan) -> None:
        street, city, state, code, zip_code, _, area = rng.choice(data.FORWARDER_ADDRESSES)
        first, last = plan.shopper.first_name, plan.shopper.last_name
        plan.shipping_address = {
            **plan.shopper.address,
            "address1": street,
            "address2": f"Ste {rng.randint(100, 999)} #{token(rng, UPPER_ALNUM, 2)}"
            f"{rng.randint(10000, 99999)}",
            "city": city,
            "province": state,
            "province_code": code,
            "zip": zip_code,
            "name": f"{first} {last}",
            "phone": f"+1{area}{rng.randint(2000000, 9999999)}",
        }
        prefix, _ = rng.choice(data.FOREIGN_IP_PREFIXES)
        plan.browser_ip = self.world.ip_with(rng, prefix)
        plan.avs_line1_check = rng.choice(["pass", "unavailable"])
        plan.seller_protection = "NOT_ELIGIBLE"
        plan.lines = [(self.world.catalog.pick(rng), 1) for _ in range(rng.randint(2, 4))]

    def disposable_email(self, rng, plan: OrderPlan) -> None:
        domain = rng.choice(data.DISPOSABLE_DOMAINS)
        local = token(rng, "abcdefghijklmnopqrstuvwxyz0123456789", rng.randint(8, 12))
        plan.email = f"{local}@{domain}"
        plan.shopper.email = plan.email
        plan.avs_line1_check = rng.choice(["fail", "unavailable", "pass"])
        plan.avs_postal_check = rng.choice(["fail", "pass"])

    def ip_card_country_mismatch(self, rng, plan: OrderPlan) -> None:
        country = rng.choice(list(FOREIGN_BILLING))
        city, region, region_code, zip_code, country_name = FOREIGN_BILLING[country]
        plan.card_country = country
        prefix, _ = rng.choice(data.FOREIGN_IP_PREFIXES)
        plan.browser_ip = self.world.ip_with(rng, prefix)
        plan.billing_address = {
            **plan.shopper.address,
            "address1": f"{rng.randint(1, 220)} High Street",
            "address2": "",
            "city": city,
            "province": region,
            "province_code": region_code,
            "zip": zip_code,
            "country": country_name,
            "country_code": country,
        }
        plan.avs_line1_check = plan.avs_postal_check = "unavailable"
        plan.three_d_secure_result = rng.choice(["attempt_acknowledged", ""])
        plan.three_d_secure_version = "2.2.0" if plan.three_d_secure_result else ""

    def high_value_first_order_expedited(self, rng, plan: OrderPlan) -> None:
        plan.lines = [
            (self.world.catalog.pick(rng, material="solid_gold"), 1)
            for _ in range(rng.randint(2, 4))
        ]
        plan.shipping = self.world.shipping_option(rng.choice(["dhl-express", "fedex-ip"]))
        plan.browser_ip = self.world.ip_with(rng, rng.choice(data.HOSTING_IP_PREFIXES))
        plan.risk_score = rng.randint(55, 74)

    def card_testing(self, rng, plan: OrderPlan) -> None:
        """Bots try stolen card numbers on the cheapest item: a burst of small declines."""
        plan.gateway = "stripe"
        plan.lines = [(self.world.catalog.cheapest(rng), 1)]
        plan.shipping = self.world.shipping_option("standard")
        plan.browser_ip = self.world.ip_with(rng, rng.choice(data.HOSTING_IP_PREFIXES))
        plan.user_agent = HEADLESS_AGENT
        plan.referring_site = ""
        local = token(rng, "abcdefghijklmnopqrstuvwxyz0123456789", 10)
        plan.email = plan.shopper.email = f"{local}@{rng.choice(data.DISPOSABLE_DOMAINS)}"
        plan.extra["card_testing_attempts"] = rng.randint(8, 25)
        plan.paid = rng.random() < 0.3
        plan.cvc_check = "pass"


@scenario("cancellations", order=25)
class CancellationScenario(Scenario):
    """Fraud caught before shipping (cancelled and refunded) and buyers who change their mind."""

    def on_order(self, ctx: DemoContext, plan: OrderPlan) -> None:
        rng = ctx.random_for(self.name)
        if not plan.paid:
            plan.cancelled_at = plan.created_at + _minutes(rng, 30, 300)
            plan.cancel_reason = "fraud"
            return
        if plan.is_fraud and not plan.extra.get("fraud") and rng.random() < 0.35:
            plan.cancelled_at = plan.created_at + _minutes(rng, 60, 20 * 60)
            plan.cancel_reason = "fraud"
        elif not plan.is_fraud and not plan.extra and rng.random() < 0.008:
            plan.cancelled_at = plan.created_at + _minutes(rng, 20, 16 * 60)
            plan.cancel_reason = "customer"
        if plan.cancelled_at and plan.cancelled_at > ctx.now:
            plan.cancelled_at, plan.cancel_reason = None, ""


@scenario("payments", order=35)
class PaymentsScenario(Scenario):
    """Builds the gateway's records: Stripe charges with checks and Radar, PayPal captures."""

    def on_order(self, ctx: DemoContext, plan: OrderPlan) -> None:
        rng = ctx.random_for(self.name)
        paid_at = plan.created_at - timedelta(seconds=rng.randint(4, 40))
        if plan.gateway == "paypal":
            plan.payments.append(self.paypal_capture(rng, plan, paid_at))
            return
        attempts = plan.extra.get("card_testing_attempts", 0)
        if attempts:
            plan.payments.extend(self.card_test_declines(rng, plan, paid_at, attempts))
        elif plan.extra.get("blocked_first"):
            plan.payments.append(self.blocked(rng, plan, paid_at - _minutes(rng, 1, 6)))
        if plan.paid:
            plan.payments.append(self.stripe_charge(rng, plan, paid_at))

    def stripe_charge(self, rng, plan: OrderPlan, at, **overrides) -> PaymentIn:
        suffix = token(rng, ALNUM, 24)
        score = plan.risk_score
        level = "normal" if score < 65 else ("elevated" if score < 75 else "highest")
        if not plan.is_fraud and rng.random() < 0.07:
            plan.three_d_secure_result, plan.three_d_secure_version = "authenticated", "2.2.0"
        fields = {
            "gateway": "stripe",
            "provider_id": f"ch_3{suffix}",
            "provider_intent_id": f"pi_3{suffix}",
            "amount": plan.total,
            "currency": "USD",
            "status": "succeeded",
            "captured": True,
            "created_at": at,
            "card_brand": plan.card_brand,
            "card_last4": plan.card_last4,
            "card_country": plan.card_country,
            "card_fingerprint": plan.card_fingerprint,
            "card_funding": plan.card_funding,
            "card_wallet": plan.card_wallet,
            "avs_line1_check": plan.avs_line1_check if not plan.card_wallet else "pass",
            "avs_postal_check": plan.avs_postal_check,
            "cvc_check": plan.cvc_check,
            "three_d_secure_result": plan.three_d_secure_result,
            "three_d_secure_version": plan.three_d_secure_version,
            "network_status": "approved_by_network",
            "outcome_type": "manual_review" if level == "elevated" else "authorized",
            "outcome_reason": "elevated_risk_level" if level == "elevated" else "",
            "risk_level": level,
            "risk_score": score,
        }
        fields.update(overrides)
        return PaymentIn(**fields)

    def blocked(self, rng, plan: OrderPlan, at) -> PaymentIn:
        return self.stripe_charge(
            rng,
            plan,
            at,
            status="failed",
            captured=False,
            card_last4=token(rng, DIGITS, 4),
            card_fingerprint=token(rng, ALNUM, 16),
            network_status="not_sent_to_network",
            outcome_type="blocked",
            outcome_reason="highest_risk_level",
            risk_level="highest",
            risk_score=rng.randint(76, 96),
            failure_code="card_declined",
            failure_message="Your card was declined.",
        )

    def card_test_declines(self, rng, plan: OrderPlan, end_at, attempts: int) -> list:
        start = end_at - _minutes(rng, 3, 15)
        step = (end_at - start) / attempts
        declines = []
        for index in range(attempts):
            code, reason, message = rng.choice(data.DECLINES)
            declines.append(
                self.stripe_charge(
                    rng,
                    plan,
                    start + step * index,
                    status="failed",
                    captured=False,
                    card_brand=rng.choice(["visa", "mastercard"]),
                    card_last4=token(rng, DIGITS, 4),
                    card_fingerprint=token(rng, ALNUM, 16),
                    card_country=rng.choice(["US", "US", "US", "GB", "CA", "BR"]),
                    card_funding=rng.choice(["credit", "debit", "prepaid"]),
                    card_wallet="",
                    cvc_check="fail" if reason == "incorrect_cvc" else "unchecked",
                    avs_line1_check="unchecked",
                    avs_postal_check="unchecked",
                    network_status="declined_by_network",
                    outcome_type="issuer_declined",
                    outcome_reason=reason,
                    risk_level="elevated",
                    risk_score=rng.randint(62, 74),
                    failure_code=code,
                    failure_message=message,
                )
            )
        return declines

    def paypal_capture(self, rng, plan: OrderPlan, at) -> PaymentIn:
        email = plan.email if rng.random() < 0.85 else plan.shopper.email
        return PaymentIn(
            gateway="paypal",
            method="paypal",
            provider_id=token(rng, UPPER_ALNUM, 17),
            provider_intent_id=token(rng, UPPER_ALNUM, 17),
            amount=plan.total,
            currency="USD",
            status="succeeded",
            captured=True,
            created_at=at,
            payer_id=plan.shopper.paypal_payer_id
            if not plan.is_fraud
            else token(rng, PAYPAL_ID_ALPHABET, 13),
            payer_email=email,
            payer_status=plan.payer_status,
            seller_protection=plan.seller_protection
            if plan.shipping_address is plan.billing_address or plan.is_fraud
            else "PARTIALLY_ELIGIBLE",
        )


@scenario("shipping", order=40)
class ShippingScenario(Scenario):
    """Ships from Hanoi with each carrier's scans; some parcels are late, lost, or shown as
    delivered to a customer who never got them."""

    def setup(self, ctx: DemoContext) -> None:
        ctx.reserve(
            "shipping",
            [{"parcel": "lost"}, {"parcel": "lost"}, {"parcel": "dnr"}, {"parcel": "dnr"}],
        )
        self.usps_places = Weighted(
            [p for p, _ in data.USPS_DELIVERY_LOCATIONS],
            [w for _, w in data.USPS_DELIVERY_LOCATIONS],
        )
        self.courier_places = Weighted(
            [p for p, _ in data.COURIER_DELIVERY_LOCATIONS],
            [w for _, w in data.COURIER_DELIVERY_LOCATIONS],
        )
        self.base = {
            carrier: ctx.random_for(f"tracking:{carrier}").randrange(10**6)
            for carrier in data.TRACKING_URLS
        }

    def on_order(self, ctx: DemoContext, plan: OrderPlan) -> None:
        rng = ctx.random_for(self.name)
        if not plan.paid or plan.cancelled_at:
            return
        handling = _days(rng, 0.6, 2.8) if plan.lines[0][0].kind != "ring" else _days(rng, 1, 4)
        shipped_at = plan.created_at + handling
        if shipped_at > ctx.now:
            return
        low, high = plan.shipping.transit
        transit = _days(rng, low, high)
        fate = plan.extra.get("parcel") or self.fate(rng, plan)
        if fate == "delayed":
            transit *= rng.uniform(1.6, 2.5)
        plan.parcel_lost = fate == "lost"
        plan.delivered_not_received = fate == "dnr"
        plan.delayed = fate == "delayed"
        plan.shipped_at = shipped_at
        plan.expected_delivery_at = shipped_at + timedelta(days=high)
        shipment = self.shipment(ctx, rng, plan, shipped_at, transit, fate)
        if shipment is None:
            plan.shipped_at = plan.expected_delivery_at = None
            plan.parcel_lost = plan.delivered_not_received = plan.delayed = False
            return
        plan.shipments.append(shipment)

    def fate(self, rng, plan: OrderPlan) -> str:
        roll = rng.random()
        usps = plan.shipping.carrier == "USPS"
        if roll < (0.016 if usps else 0.004):
            return "lost"
        if roll < 0.022:
            return "dnr"
        if roll < (0.10 if usps else 0.045):
            return "delayed"
        if not usps and roll < 0.07:
            return "attempted"
        return "delivered"

    def tracking_number(self, rng, carrier: str, seq: int) -> str:
        serial = self.base[carrier] + seq
        if carrier == "USPS":
            digits = f"{serial % 10**8:08d}"
            return f"RR{digits}{_s10_check_digit(digits)}VN"
        if carrier == "UPS":
            return f"1ZV8R214{rng.choice(['66', '65'])}{serial % 10**8:08d}"
        if carrier == "DHL Express":
            return f"{(self.base[carrier] * 10 + seq * 7 + 1_000_000_000) % 10**10:010d}"
        return f"{(7_700_000_000 + self.base[carrier] * 1000 + seq * 3) % 10**12:012d}"

    def shipment(self, ctx, rng, plan: OrderPlan, shipped_at, transit, fate) -> ShipmentIn | None:
        carrier = plan.shipping.carrier
        number = self.tracking_number(rng, carrier, plan.seq)
        address = plan.shipping_address
        dest = (address["city"], address["province_code"], "US", address["zip"])
        gateway_city, gateway_state = rng.choice(data.GATEWAYS_IN_US[carrier])
        hub = data.TRANSIT_HUBS[carrier]
        usps = carrier == "USPS"
        place = (self.usps_places if usps else self.courier_places).pick(rng)
        if fate == "dnr" and usps:
            place = rng.choice(["Front Door/Porch", "In/At Mailbox"])
        route = [
            (0.0, "label_printed", "Shipping label created", ("Hanoi", "", "VN", "")),
            (
                0.03,
                "confirmed",
                "Picked up in Hanoi" if not usps else "Accepted at Vietnam Post, Hanoi EMS Center",
                ("Hanoi", "", "VN", "100000"),
            ),
            (0.15, "in_transit", f"Departed facility in {hub[0]}", (hub[0], hub[1], hub[2], "")),
            (
                0.45,
                "in_transit",
                "Processed through ISC (International Service Center)"
                if usps
                else "Arrived at hub; import scan",
                (gateway_city, gateway_state, "US", ""),
            ),
            (0.82, "in_transit", "Arrived at destination facility", dest),
            (0.96, "out_for_delivery", "Out for delivery", dest),
            (1.0, "delivered", f"Delivered, {place}", dest),
        ]
        if fate == "delayed":
            customs = (gateway_city, gateway_state, "US", "")
            route[4:4] = [
                (0.5, "in_transit", "Held in customs - awaiting clearance", customs),
                (0.6, "in_transit", "Customs clearance completed", customs),
            ]
        if fate == "attempted":
            route.insert(
                -1,
                (0.97, "attempted_delivery", "Delivery attempted - recipient not available", dest),
            )
        if fate == "lost":
            route = route[: rng.choice([4, 5])]
        events = []
        for fraction, status, message, (city, province, country, zip_code) in route:
            at = shipped_at + transit * fraction + timedelta(minutes=rng.randint(0, 240))
            if at > ctx.now:
                break
            events.append(
                ShipmentEventIn(
                    happened_at=at,
                    status=status,
                    message=message,
                    city=city,
                    province=province,
                    country=country,
                    zip=zip_code,
                )
            )
        if not events:
            return None
        delivered = events[-1].status == "delivered"
        signed = delivered and not usps and rng.random() < 0.6
        if delivered:
            plan.delivered_at = events[-1].happened_at
        return ShipmentIn(
            carrier=carrier,
            service=plan.shipping.service,
            tracking_number=number,
            tracking_url=data.TRACKING_URLS[carrier].format(number),
            status=events[-1].status,
            provider_id=str(4_200_000_000 + plan.seq * 17),
            shipped_at=shipped_at,
            estimated_delivery_at=plan.expected_delivery_at,
            delivered_at=plan.delivered_at if delivered else None,
            signed_by=(
                f"{address['first_name'][0]}.{address['last_name']}".upper() if signed else ""
            ),
            delivery_location=place if delivered else "",
            events=tuple(events),
        )


def _s10_check_digit(digits: str) -> int:
    """The UPU S10 check digit of an 8-digit item serial (as on 'RR123456785VN')."""
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


@scenario("refunds", order=60)
class RefundScenario(Scenario):
    """Refunds with reasons: fraud caught, cancellations, wrong sizes, damage, lost parcels …"""

    def on_order(self, ctx: DemoContext, plan: OrderPlan) -> None:
        rng = ctx.random_for(self.name)
        payment = plan.payment
        if payment is None or plan.extra.get("dispute"):
            return
        choice = self.decide(rng, plan)
        if choice is None:
            return
        reason, amount, at, note = choice
        if at > ctx.now or amount <= 0:
            return
        plan.refunds.append(self.refund(rng, plan, payment, reason, amount, at, note))

    def decide(self, rng, plan: OrderPlan):
        total, paid = plan.total, plan.payment.amount
        item = plan.lines[0][0].price
        if plan.cancelled_at:
            reason = "fraudulent" if plan.cancel_reason == "fraud" else "changed_mind"
            return reason, paid, plan.cancelled_at + _minutes(rng, 1, 30), "cancelled"
        if plan.delivered_at is None and not plan.parcel_lost:
            return None
        if plan.parcel_lost and rng.random() < 0.55:
            return (
                "not_received",
                paid,
                plan.expected_delivery_at + _days(rng, 8, 25),
                "carrier lost the parcel; refunded instead of reshipping",
            )
        if plan.delivered_not_received and rng.random() < 0.4:
            return (
                "not_received",
                paid,
                plan.delivered_at + _days(rng, 3, 12),
                "shows delivered, customer did not get it",
            )
        if plan.parcel_lost or plan.delivered_not_received or plan.is_fraud:
            return None
        roll = rng.random()
        delivered = plan.delivered_at
        if plan.delayed and roll < 0.15:
            return (
                "late_delivery",
                min(max(plan.shipping_price, (total * Decimal("0.15")).quantize(CENT)), paid),
                delivered + _days(rng, 0, 3),
                "goodwill for the customs delay",
            )
        if plan.lines[0][0].kind == "ring" and roll < 0.04:
            return (
                "wrong_size",
                min(item, paid),
                delivered + _days(rng, 12, 28),
                "ring returned, size did not fit",
            )
        if roll < 0.048:
            partial = rng.random() < 0.5
            amount = (item * Decimal("0.4")).quantize(CENT) if partial else item
            return (
                "damaged",
                min(amount, paid),
                delivered + _days(rng, 1, 6),
                "clasp broken on arrival" if partial else "stone missing on arrival",
            )
        if roll < 0.06:
            return (
                "changed_mind",
                min(item, paid),
                delivered + _days(rng, 15, 30),
                "returned unworn",
            )
        if roll < 0.063:
            return (
                "wrong_item",
                min(item, paid),
                delivered + _days(rng, 2, 8),
                "picked the wrong finish",
            )
        if roll < 0.065:
            return "duplicate", paid, plan.created_at + _days(rng, 0.2, 2), "ordered twice"
        return None

    def refund(
        self, rng, plan: OrderPlan, payment: PaymentIn, reason: str, amount: Decimal, at, note: str
    ) -> RefundIn:
        if payment.gateway == "stripe":
            provider_id = "re_3" + payment.provider_id[4:]
        else:
            provider_id = token(rng, UPPER_ALNUM, 17)
        return RefundIn(
            order_number=plan.number,
            amount=amount,
            currency="USD",
            reason=reason,
            idempotency_key=f"{payment.gateway}:{provider_id}",
            created_at=at,
            provider_id=provider_id,
            gateway=payment.gateway,
            payment_provider_id=payment.provider_id,
            note=note,
        )

    def after_batch(self, ctx: DemoContext, plans: list[OrderPlan]) -> None:
        refunds = [refund for plan in plans for refund in plan.refunds]
        result = do_ingest_refunds(ctx.store, refunds, actor="demo", dispatch_events=False)
        ctx.count("refunds", result.created)
        ctx.count("refunds_rejected", len(result.rejected))


@scenario("disputes", order=70)
class DisputeScenario(Scenario):
    """Chargebacks and PayPal cases with real reason codes, deadlines and outcomes."""

    def setup(self, ctx: DemoContext) -> None:
        facts = [{"dispute": reason, "gateway": "stripe"} for reason in STRIPE_DISPUTE_REASONS]
        facts += [{"dispute": reason, "gateway": "paypal"} for reason in PAYPAL_DISPUTE_REASONS]
        facts.append({"dispute": "product_not_received", "gateway": "stripe", "parcel": "dnr"})
        ctx.reserve("disputes", facts, low=0.05, high=0.55)

    def on_order(self, ctx: DemoContext, plan: OrderPlan) -> None:
        rng = ctx.random_for(self.name)
        payment = plan.payment
        if payment is None or plan.cancelled_at:
            return
        reason, opened_at = self.decide(rng, plan)
        if reason is None or opened_at > ctx.now:
            return
        if reason in ("fraudulent", "unrecognized") and not plan.is_fraud:
            plan.friendly_fraud = True
        elif (
            reason == "product_not_received"
            and plan.delivered_at
            and not (plan.delivered_not_received or plan.parcel_lost)
        ):
            plan.friendly_fraud = True
        builder = self.stripe if payment.gateway == "stripe" else self.paypal
        plan.disputes.append(builder(ctx, rng, plan, payment, reason, opened_at))

    def decide(self, rng, plan: OrderPlan):
        refunded = sum((r.amount for r in plan.refunds), Decimal(0))
        forced = plan.extra.get("dispute")
        anchor = plan.delivered_at or plan.expected_delivery_at or plan.created_at
        if forced:
            return forced, anchor + _days(rng, 5, 30)
        if refunded >= plan.total:
            return None, None
        roll = rng.random()
        if plan.is_fraud and roll < 0.7:
            return "fraudulent", plan.created_at + _days(rng, 15, 75)
        if (plan.parcel_lost or plan.delivered_not_received) and roll < 0.6:
            return "product_not_received", anchor + _days(rng, 10, 40)
        if plan.delivered_at is None or plan.is_fraud:
            return None, None
        if roll < 0.0025:
            return rng.choice(
                ["product_not_received", "product_not_received", "unrecognized", "fraudulent"]
            ), anchor + _days(rng, 20, 90)
        if roll < 0.0045:
            return "product_unacceptable", anchor + _days(rng, 7, 45)
        if roll < 0.0052 and refunded == 0:
            return "credit_not_processed", anchor + _days(rng, 20, 50)
        if roll < 0.0056:
            return "duplicate", plan.created_at + _days(rng, 5, 30)
        if roll < 0.0058:
            return "general", anchor + _days(rng, 10, 60)
        return None, None

    def stripe(self, ctx, rng, plan, payment: PaymentIn, reason: str, opened_at) -> DisputeIn:
        brand = payment.card_brand or "visa"
        inquiry = brand in ("amex", "discover") and rng.random() < 0.35
        due_by = (opened_at + timedelta(days=rng.choice([7, 10, 14, 18, 20, 21]))).replace(
            hour=23, minute=59, second=59, microsecond=0
        )
        status, closed_at = self.stripe_status(ctx, rng, reason, inquiry, due_by)
        code = data.NETWORK_REASON_CODES[reason][brand]
        provider_id = "dp_1" + token(rng, ALNUM, 23)
        return DisputeIn(
            gateway="stripe",
            provider_id=provider_id,
            payment_provider_id=payment.provider_id,
            reason=reason,
            status=status,
            amount=payment.amount,
            currency="USD",
            opened_at=opened_at,
            kind="inquiry" if inquiry else "chargeback",
            network_reason_code=code,
            evidence_due_by=due_by,
            closed_at=closed_at,
            raw={
                "id": provider_id,
                "object": "dispute",
                "charge": payment.provider_id,
                "reason": reason,
                "status": status,
                "payment_method_details": {
                    "type": "card",
                    "card": {
                        "brand": brand,
                        "network_reason_code": code,
                        "case_type": "inquiry" if inquiry else "chargeback",
                    },
                },
                "evidence_details": {"due_by": int(due_by.timestamp())},
            },
        )

    def stripe_status(self, ctx, rng, reason: str, inquiry: bool, due_by):
        if ctx.now <= due_by:
            prefix = "warning_" if inquiry else ""
            return prefix + ("needs_response" if rng.random() < 0.65 else "under_review"), None
        decided = due_by + _days(rng, 20, 75)
        if decided > ctx.now:
            if not inquiry and ctx.now < due_by + timedelta(days=4) and rng.random() < 0.5:
                return "needs_response", None  # the deadline was missed: overdue in the queue
            return ("warning_under_review" if inquiry else "under_review"), None
        if inquiry:
            return "warning_closed", decided
        win_rate = {"fraudulent": 0.3, "product_not_received": 0.45, "unrecognized": 0.5}.get(
            reason, 0.35
        )
        return ("won" if rng.random() < win_rate else "lost"), decided

    def paypal(self, ctx, rng, plan, payment: PaymentIn, reason: str, opened_at) -> DisputeIn:
        paypal_reason = data.PAYPAL_REASONS[reason]
        claim = paypal_reason == "UNAUTHORISED" or rng.random() < 0.4
        external = paypal_reason == "UNAUTHORISED" and rng.random() < 0.2
        stage = "CHARGEBACK" if claim else "INQUIRY"
        if claim and not external and rng.random() < 0.2:
            stage = "PRE_ARBITRATION"  # the buyer's bank came back after a first response
        kind = "chargeback" if external else ("claim" if claim else "inquiry")
        due_by = opened_at + timedelta(days=10)
        closed_at, outcome = None, None
        if ctx.now <= due_by:
            status = "WAITING_FOR_SELLER_RESPONSE" if rng.random() < 0.7 else "UNDER_REVIEW"
        else:
            decided = due_by + _days(rng, 7, 40)
            if decided <= ctx.now:
                status, closed_at = "RESOLVED", decided
                outcome = rng.choice(["RESOLVED_BUYER_FAVOUR", "RESOLVED_SELLER_FAVOUR"])
            else:
                status = "UNDER_REVIEW"
        provider_id = f"PP-D-{100_000 + plan.seq * 3 + rng.randint(0, 2)}"
        raw = {
            "dispute_id": provider_id,
            "reason": paypal_reason,
            "status": status,
            "dispute_life_cycle_stage": stage,
            "dispute_channel": "EXTERNAL" if external else "INTERNAL",
            "seller_response_due_date": due_by.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "disputed_transactions": [{"seller_transaction_id": payment.provider_id}],
            "dispute_amount": {"currency_code": "USD", "value": str(payment.amount)},
        }
        if outcome:
            raw["dispute_outcome"] = {"outcome_code": outcome}
        return DisputeIn(
            gateway="paypal",
            provider_id=provider_id,
            payment_provider_id=payment.provider_id,
            reason=paypal_reason,
            status=status,
            amount=payment.amount,
            currency="USD",
            opened_at=opened_at,
            kind=kind,
            evidence_due_by=due_by,
            closed_at=closed_at,
            raw=raw,
        )

    def after_batch(self, ctx: DemoContext, plans: list[OrderPlan]) -> None:
        disputes = [dispute for plan in plans for dispute in plan.disputes]
        result = do_ingest_disputes(disputes, actor="demo", dispatch_events=False)
        ctx.count("disputes", result.created)


@scenario("ground_truth", order=90)
class GroundTruthScenario(Scenario):
    """Writes what really happened to each order (for evaluation only) into demo.GroundTruth."""

    def after_batch(self, ctx: DemoContext, plans: list[OrderPlan]) -> None:
        ids = ctx.order_ids
        bulk_insert(
            GroundTruth,
            [
                {
                    "order_id": ids[plan.number_key],
                    "is_fraud": plan.is_fraud,
                    "fraud_pattern": plan.fraud_pattern,
                    "parcel_lost": plan.parcel_lost,
                    "delivered_not_received": plan.delivered_not_received,
                    "friendly_fraud": plan.friendly_fraud,
                }
                for plan in plans
                if plan.number_key in ids
            ],
            ignore_conflicts=True,
        )

    def reset(self, store) -> None:
        GroundTruth.objects.filter(order__store=store).delete()
