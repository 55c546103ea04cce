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
    "risk.view_orderrisk",
    "commerce.view_ordertask",
    "desk.view_ticket",
    "desk.add_ticket",
    "desk.change_ticket",
    "desk.add_message",
    "desk.view_replytemplate",
    "desk.add_replytemplateversion",
    "desk.add_savedview",
    "triage.view_messageanalysis",
    "triage.add_intentlabel",
    "resolutions.view_resolution",
    "resolutions.add_resolution",
    "resolutions.view_approval",
    "resolutions.view_carebudget",
    "experience.view_campaign",
    "experience.view_segment",
    "experience.view_helparticle",
]
# Leads and payments specialists decide approvals; leads also set the limits and the budget.
_APPROVE = ["resolutions.change_approval"]
_RESOLUTION_SETUP = [
    "resolutions.view_resolutionlimits",
    "resolutions.change_resolutionlimits",
    "resolutions.add_carebudget",
    "resolutions.change_carebudget",
]
_RISK = [
    "risk.review_order",
    "risk.view_riskrule",
    "risk.add_riskrule",
    "risk.change_riskrule",
    "risk.view_risklist",
    "risk.change_risklist",
    "risk.view_riskmodel",
    "commerce.change_ordertask",
]
# Leads set up routing rules, SLA policies, calendars, playbooks and the priority weights,
# and read the SLA report.
_TRIAGE_SETUP = [
    *(
        f"triage.{verb}_{model}"
        for model in ("routingrule", "slapolicy", "businesscalendar", "playbook")
        for verb in ("view", "add", "change", "delete")
    ),
    "triage.view_priorityweights",
    "triage.change_priorityweights",
    "triage.view_sla_report",
]
# Leads read the survey results and edit the survey texts.
_SURVEYS = [
    "experience.view_survey_results",
    "experience.view_surveydefinition",
    "experience.change_surveydefinition",
]
_PAYMENT_DETAILS = [
    "commerce.view_payment_details",
    "disputes.view_dispute",
]
_GATEWAYS = [
    "gateways.view_monitoringthreshold",
    "gateways.view_accounthealthcase",
    "gateways.change_accounthealthcase",
]
# Leads run outreach: segments, campaigns and sending them.
_OUTREACH = [
    *(
        f"experience.{verb}_{model}"
        for model in ("segment", "campaign")
        for verb in ("add", "change", "delete")
    ),
    "experience.send_campaign",
]
# Payments specialists work disputes; admins also edit the reason rules.
_DISPUTES = ["disputes.work_dispute", "disputes.view_reasonrule"]

# Leads write and publish help articles and read the deflection report.
_HELP_CENTER = [
    "experience.add_helparticle",
    "experience.change_helparticle",
    "experience.view_helpevent",
]
ROLE_PERMISSIONS: dict[Role, list[str] | str] = {
    Role.AGENT: _CARE,
    Role.LEAD: [
        *_CARE,
        *_RISK,
        "accounts.view_team",
        "accounts.view_user",
        "desk.add_replytemplate",
        "desk.change_replytemplate",
        "desk.view_mailbox",
        "desk.view_quarantinedmail",
        "desk.change_quarantinedmail",
        *_TRIAGE_SETUP,
        "order_files.add_orderimport",
        "order_files.view_orderimport",
        *_APPROVE,
        *_RESOLUTION_SETUP,
        *_OUTREACH,
        *_SURVEYS,
        *_HELP_CENTER,
    ],
    Role.PAYMENTS: [*_CARE, *_PAYMENT_DETAILS, *_RISK, *_APPROVE, *_DISPUTES, *_GATEWAYS],
    Role.ADMIN: "__all__",
}
