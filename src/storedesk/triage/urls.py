from django.urls import path

from storedesk.triage import views

app_name = "triage"
urlpatterns = [
    path("", views.rule_list, name="rules"),
    path("rules/new/", views.rule_edit, name="rule_new"),
    path("rules/<int:pk>/", views.rule_edit, name="rule"),
    path("rules/<int:pk>/move/", views.rule_move, name="rule_move"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("sla/", views.sla_policies, name="sla"),
    path("sla/report/", views.sla_report_page, name="sla_report"),
    path("priority/", views.priority_weights, name="priority"),
    path("calendars/", views.calendar_list, name="calendars"),
    path("calendars/new/", views.calendar_edit, name="calendar_new"),
    path("calendars/<int:pk>/", views.calendar_edit, name="calendar"),
    path("playbooks/", views.playbook_list, name="playbooks"),
    path("playbooks/new/", views.playbook_edit, name="playbook_new"),
    path("playbooks/<int:pk>/", views.playbook_edit, name="playbook"),
    path("departments/", views.departments, name="departments"),
    path("departments/<slug:slug>/", views.department, name="department"),
    path("tickets/<int:number>/panel/", views.ticket_panel, name="ticket_panel"),
    path("tickets/<int:number>/playbook/", views.ticket_step, name="ticket_step"),
    path("tickets/<int:number>/handoff/", views.ticket_handoff, name="ticket_handoff"),
    path("handoffs/<int:pk>/return/", views.handoff_return, name="handoff_return"),
]
