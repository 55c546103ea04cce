"""The help center's fixed sections, in the order customers see them. The migration seeds
them and `services.help.ensure_help_categories` puts back any a flushed test database lost;
their titles are customer-facing (US English), edited here, not in the desk."""

HELP_CATEGORIES = [
    ("ordering", "Ordering", "Placing, changing and canceling an order."),
    ("shipping-and-tracking", "Shipping and tracking", "Delivery times, costs and tracking."),
    ("returns-and-exchanges", "Returns and exchanges", "Sending something back or swapping it."),
    ("sizing", "Sizing", "Ring sizes, chain lengths and how to measure."),
    ("jewelry-care", "Care of jewelry", "Keeping metals and stones looking their best."),
    ("warranty", "Warranty", "What the warranty covers and how to claim it."),
    ("payments", "Payments", "Payment methods, charges and refunds to your card."),
]
