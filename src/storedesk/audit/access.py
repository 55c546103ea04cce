"""Who may read the audit trail of which kind of object.

An audit entry repeats what changed on its object: a risk rule's source, the card fingerprints
and e-mail addresses put on a block list, priority weights, users' roles, API token names. So
reading the trail of an object needs the audit permission *and* the permission of the object's
own page; a kind of object not named here has no readable trail at all (404), so a new model
is hidden until someone decides who may read its history.
"""

from django.contrib.contenttypes.models import ContentType

AUDIT_PERMISSION = "audit.view_auditentry"

# "app_label.model" → the permissions its own page (or API) asks for.
AUDIT_READERS: dict[str, tuple[str, ...]] = {
    # commerce: the order and customer pages; card and payer details need the payments role
    "commerce.store": ("commerce.view_store",),
    "commerce.customer": ("commerce.view_customer",),
    "commerce.order": ("commerce.view_order",),
    "commerce.product": ("commerce.view_product",),
    "commerce.payment": ("commerce.view_payment", "commerce.view_payment_details"),
    "commerce.refund": ("commerce.view_order", "commerce.view_refund"),
    "commerce.ordertask": ("commerce.view_order", "commerce.view_ordertask"),
    "commerce.shipment": ("commerce.view_order", "commerce.view_shipment"),
    "commerce.policy": ("commerce.view_policy",),
    # desk
    "desk.ticket": ("desk.view_ticket",),
    "desk.mailbox": ("desk.view_mailbox",),
    "desk.quarantinedmail": ("desk.view_quarantinedmail",),
    "desk.replytemplate": ("desk.view_replytemplate",),
    # triage set-up (leads)
    "triage.routingrule": ("triage.view_routingrule",),
    "triage.slapolicy": ("triage.view_slapolicy",),
    "triage.businesscalendar": ("triage.view_businesscalendar",),
    "triage.playbook": ("triage.view_playbook",),
    "triage.priorityweights": ("triage.view_priorityweights",),
    "triage.intentmodel": ("triage.view_intentmodel",),
    # risk
    "risk.orderrisk": ("risk.view_orderrisk",),
    "risk.riskrule": ("risk.view_riskrule",),
    "risk.risklist": ("risk.view_risklist",),
    "risk.riskmodel": ("risk.view_riskmodel",),
    "risk.digestdelivery": ("risk.view_digestdelivery",),
    # disputes: the payments role (early fraud warnings are disputes in waiting)
    "disputes.dispute": ("disputes.view_dispute",),
    "disputes.earlyfraudwarning": ("disputes.view_dispute",),
    # resolutions: what was done for customers; the limits and budget leads set
    "resolutions.resolution": ("resolutions.view_resolution",),
    "resolutions.approval": ("resolutions.view_resolution",),
    "resolutions.resolutionlimits": ("resolutions.view_resolutionlimits",),
    "resolutions.carebudget": ("resolutions.view_carebudget",),
    # accounts: people and their roles, integrations' tokens
    "accounts.user": ("accounts.view_user",),
    "accounts.team": ("accounts.view_team",),
    "accounts.apitoken": ("accounts.view_apitoken",),
    # gateways' raw events
    "stripe.stripeevent": ("stripe.view_stripeevent",),
}


class AuditNotReadable(Exception):
    """There is no readable trail of this kind of object (unknown, or never audited here)."""


def readers_of(content_type: ContentType) -> tuple[str, ...]:
    """The permissions that reading this kind of object's trail needs."""
    key = f"{content_type.app_label}.{content_type.model}"
    if key not in AUDIT_READERS:
        raise AuditNotReadable(key)
    return (AUDIT_PERMISSION, *AUDIT_READERS[key])


def can_read_audit_of(user, content_type: ContentType) -> bool:
    """Whether the user may read the trail of objects of this kind."""
    try:
        return user.has_perms(readers_of(content_type))
    except AuditNotReadable:
        return False
