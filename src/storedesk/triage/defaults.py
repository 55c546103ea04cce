"""What a fresh install starts with: the departments, the team's calendar, SLA policies and a
playbook per situation. Shared by the data migration and tests; leads edit them afterwards."""

from django.utils.translation import gettext_noop

from storedesk.triage.intents import Intent, Threat

DEPARTMENTS = [
    (gettext_noop("Care"), "care"),
    (gettext_noop("Payments"), "payments"),
    (gettext_noop("Fulfillment"), "fulfillment"),
    (gettext_noop("Product quality"), "product-quality"),
]

# The department a new ticket goes to by its first message's intent, whatever its channel, when
# no routing rule chose one (leads override it with rules, which run first). A threatened
# chargeback goes to Payments whatever the intent.
INTENT_DEPARTMENTS: dict[str, str] = {
    Intent.ORDER_STATUS: "care",
    Intent.TRACKING_STALLED: "fulfillment",
    Intent.NOT_RECEIVED: "fulfillment",
    Intent.DELIVERED_NOT_RECEIVED: "fulfillment",
    Intent.WRONG_ITEM: "fulfillment",
    Intent.WRONG_SIZE: "care",
    Intent.DAMAGED: "fulfillment",
    Intent.RETURN_EXCHANGE: "care",
    Intent.REFUND_REQUEST: "payments",
    Intent.CANCEL_CHANGE: "care",
    Intent.PAYMENT_PROBLEM: "payments",
    Intent.DISCOUNT_PRICE: "care",
    Intent.PRODUCT_QUESTION: "care",
    Intent.WARRANTY: "care",
    Intent.COMPLIMENT: "care",
    Intent.OTHER: "care",
}
THREAT_DEPARTMENTS: dict[str, str] = {Threat.CHARGEBACK: "payments"}

# Business minutes; a working day is 7.5 hours (08:30–17:30 less the 12:00–13:30 break).
DAY = 450
SLA_POLICIES = [
    # name, position, priority, channel, tier, first, next, resolution
    (gettext_noop("VIP customers"), 10, None, "", "vip", 60, 120, 2 * DAY),
    (gettext_noop("Live chat"), 20, None, "chat", "any", 10, 10, DAY),
    (gettext_noop("Urgent"), 30, 4, "", "any", 60, 120, 2 * DAY),
    (gettext_noop("High"), 40, 3, "", "any", 120, 240, 3 * DAY),
    (gettext_noop("Standard"), 100, None, "", "any", 240, DAY, 5 * DAY),
]

PLAYBOOKS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    Intent.DELIVERED_NOT_RECEIVED: (
        gettext_noop("Delivered but not received"),
        [
            (
                "tracking",
                gettext_noop("Check the tracking: delivery scan, GPS location and signature"),
            ),
            (
                "neighbour",
                gettext_noop("Ask the customer to check with neighbours, mailroom or front desk"),
            ),
            ("wait", gettext_noop("Wait 48 hours: most 'missing' parcels turn up")),
            ("claim", gettext_noop("File a claim with the carrier")),
            ("resolve", gettext_noop("Reship or refund within the care limit")),
        ],
    ),
    Intent.NOT_RECEIVED: (
        gettext_noop("Not received"),
        [
            ("tracking", gettext_noop("Check the latest tracking scan and the carrier's ETA")),
            ("address", gettext_noop("Confirm the shipping address with the customer")),
            ("carrier", gettext_noop("Open a trace with the carrier if no scan for 5 days")),
            ("resolve", gettext_noop("Reship or refund when the carrier declares it lost")),
        ],
    ),
    Intent.TRACKING_STALLED: (
        gettext_noop("Tracking not updating"),
        [
            ("tracking", gettext_noop("Check the last scan and how long ago it was")),
            ("explain", gettext_noop("Explain international transit pauses and give the ETA")),
            ("trace", gettext_noop("Open a carrier trace after 7 days without a scan")),
        ],
    ),
    Intent.ORDER_STATUS: (
        gettext_noop("Where is my order"),
        [
            ("status", gettext_noop("Check fulfillment and tracking status")),
            ("reply", gettext_noop("Send the tracking link and ETA")),
        ],
    ),
    Intent.WRONG_ITEM: (
        gettext_noop("Wrong item"),
        [
            ("photos", gettext_noop("Ask for photos of the item and the packing slip")),
            ("check", gettext_noop("Compare with the order's line items")),
            ("fulfillment", gettext_noop("Hand off to Fulfillment to find the cause")),
            ("resolve", gettext_noop("Ship the right item; offer a prepaid return label")),
        ],
    ),
    Intent.WRONG_SIZE: (
        gettext_noop("Wrong size or fit"),
        [
            ("size", gettext_noop("Confirm the size ordered and the size needed")),
            ("exchange", gettext_noop("Offer an exchange or resizing")),
            ("label", gettext_noop("Send return instructions")),
        ],
    ),
    Intent.DAMAGED: (
        gettext_noop("Damaged or quality problem"),
        [
            ("photos", gettext_noop("Ask for photos of the damage and the packaging")),
            ("quality", gettext_noop("Hand off to Product quality with the photos")),
            ("resolve", gettext_noop("Replace, repair or refund within the care limit")),
        ],
    ),
    Intent.RETURN_EXCHANGE: (
        gettext_noop("Return or exchange"),
        [
            ("policy", gettext_noop("Check the return window and the item's condition rules")),
            ("label", gettext_noop("Send return instructions and the label")),
            (
                "receive",
                gettext_noop("Confirm the return arrived, then refund or ship the exchange"),
            ),
        ],
    ),
    Intent.REFUND_REQUEST: (
        gettext_noop("Refund request"),
        [
            ("reason", gettext_noop("Find out why and whether a fix would serve better")),
            ("policy", gettext_noop("Check the policy and the care limit")),
            ("refund", gettext_noop("Issue the refund and confirm it with the amount")),
        ],
    ),
    Intent.CANCEL_CHANGE: (
        gettext_noop("Cancel or change order"),
        [
            ("status", gettext_noop("Check whether the order has shipped")),
            ("hold", gettext_noop("Hold fulfillment at once if not shipped")),
            ("confirm", gettext_noop("Cancel or change, then confirm to the customer")),
        ],
    ),
    Intent.PAYMENT_PROBLEM: (
        gettext_noop("Payment or charge problem"),
        [
            ("payment", gettext_noop("Look up the payment and the descriptor the customer saw")),
            ("risk", gettext_noop("Check for an open dispute or a risk review on the order")),
            ("payments", gettext_noop("Hand off to Payments if a chargeback is threatened")),
            ("explain", gettext_noop("Explain the charge or refund it")),
        ],
    ),
    Intent.WARRANTY: (
        gettext_noop("Warranty"),
        [
            ("eligibility", gettext_noop("Check the purchase date against the warranty")),
            ("photos", gettext_noop("Ask for photos")),
            ("repair", gettext_noop("Arrange repair or replacement")),
        ],
    ),
}
