"""Roles are named permission sets. Change them here; `migrate` re-syncs the groups."""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    PAYMENTS = "payments_specialist"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.AGENT: _("Agent"),
    Role.LEAD: _("Team lead"),
    Role.PAYMENTS: _("Payments specialist"),
    Role.ADMIN: _("Administrator"),
}

_CARE = [
    "commerce.view_store",
    "commerce.view_customer",
    "commerce.view_order",
    "commerce.view_payment",
    "commerce.view_refund",
    "commerce.view_shipment",
    "commerce.view_policy",
    "audit.view_auditentry",
]
_PAYMENT_DETAILS = [
    "commerce.view_payment_details",
    "disputes.view_dispute",
]

ROLE_PERMISSIONS: dict[Role, list[str] | str] = {
    Role.AGENT: _CARE,
    Role.LEAD: [*_CARE, "accounts.view_team", "accounts.view_user"],
    Role.PAYMENTS: [*_CARE, *_PAYMENT_DETAILS],
    Role.ADMIN: "__all__",
}
