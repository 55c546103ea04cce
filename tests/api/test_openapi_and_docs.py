"""The OpenAPI document is complete and the docs page works offline under the strict CSP."""

from html.parser import HTMLParser

import pytest
from django.test import Client

EXPECTED_PATHS = {
    "/api/v1/orders",
    "/api/v1/orders/{number_or_id}",
    "/api/v1/customers",
    "/api/v1/customers/{customer_id}",
    "/api/v1/shipments",
    "/api/v1/shipments/{shipment_id}",
    "/api/v1/payments",
    "/api/v1/payments/{payment_id}",
    "/api/v1/disputes",
    "/api/v1/disputes/{dispute_id}",
    "/api/v1/disputes/{dispute_id}/evidence",
    "/api/v1/disputes/{dispute_id}/evidence.pdf",
}


@pytest.fixture
def schema(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_openapi_document_lists_every_endpoint(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Storedesk API"
    assert EXPECTED_PATHS <= set(schema["paths"])
    for path in EXPECTED_PATHS:
        operation = schema["paths"][path]["get"]
        assert operation["operationId"]
        assert operation["tags"]
        assert {"200", "401", "403"} <= set(operation["responses"])


def test_openapi_documents_the_dispute_responses(schema):
    for action in ("submit", "accept"):
        operation = schema["paths"][f"/api/v1/disputes/{{dispute_id}}/{action}"]["post"]
        assert {"200", "401", "403", "404", "409", "422", "502"} <= set(operation["responses"])
    assert "put" in schema["paths"]["/api/v1/disputes/{dispute_id}/evidence"]


def test_openapi_components_and_security(schema):
    components = schema["components"]["schemas"]

    assert {
        "OrderPage",
        "OrderSummary",
        "OrderDetail",
        "PaymentOut",
        "PaymentDetail",
        "CustomerDetail",
        "ShipmentDetail",
        "Money",
        "ErrorOut",
        "PaymentStatus",
        "ShipmentStatus",
    } <= set(components)
    assert components["Money"]["properties"]["amount"]["type"] == "string"
    assert set(components["ErrorOut"]["required"]) == {"code", "message"}
    assert components["OrderPage"]["properties"]["next_cursor"]["anyOf"] == [
        {"type": "string"},
        {"type": "null"},
    ]
    assert schema["components"]["securitySchemes"]["BearerTokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_every_reference_resolves(schema):
    """No dangling $ref (e.g. two enums both named 'Status' overwriting each other)."""
    refs = set()

    def collect(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"].removeprefix("#/components/schemas/"))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schema)
    assert refs <= set(schema["components"]["schemas"])


def test_money_is_never_a_number(schema):
    order_detail = schema["components"]["schemas"]["OrderDetail"]["properties"]

    for name in ("total_price", "subtotal_price", "total_tax", "total_refunded"):
        assert order_detail[name] == {"$ref": "#/components/schemas/Money"}


def test_list_filters_are_documented(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/orders"]["get"]["parameters"]}

    assert {
        "cursor",
        "limit",
        "email",
        "number",
        "customer_id",
        "financial_status",
        "fulfillment_status",
        "created_after",
        "created_before",
        "gateway",
    } <= set(parameters)
    assert parameters["limit"]["schema"]["maximum"] == 200


class _Assets(HTMLParser):
    """Every URL the page loads, and every inline script that the browser would run."""

    def __init__(self):
        super().__init__()
        self.urls, self.inline_scripts, self._in_script = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        if tag == "script" and not attrs.get("src"):
            self._in_script = attrs

    def handle_data(self, data):
        if self._in_script is not None and data.strip():
            self.inline_scripts.append((self._in_script, data))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def test_docs_page_loads_only_local_assets(db):
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    page = _Assets()
    page.feed(response.content.decode())
    assert page.urls
    for url in page.urls:
        assert url.startswith("/static/"), url
    assert "cdn" not in response.content.decode().lower()


def test_docs_page_runs_no_inline_script(db):
    response = Client().get("/api/v1/docs")

    page = _Assets()
    page.feed(response.content.decode())
    # The settings block is JSON data, not code; CSP does not apply to it.
    for attrs, _ in page.inline_scripts:
        assert attrs.get("type") == "application/json" or attrs.get("nonce")


def test_docs_page_is_served_under_the_strict_csp(db):
    csp = Client().get("/api/v1/docs")["Content-Security-Policy"]

    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    for source in directives["script-src"].split() + directives["style-src"].split():
        assert source == "'self'" or source.startswith("'nonce-"), source
    assert directives["connect-src"] == "'self'"


def test_docs_assets_are_served_locally(db):
    page = _Assets()
    page.feed(Client().get("/api/v1/docs").content.decode())

    for url in page.urls:
        response = Client().get(url)
        assert response.status_code == 200, url
        if hasattr(response, "close"):
            response.close()


def test_docs_page_points_swagger_at_our_openapi_document(db):
    content = Client().get("/api/v1/docs").content.decode()

    assert '"url": "/api/v1/openapi.json"' in content


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_schema_and_docs_refuse_writing_methods_in_json(db, path, method):
    response = Client().generic(method, path, b"{}", content_type="application/json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"
