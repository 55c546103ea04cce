"""Triage: what each inbound message is about, how urgent it is, whose it is and by when.

Where things are (the shape every app has):
- `models.py` the data; `queries.py` the reads pages and the API show; `services.py` every
  write (`do_*`); `forms.py` what the pages' POSTs may carry; `views/` the pages, one module a
  feature; `api.py` the API; `tasks.py` the event handlers and periodic jobs; `urls.py`;
  `extensions.py` what triage tells the desk below it.
- The pure parts the services use, one module a feature: `analysis` (one message understood),
  `classifier` and `training` (the intent model and its data), `mood`, `language`, `orders`,
  `facts` (what rules and scores see), `rules`, `automation`, `priority`, `calendar`, `sla`,
  `playbooks`, `handoff`, `wismo`.

Triage sits above the desk: it reads tickets and changes them only through `desk.services`;
the desk never imports triage (it is told where the SLA clocks are when triage starts).
"""
