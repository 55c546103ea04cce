"""Triage pages, one module per feature: routing rules (`rules`), SLA policies and the SLA
report (`sla`), business calendars (`calendars`), playbooks (`playbooks`), department queues
(`departments`), the priority weights (`priority`), and the panels beside a ticket
(`ticket_panel`: clocks, priority, checklist, hand-off; `analysis`: what the message says).
Views read input through `triage.forms`, read data through `triage.queries` and change it
through `triage.services`; they hold no business rules."""

PER_PAGE = 50
