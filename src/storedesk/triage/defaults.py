"""What a fresh install starts with: the departments, the team's calendar, SLA policies and a
playbook per situation. Shared by the data migration and tests; leads edit them afterwards."""

from storedesk.triage.intents import Intent, Threat

DEPARTMENTS = [
    ("Care", "care"),
    ("Payments", "payments"),
    ("Fulfillment", "fulfillment"),
    ("Product quality", "product-quality"),
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
    ("VIP customers", 10, None, "", "vip", 60, 120, 2 * DAY),
    ("Live chat", 20, None, "chat", "any", 10, 10, DAY),
    ("Urgent", 30, 4, "", "any", 60, 120, 2 * DAY),
    ("High", 40, 3, "", "any", 120, 240, 3 * DAY),
    ("Standard", 100, None, "", "any", 240, DAY, 5 * DAY),
]

PLAYBOOKS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    Intent.DELIVERED_NOT_RECEIVED: (
        "Delivered but not received",
        [
            ("tracking", "Check the tracking: delivery scan, GPS location and signature"),
            ("neighbour", "Ask the customer to check with neighbours, mailroom or front desk"),
            ("wait", "Wait 48 hours: most 'missing' parcels turn up"),
            ("claim", "File a claim with the carrier"),
            ("resolve", "Reship or refund within the care limit"),
        ],
    ),
    Intent.NOT_RECEIVED: (
        "Not received",
        [
            ("tracking", "Check the latest tracking scan and the carrier's ETA"),
            ("address", "Confirm the shipping address with the customer"),
            ("carrier", "Open a trace with the carrier if no scan for 5 days"),
            ("resolve", "Reship or refund when the carrier declares it lost"),
        ],
    ),
    Intent.TRACKING_STALLED: (
        "Tracking not updating",
        [
            ("tracking", "Check the last scan and how long ago it was"),
            ("explain", "Explain international transit pauses and give the ETA"),
            ("trace", "Open a carrier trace after 7 days without a scan"),
        ],
    ),
    Intent.ORDER_STATUS: (
        "Where is my order",
        [
            ("status", "Check fulfillment and tracking status"),
            ("reply", "Send the tracking link and ETA"),
        ],
    ),
    Intent.WRONG_ITEM: (
        "Wrong item",
        [
            ("photos", "Ask for photos of the item and the packing slip"),
            ("check", "Compare with the order's line items"),
            ("fulfillment", "Hand off to Fulfillment to find the cause"),
            ("resolve", "Ship the right item; offer a prepaid return label"),
        ],
    ),
    Intent.WRONG_SIZE: (
        "Wrong size or fit",
        [
            ("size", "Confirm the size ordered and the size needed"),
            ("exchange", "Offer an exchange or resizing"),
            ("label", "Send return instructions"),
        ],
    ),
    Intent.DAMAGED: (
        "Damaged or quality problem",
        [
            ("photos", "Ask for photos of the damage and the packaging"),
            ("quality", "Hand off to Product quality with the photos"),
            ("resolve", "Replace, repair or refund within the care limit"),
        ],
    ),
    Intent.RETURN_EXCHANGE: (
        "Return or exchange",
        [
            ("policy", "Check the return window and the item's condition rules"),
            ("label", "Send return instructions and the label"),
            ("receive", "Confirm the return arrived, then refund or ship the exchange"),
        ],
    ),
    Intent.REFUND_REQUEST: (
        "Refund request",
        [
            ("reason", "Find out why and whether a fix would serve better"),
            ("policy", "Check the policy and the care limit"),
            ("refund", "Issue the refund and confirm it with the amount"),
        ],
    ),
    Intent.CANCEL_CHANGE: (
        "Cancel or change order",
        [
            ("status", "Check whether the order has shipped"),
            ("hold", "Hold fulfillment at once if not shipped"),
            ("confirm", "Cancel or change, then confirm to the customer"),
        ],
    ),
    Intent.PAYMENT_PROBLEM: (
        "Payment or charge problem",
        [
            ("payment", "Look up the payment and the descriptor the customer saw"),
            ("risk", "Check for an open dispute or a risk review on the order"),
            ("payments", "Hand off to Payments if a chargeback is threatened"),
            ("explain", "Explain the charge or refund it"),
        ],
    ),
    Intent.WARRANTY: (
        "Warranty",
        [
            ("eligibility", "Check the purchase date against the warranty"),
            ("photos", "Ask for photos"),
            ("repair", "Arrange repair or replacement"),
        ],
    ),
}
