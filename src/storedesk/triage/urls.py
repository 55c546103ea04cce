"""Triage's pages under /triage/ (namespace `triage`) and the analysis panel under
/triage/analysis/ (namespace `triage_analysis`, included by the project's urls)."""

from django.urls import path

from storedesk.triage.views import (
    analysis,
    calendars,
    departments,
    playbooks,
    priority,
    rules,
    sla,
    ticket_panel,
)

app_name = "triage"
urlpatterns = [
    path("", rules.rule_list, name="rules"),
    path("rules/new/", rules.rule_edit, name="rule_new"),
    path("rules/<int:pk>/", rules.rule_edit, name="rule"),
    path("rules/<int:pk>/move/", rules.rule_move, name="rule_move"),
    path("rules/<int:pk>/delete/", rules.rule_delete, name="rule_delete"),
    path("sla/", sla.sla_policies, name="sla"),
    path("sla/report/", sla.sla_report_page, name="sla_report"),
    path("priority/", priority.priority_weights, name="priority"),
    path("calendars/", calendars.calendar_list, name="calendars"),
    path("calendars/new/", calendars.calendar_edit, name="calendar_new"),
    path("calendars/<int:pk>/", calendars.calendar_edit, name="calendar"),
    path("playbooks/", playbooks.playbook_list, name="playbooks"),
    path("playbooks/new/", playbooks.playbook_edit, name="playbook_new"),
    path("playbooks/<int:pk>/", playbooks.playbook_edit, name="playbook"),
    path("departments/", departments.departments, name="departments"),
    path("departments/<slug:slug>/", departments.department, name="department"),
    path("tickets/<int:number>/panel/", ticket_panel.ticket_panel, name="ticket_panel"),
    path("tickets/<int:number>/playbook/", ticket_panel.ticket_step, name="ticket_step"),
    path("tickets/<int:number>/handoff/", ticket_panel.ticket_handoff, name="ticket_handoff"),
    path("handoffs/<int:pk>/return/", ticket_panel.handoff_return, name="handoff_return"),
]

analysis_urlpatterns = (
    [path("tickets/<int:number>/", analysis.ticket_analysis, name="ticket")],
    "triage_analysis",
)
