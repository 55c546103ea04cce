"""The Settings area: every configuration page of the desk, grouped by area, in one place.

Each page names the permission its view requires, so the Settings index and the menus show a
person only the pages their role may open (tests/pages/test_navigation.py opens every page
with every role to keep this list and the views in step). Add a configuration page here and
it appears on /settings/ for the roles that may open it.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class SettingsPage:
    url_name: str
    label: str | Promise
    description: str | Promise
    permission: str | None  # None: any signed-in person

    @property
    def url(self) -> str:
        return reverse(self.url_name)


@dataclass(frozen=True)
class SettingsArea:
    key: str
    title: str | Promise
    pages: tuple[SettingsPage, ...]


SETTINGS_AREAS = (
    SettingsArea(
        "desk",
        _("Desk"),
        (
            SettingsPage(
                "desk_templates:list",
                _("Reply templates"),
                _("The approved answers agents start from; propose and review changes."),
                "desk.view_replytemplate",
            ),
            SettingsPage(
                "triage:departments",
                _("Departments"),
                _("Each team's open hand-offs and its queue of tickets."),
                "desk.view_ticket",
            ),
            SettingsPage(
                "desk_templates:search",
                _("Ticket search"),
                _("Full-text search over every ticket and message, closed ones included."),
                "desk.view_ticket",
            ),
        ),
    ),
    SettingsArea(
        "triage",
        _("Triage and routing"),
        (
            SettingsPage(
                "triage:rules",
                _("Routing rules"),
                _("Send, tag and prioritise new tickets automatically, in order."),
                "triage.view_routingrule",
            ),
            SettingsPage(
                "triage:playbooks",
                _("Playbooks"),
                _("Step-by-step procedures agents follow for each kind of problem."),
                "triage.view_playbook",
            ),
            SettingsPage(
                "triage:priority",
                _("Priority weights"),
                _("How much each signal raises a ticket's priority; re-score open tickets."),
                "triage.view_priorityweights",
            ),
        ),
    ),
    SettingsArea(
        "service_levels",
        _("Service levels"),
        (
            SettingsPage(
                "triage:sla",
                _("SLA policies"),
                _("First-response and resolution targets in business minutes."),
                "triage.view_slapolicy",
            ),
            SettingsPage(
                "triage:calendars",
                _("Business calendars"),
                _("Working hours, lunch breaks and holidays the SLA clocks follow."),
                "triage.view_businesscalendar",
            ),
            SettingsPage(
                "triage:sla_report",
                _("SLA report"),
                _("How often the targets were met; CSV export."),
                "triage.view_sla_report",
            ),
        ),
    ),
    SettingsArea(
        "risk",
        _("Payment risk"),
        (
            SettingsPage(
                "risk:rules",
                _("Risk rules"),
                _("Rules that approve, hold or reject payments, checked against past orders."),
                "risk.view_riskrule",
            ),
            SettingsPage(
                "risk:lists",
                _("Risk lists"),
                _("The named lists rules read, such as blocked emails; edits apply from then on."),
                "risk.view_risklist",
            ),
            SettingsPage(
                "disputes:reason_rules",
                _("Dispute reason rules"),
                _("What each gateway reason means: family, deadline, winning evidence, actions."),
                "disputes.view_reasonrule",
            ),
            SettingsPage(
                "risk:digest",
                _("Payment digest"),
                _("One day of payments, risk flags, decisions, refunds and disputes."),
                "risk.view_orderrisk",
            ),
            SettingsPage(
                "gateways:ratios",
                _("Network monitoring ratios"),
                _("Dispute and fraud ratios against Visa and Mastercard thresholds, projected."),
                "gateways.view_monitoringthreshold",
            ),
        ),
    ),
    SettingsArea(
        "store_data",
        _("Store data"),
        (
            SettingsPage(
                "order_files:import",
                _("Import orders"),
                _("Load orders from Shopify's export or a CSV/XLSX file; bad rows by line."),
                "order_files.add_orderimport",
            ),
        ),
    ),
    SettingsArea(
        "resolutions",
        _("Refunds and compensation"),
        (
            SettingsPage(
                "resolutions:limits",
                _("Resolution limits"),
                _("What each role may refund, reship or give alone; above it, an approval."),
                "resolutions.view_resolutionlimits",
            ),
            SettingsPage(
                "resolutions:budget",
                _("Care budget"),
                _("The month's plan for refunds, reships, coupons and gifts, against spend."),
                "resolutions.view_carebudget",
            ),
            SettingsPage(
                "resolutions:approvals",
                _("Approvals"),
                _("Requests over someone's limits, waiting for a decision."),
                "resolutions.change_approval",
            ),
        ),
    ),
    SettingsArea(
        "outreach",
        _("Outreach"),
        (
            SettingsPage(
                "experience:campaigns",
                _("Campaigns"),
                _("E-mails to groups of customers on holidays and occasions, with results."),
                "experience.view_campaign",
            ),
            SettingsPage(
                "experience:segments",
                _("Segments"),
                _("Groups of customers defined as data: VIP, lapsed, recent and gift buyers."),
                "experience.view_segment",
            ),
        ),
    ),
    SettingsArea(
        "surveys",
        _("Customer surveys"),
        (
            SettingsPage(
                "experience:survey_results",
                _("Survey results"),
                _("CSAT and NPS by month, agent, intent, channel, template and resolution."),
                "experience.view_survey_results",
            ),
            SettingsPage(
                "experience:survey_texts",
                _("Survey texts"),
                _("What customers read in the CSAT and NPS survey emails and pages."),
                "experience.view_surveydefinition",
            ),
        ),
    ),
    SettingsArea(
        "connections",
        _("Connections"),
        (
            SettingsPage(
                "connections:list",
                _("Connections"),
                _("Shops, payment accounts and carriers feeding the desk; their health."),
                "connections.view_connection",
            ),
        ),
    ),
    SettingsArea(
        "account",
        _("Your account"),
        (
            SettingsPage(
                "accounts:preferences",
                _("Preferences"),
                _("Your language and the time zone dates are shown in."),
                None,
            ),
        ),
    ),
)


def may_open(user, page: SettingsPage) -> bool:
    return user.is_authenticated and (page.permission is None or user.has_perm(page.permission))


def settings_areas_for(user) -> list[tuple[SettingsArea, list[SettingsPage]]]:
    """The areas with at least one page the user may open, each with only those pages."""
    shown = []
    for area in SETTINGS_AREAS:
        pages = [page for page in area.pages if may_open(user, page)]
        if pages:
            shown.append((area, pages))
    return shown
