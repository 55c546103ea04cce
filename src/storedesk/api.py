"""API v1: one NinjaAPI; each app adds its router in its own api.py."""

from ninja import NinjaAPI

api = NinjaAPI(title="Storedesk API", version="1", urls_namespace="api-v1")
