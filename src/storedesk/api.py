"""API v1: one NinjaAPI; each app adds its router in its own api.py.

Every endpoint needs a bearer token or a signed-in session (see accounts.api_auth) and answers
errors in one JSON shape (see core.api). The docs page uses the Swagger UI files ninja ships,
served from our own static files with no inline script, so it works offline under the strict
CSP.
"""

from django.views.decorators.http import require_safe
from ninja import NinjaAPI, Swagger

from storedesk.accounts.api_auth import api_auth
from storedesk.commerce.api import router as commerce_router
from storedesk.core.api import install_error_handlers
from storedesk.desk.api import router as desk_router
from storedesk.disputes.api import router as disputes_router
from storedesk.experience.api import router as experience_router
from storedesk.gateways.api import router as gateways_router
from storedesk.integrations.connections.api import router as connections_router
from storedesk.resolutions.api import router as resolutions_router
from storedesk.risk.api import router as risk_router
from storedesk.risk.api_rules import router as risk_rules_router
from storedesk.triage.api import router as triage_router

api = NinjaAPI(
    title="Storedesk API",
    version="1",
    description=(
        "Read the store's orders, customers, shipments and payments; open, answer and update "
        "tickets; decide on orders in risk review and manage risk rules; analyse a customer "
        "message and set the priority weights. Writes take the same permissions as the pages, "
        "and a reply sent with `idempotency_key` is sent once however often it is retried. "
        "Authenticate with "
        "`Authorization: Bearer sdk_…` (create a token with `storedesk create_api_token`) or a "
        "signed-in session. Lists page with `limit` and the opaque `next_cursor`. Errors are "
        '`{"code", "message", "details"}`.'
    ),
    urls_namespace="api-v1",
    auth=api_auth,
    docs=Swagger(settings={"persistAuthorization": False, "tryItOutEnabled": False}),
    # The schema and its docs page are read, never written: other methods get the JSON 405.
    docs_decorator=require_safe,
    openapi_url="/openapi.json",
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("/", commerce_router)
api.add_router("/", risk_router)
api.add_router("/", risk_rules_router)
api.add_router("/", desk_router)
api.add_router("/", triage_router)
api.add_router("/", gateways_router)
api.add_router("/", disputes_router)
api.add_router("/", connections_router)
api.add_router("/", resolutions_router)
api.add_router("/", experience_router)
