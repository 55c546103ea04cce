"""Resolution pages: the Resolve panel (ticket and order page), the approvals queue, the
limits settings, the care budget and the lists Home links to. Thin views over
`resolutions.services` (writes) and `resolutions.page_queries` / `resolutions.queries` (reads)."""
