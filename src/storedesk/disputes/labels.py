"""What the gateways' dispute reasons and statuses mean, in words a person reads (and translates).

The codes themselves stay as the gateway sent them; a code we do not know yet reads as itself,
humanised, so nothing is hidden.
"""

from django.utils.translation import gettext, gettext_noop

REASON_LABELS = {
    # Stripe
    "bank_cannot_process": gettext_noop("Bank cannot process"),
    "check_returned": gettext_noop("Check returned"),
    "credit_not_processed": gettext_noop("Credit not processed"),
    "customer_initiated": gettext_noop("Customer initiated"),
    "debit_not_authorized": gettext_noop("Debit not authorized"),
    "duplicate": gettext_noop("Duplicate charge"),
    "fraudulent": gettext_noop("Fraudulent"),
    "general": gettext_noop("General"),
    "incorrect_account_details": gettext_noop("Incorrect account details"),
    "insufficient_funds": gettext_noop("Insufficient funds"),
    "noncompliant": gettext_noop("Noncompliant"),
    "product_not_received": gettext_noop("Product not received"),
    "product_unacceptable": gettext_noop("Product unacceptable"),
    "subscription_canceled": gettext_noop("Subscription canceled"),
    "unrecognized": gettext_noop("Unrecognized"),
    # PayPal
    "MERCHANDISE_OR_SERVICE_NOT_RECEIVED": gettext_noop("Item not received"),
    "MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED": gettext_noop("Item not as described"),
    "UNAUTHORISED": gettext_noop("Unauthorized payment"),
    "CREDIT_NOT_PROCESSED": gettext_noop("Credit not processed"),
    "DUPLICATE_TRANSACTION": gettext_noop("Duplicate charge"),
    "INCORRECT_AMOUNT": gettext_noop("Incorrect amount"),
    "PAYMENT_BY_OTHER_MEANS": gettext_noop("Paid by other means"),
    "CANCELED_RECURRING_BILLING": gettext_noop("Canceled recurring billing"),
    "PROBLEM_WITH_REMITTANCE": gettext_noop("Problem with remittance"),
    "OTHER": gettext_noop("Other"),
}
STATUS_LABELS = {
    # Stripe
    "warning_needs_response": gettext_noop("Inquiry: needs response"),
    "warning_under_review": gettext_noop("Inquiry: under review"),
    "warning_closed": gettext_noop("Inquiry: closed"),
    "needs_response": gettext_noop("Needs response"),
    "under_review": gettext_noop("Under review"),
    "won": gettext_noop("Won"),
    "lost": gettext_noop("Lost"),
    "prevented": gettext_noop("Prevented"),
    # PayPal
    "OPEN": gettext_noop("Open"),
    "WAITING_FOR_BUYER_RESPONSE": gettext_noop("Waiting for the buyer"),
    "WAITING_FOR_SELLER_RESPONSE": gettext_noop("Needs response"),
    "UNDER_REVIEW": gettext_noop("Under review"),
    "RESOLVED": gettext_noop("Resolved"),
}


def _humanised(code: str) -> str:
    return code.replace("_", " ").capitalize()


def reason_label(code: str) -> str:
    """The reason in the viewer's language; an unknown code humanised."""
    return gettext(REASON_LABELS[code]) if code in REASON_LABELS else _humanised(code)


def status_label(code: str) -> str:
    """The status in the viewer's language; an unknown code humanised."""
    return gettext(STATUS_LABELS[code]) if code in STATUS_LABELS else _humanised(code)
