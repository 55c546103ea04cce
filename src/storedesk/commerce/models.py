"""The store's data as the desk needs it, shaped after Shopify, Stripe and PayPal objects.

Provider ids are kept as strings (Shopify's numeric ids, Stripe's `ch_…`, PayPal's capture ids)
so a record can always be traced back to the system it came from. Money is Decimal + currency.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 14, "decimal_places": 2}


class Store(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(unique=True)
    domain = models.CharField(_("domain"), max_length=200, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    timezone = models.CharField(_("time zone"), max_length=64, default="America/New_York")
    order_number_prefix = models.CharField(max_length=8, default="#TP")
    support_email = models.EmailField(blank=True)
    is_demo = models.BooleanField(
        default=False,
        help_text="the simulated demo store: its money moves through the demo gateway only",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A buyer; order aggregates are maintained by the commerce services, set-based."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="customers")
    provider_id = models.CharField(max_length=64, blank=True, help_text="Shopify customer id")
    email = models.EmailField(_("email"), help_text="primary email, lower-cased")
    other_emails = models.JSONField(default=list, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    name_key = models.CharField(
        max_length=210, blank=True, help_text="lower-cased 'first last' for prefix search"
    )
    last_name_key = models.CharField(max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    other_phones = models.JSONField(default=list, blank=True)
    default_address = models.JSONField(default=dict, blank=True)
    addresses = models.JSONField(default=list, blank=True)
    timezone = models.CharField(
        max_length=64, blank=True, help_text="the customer's local zone, from their address"
    )
    accepts_marketing = models.BooleanField(default=False)
    tags = models.JSONField(default=list, blank=True)
    is_vip = models.BooleanField(_("VIP"), default=False)
    orders_count = models.PositiveIntegerField(default=0)
    total_spent = models.DecimalField(**MONEY, default=0)
    currency = models.CharField(max_length=3, default="USD")
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "email"], name="customer_email_per_store"),
        ]
        indexes = [
            models.Index(fields=["name_key"], name="customer_name_idx"),
            models.Index(fields=["last_name_key"], name="customer_last_name_idx"),
            models.Index(fields=["store", "provider_id"], name="customer_provider_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Product(models.Model):
    class Kind(models.TextChoices):
        RING = "ring", _("Ring")
        NECKLACE = "necklace", _("Necklace")
        EARRINGS = "earrings", _("Earrings")
        BRACELET = "bracelet", _("Bracelet")
        OTHER = "other", _("Other")

    class Material(models.TextChoices):
        SILVER = "silver", _("Sterling silver")
        GOLD_PLATED = "gold_plated", _("Gold-plated")
        SOLID_GOLD = "solid_gold", _("Solid gold")
        OTHER = "other", _("Other")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="products")
    provider_id = models.CharField(max_length=64, blank=True)
    title = models.CharField(_("title"), max_length=200)
    handle = models.SlugField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    material = models.CharField(max_length=16, choices=Material.choices, default=Material.OTHER)
    vendor = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "handle"], name="product_handle_per_store"),
        ]

    def __str__(self) -> str:
        return self.title


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    provider_id = models.CharField(max_length=64, blank=True)
    sku = models.CharField(_("SKU"), max_length=64)
    title = models.CharField(max_length=120, blank=True)
    size = models.CharField(
        _("size"), max_length=16, blank=True, help_text="US ring size or necklace length"
    )
    price = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    grams = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["sku"], name="variant_sku_idx")]

    def __str__(self) -> str:
        return f"{self.product.title} – {self.title}" if self.title else self.product.title


class Order(models.Model):
    """A Shopify-shaped order. Addresses keep Shopify's keys (address1, province_code, zip …)."""

    class FinancialStatus(models.TextChoices):
        PENDING = "pending", _("Pending")
        AUTHORIZED = "authorized", _("Authorized")
        PARTIALLY_PAID = "partially_paid", _("Partially paid")
        PAID = "paid", _("Paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")
        VOIDED = "voided", _("Voided")

    class FulfillmentStatus(models.TextChoices):
        UNFULFILLED = "unfulfilled", _("Unfulfilled")
        PARTIAL = "partial", _("Partially fulfilled")
        FULFILLED = "fulfilled", _("Fulfilled")
        RESTOCKED = "restocked", _("Restocked")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="orders")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    provider_id = models.CharField(max_length=64, blank=True, help_text="Shopify order id")
    number = models.CharField(_("order number"), max_length=32, help_text="e.g. #TP10234")
    number_key = models.CharField(max_length=32, help_text="the number without '#', upper-cased")
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(max_length=32, blank=True)
    name_key = models.CharField(max_length=210, blank=True)
    last_name_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"))
    processed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal_price = models.DecimalField(**MONEY)
    total_discounts = models.DecimalField(**MONEY, default=0)
    total_shipping = models.DecimalField(**MONEY, default=0)
    total_tax = models.DecimalField(**MONEY, default=0)
    total_price = models.DecimalField(**MONEY)
    total_refunded = models.DecimalField(**MONEY, default=0)
    discount_codes = models.JSONField(default=list, blank=True)
    financial_status = models.CharField(
        max_length=20, choices=FinancialStatus.choices, default=FinancialStatus.PENDING
    )
    fulfillment_status = models.CharField(
        max_length=20, choices=FulfillmentStatus.choices, default=FulfillmentStatus.UNFULFILLED
    )
    shipping_method = models.CharField(max_length=120, blank=True)
    shipping_method_code = models.CharField(max_length=64, blank=True)
    is_expedited = models.BooleanField(default=False)
    billing_address = models.JSONField(default=dict, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    billing_country = models.CharField(max_length=2, blank=True)
    shipping_country = models.CharField(max_length=2, blank=True)
    browser_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    accept_language = models.CharField(max_length=120, blank=True)
    source_name = models.CharField(_("channel"), max_length=40, default="web")
    landing_site = models.CharField(max_length=400, blank=True)
    referring_site = models.CharField(max_length=400, blank=True)
    tags = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    # The source's own `updated_at` of the version stored (Shopify's order.updated_at): a
    # late-arriving older version never overwrites a newer one.
    source_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "number_key"], name="order_number_per_store"),
        ]
        indexes = [
            models.Index(fields=["store", "-created_at"], name="order_created_idx"),
            models.Index(fields=["email", "-created_at"], name="order_email_idx"),
            # Name searches read (id, created_at) from these alone: see queries.OrderMatches.
            models.Index(fields=["name_key", "store", "created_at"], name="order_name_idx"),
            models.Index(
                fields=["last_name_key", "store", "created_at"], name="order_last_name_idx"
            ),
            models.Index(fields=["customer", "-created_at"], name="order_customer_idx"),
            models.Index(fields=["store", "provider_id"], name="order_provider_idx"),
            models.Index(fields=["financial_status", "-created_at"], name="order_financial_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class LineItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items")
    variant = models.ForeignKey(
        Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    provider_id = models.CharField(max_length=64, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    title = models.CharField(max_length=200)
    variant_title = models.CharField(max_length=120, blank=True)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**MONEY)
    total_discount = models.DecimalField(**MONEY, default=0)

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"


def _fill_payment_stores(payments) -> None:
    """Copy each payment's order's store onto it (one query for those not known yet)."""
    missing = {p.order_id for p in payments if p.store_id is None and p.order_id}
    stores = dict(Order.objects.filter(pk__in=missing).values_list("pk", "store_id"))
    for payment in payments:
        if payment.store_id is None:
            cached = Payment.order.field.get_cached_value(payment, None)
            payment.store_id = cached.store_id if cached else stores.get(payment.order_id)


class PaymentManager(models.Manager):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        _fill_payment_stores(objs)
        return super().bulk_create(objs, *args, **kwargs)


class Payment(models.Model):
    """A charge/capture at a gateway with its authorization and risk results (Stripe `charge`,
    PayPal capture, Shopify transaction)."""

    class Gateway(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        PAYPAL = "paypal", "PayPal"
        SHOPIFY_PAYMENTS = "shopify_payments", "Shopify Payments"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Method(models.TextChoices):
        CARD = "card", _("Card")
        PAYPAL = "paypal", "PayPal"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    # The order's store, copied (an order never changes store) so per-store aggregates over
    # payments (the network ratios) read one index without joining orders.
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="+", editable=False, db_index=False
    )
    gateway = models.CharField(max_length=20, choices=Gateway.choices)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.CARD)
    provider_id = models.CharField(max_length=64, help_text="ch_…, PayPal capture id …")
    provider_intent_id = models.CharField(
        max_length=64, blank=True, help_text="pi_… or PayPal order id"
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=Status.choices)
    captured = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    # Card (Stripe payment_method_details.card)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_country = models.CharField(max_length=2, blank=True)
    card_fingerprint = models.CharField(max_length=32, blank=True)
    card_funding = models.CharField(max_length=10, blank=True)
    card_wallet = models.CharField(max_length=20, blank=True)
    # PayPal payer
    payer_id = models.CharField(max_length=32, blank=True)
    payer_email = models.EmailField(blank=True)
    payer_status = models.CharField(max_length=12, blank=True, help_text="VERIFIED/UNVERIFIED")
    seller_protection = models.CharField(
        max_length=24, blank=True, help_text="ELIGIBLE, PARTIALLY_ELIGIBLE or NOT_ELIGIBLE"
    )
    # Authorization results (pass/fail/unavailable/unchecked as Stripe reports them)
    avs_line1_check = models.CharField(max_length=12, blank=True)
    avs_postal_check = models.CharField(max_length=12, blank=True)
    cvc_check = models.CharField(max_length=12, blank=True)
    three_d_secure_result = models.CharField(max_length=32, blank=True)
    three_d_secure_version = models.CharField(max_length=10, blank=True)
    # The gateway's own risk assessment (Stripe charge.outcome)
    network_status = models.CharField(max_length=32, blank=True)
    outcome_type = models.CharField(max_length=24, blank=True)
    outcome_reason = models.CharField(max_length=64, blank=True)
    risk_level = models.CharField(max_length=16, blank=True)
    risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="the provider's object as received")

    objects = PaymentManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "provider_id"], name="payment_provider_once"
            ),
        ]
        indexes = [
            models.Index(fields=["order", "created_at"], name="payment_order_idx"),
            models.Index(
                fields=["card_fingerprint", "created_at"],
                condition=~Q(card_fingerprint=""),
                name="payment_fingerprint_idx",
            ),
            models.Index(fields=["-created_at"], name="payment_created_idx"),
            # Covers the ratio count: a store's settled card payments of a month, per gateway
            # and brand, read from the index alone.
            models.Index(
                fields=["store", "created_at", "method", "status", "gateway", "card_brand"],
                name="payment_store_ratio_idx",
            ),
        ]
        permissions = [
            ("view_payment_details", "Can see card fingerprints and full gateway risk data")
        ]

    def __str__(self) -> str:
        return f"{self.get_gateway_display()} {self.provider_id}"

    def save(self, *args, **kwargs) -> None:
        if self.store_id is None:
            _fill_payment_stores([self])
        super().save(*args, **kwargs)


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELED = "canceled", _("Canceled")

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by customer")
        DUPLICATE = "duplicate", _("Duplicate")
        FRAUDULENT = "fraudulent", _("Fraudulent")
        NOT_RECEIVED = "not_received", _("Not received")
        DAMAGED = "damaged", _("Damaged or defective")
        WRONG_ITEM = "wrong_item", _("Wrong item")
        WRONG_SIZE = "wrong_size", _("Wrong size")
        LATE_DELIVERY = "late_delivery", _("Late delivery")
        CHANGED_MIND = "changed_mind", _("Changed mind")
        OTHER = "other", _("Other")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    note = models.TextField(_("why"), blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    provider_id = models.CharField(max_length=64, blank=True, help_text="re_… or PayPal refund id")
    idempotency_key = models.CharField(max_length=80, unique=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["order", "created_at"], name="refund_order_idx"),
            models.Index(fields=["status", "-created_at"], name="refund_status_idx"),
            models.Index(fields=["-created_at"], name="refund_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} on {self.order_id}"


class OrderTask(models.Model):
    """Work someone owes on an order that Storedesk cannot do itself yet, such as refunding a
    cancelled order at the gateway: visible on the order until a person marks it done."""

    class Kind(models.TextChoices):
        REFUND_NEEDED = "refund_needed", _("Refund needed")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    amount = models.DecimalField(**MONEY, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    reason = models.TextField(_("why"), blank=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    done_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(status="open"),
                name="order_task_open_once",
            )
        ]
        indexes = [
            models.Index(fields=["status", "kind", "-created_at"], name="order_task_queue_idx"),
            models.Index(fields=["order", "-created_at"], name="order_task_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.order_id}"


class Shipment(models.Model):
    """A Shopify fulfillment with its carrier tracking."""

    class Status(models.TextChoices):
        LABEL_PRINTED = "label_printed", _("Label printed")
        CONFIRMED = "confirmed", _("Confirmed")
        IN_TRANSIT = "in_transit", _("In transit")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        ATTEMPTED_DELIVERY = "attempted_delivery", _("Delivery attempted")
        DELIVERED = "delivered", _("Delivered")
        FAILURE = "failure", _("Delivery failed")
        EXCEPTION = "exception", _("Carrier exception")
        RETURNED_TO_SENDER = "returned_to_sender", _("Returned to sender")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    provider_id = models.CharField(max_length=64, blank=True)
    carrier = models.CharField(_("carrier"), max_length=40)
    service = models.CharField(_("service"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    tracking_url = models.URLField(max_length=400, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONFIRMED)
    shipped_at = models.DateTimeField(null=True, blank=True)
    estimated_delivery_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.CharField(max_length=120, blank=True)
    proof_of_delivery_url = models.URLField(max_length=400, blank=True)
    delivery_location = models.CharField(
        max_length=120, blank=True, help_text="front door, mailroom, parcel locker …"
    )

    class Meta:
        indexes = [
            models.Index(fields=["tracking_number"], name="shipment_tracking_idx"),
            models.Index(fields=["order"], name="shipment_order_idx"),
            models.Index(fields=["status", "shipped_at"], name="shipment_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}".strip()


class ShipmentEvent(models.Model):
    """One carrier scan (Shopify fulfillment_event)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    happened_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Shipment.Status.choices)
    message = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    province = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    zip = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["happened_at", "id"]
        indexes = [models.Index(fields=["shipment", "happened_at"], name="shipment_event_idx")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} @ {self.happened_at:%Y-%m-%d %H:%M}"


class StuckThreshold(models.Model):
    """How many business days without a scan make a parcel "stuck", per carrier and service
    (empty = any); the most specific row wins. Shipped defaults come from
    `commerce/data/stuck_thresholds.json`; admins edit the rows."""

    carrier = models.CharField(_("carrier"), max_length=40, blank=True)
    service = models.CharField(_("service"), max_length=60, blank=True)
    business_days = models.PositiveSmallIntegerField(_("business days without a scan"))
    source = models.CharField(max_length=200, blank=True, help_text="where the figure comes from")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["carrier", "service"], name="stuck_threshold_once"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier or '*'} {self.service or '*'}: {self.business_days}"


class Policy(models.Model):
    """A store policy as shown at checkout; each edit is a new version with its effective date."""

    class Kind(models.TextChoices):
        RETURNS = "returns", _("Returns and refunds")
        SHIPPING = "shipping", _("Shipping")
        WARRANTY = "warranty", _("Warranty")
        PRIVACY = "privacy", _("Privacy")
        TERMS = "terms", _("Terms of service")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="policies")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    effective_from = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "kind", "version"], name="policy_version_once"
            ),
        ]
        indexes = [
            models.Index(fields=["store", "kind", "-effective_from"], name="policy_effective_idx")
        ]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"
