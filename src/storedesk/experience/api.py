"""API v1 of the experience app: survey results and outreach campaigns."""

from ninja import Router

router = Router(tags=["experience"])
