"""A local Shopify Admin GraphQL API (pytest-httpserver) answering as Shopify documents:
bulk operations, paged orders, throttling (HTTP 429 + Retry-After, GraphQL THROTTLED with the
cost extension), userErrors, 401 for a revoked token, 5xx."""

import json
import re
from collections import defaultdict, deque

from werkzeug import Response

from tests.integrations.shopify.helpers import TOKEN

PATH = "/admin/api/2025-01/graphql.json"
OPERATION = re.compile(r"^\s*(?:query|mutation)\s+(\w+)")


def cost(available=1900.0, requested=52, actual=12):
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": available,
                "restoreRate": 100.0,
            },
        }
    }


def data(payload, **extensions):
    return Response(
        json.dumps({"data": payload, "extensions": cost(**extensions)}),
        content_type="application/json",
    )


def throttled(available=10.0, requested=502):
    body = {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": cost(available=available, requested=requested, actual=0),
    }
    return Response(json.dumps(body), content_type="application/json")


def too_many(retry_after="2.0"):
    return Response(
        json.dumps({"errors": "Exceeded 2 calls per second for api client. Reduce request rates."}),
        status=429,
        headers={"Retry-After": retry_after},
        content_type="application/json",
    )


def unauthorized():
    return Response(
        json.dumps(
            {
                "errors": "[API] Invalid API key or access token "
                "(unrecognized login or wrong password)"
            }
        ),
        status=401,
        content_type="application/json",
    )


def server_error(status=502):
    return Response("<html>Bad gateway</html>", status=status, content_type="text/html")


class FakeAdmin:
    """Scripted answers per GraphQL operation name, in order; the last one repeats."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.script: dict[str, deque] = defaultdict(deque)
        self.requests: list[dict] = []
        httpserver.expect_request(PATH, method="POST").respond_with_handler(self._answer)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def on(self, operation: str, *answers) -> "FakeAdmin":
        self.script[operation].extend(answers)
        return self

    def _answer(self, request):
        if request.headers.get("X-Shopify-Access-Token") != TOKEN:
            return unauthorized()
        body = request.get_json()
        query = body["query"]
        named = OPERATION.match(query)
        operation = next(
            (
                name
                for name in ("RunBulk", "CurrentBulk", "BulkStatus", "OrdersPage")
                if name in query
            ),
            named.group(1) if named else "?",
        )
        self.requests.append(
            {"operation": operation, "variables": body.get("variables"), "query": query}
        )
        queue = self.script[operation]
        return queue.popleft() if len(queue) > 1 else queue[0]

    def served(self, operation: str) -> list[dict]:
        return [r["variables"] for r in self.requests if r["operation"] == operation]


def order_node(number: int, *, updated="2026-01-05T10:00:00Z", refunded=None, gid_base=5000):
    """An Admin GraphQL `Order` with the fields sync asks for."""
    money = lambda amount: {"shopMoney": {"amount": amount, "currencyCode": "USD"}}  # noqa: E731
    gid = f"gid://shopify/Order/{gid_base + number}"
    address = {
        "firstName": "Bob",
        "lastName": "Norman",
        "company": None,
        "address1": "Chestnut Street 92",
        "address2": "",
        "city": "Louisville",
        "province": "Kentucky",
        "provinceCode": "KY",
        "country": "United States",
        "countryCodeV2": "US",
        "zip": "40202",
        "phone": "555-625-1199",
    }
    return {
        "id": gid,
        "name": f"#{1000 + number}",
        "email": f"buyer{number}@example.com",
        "phone": None,
        "createdAt": "2026-01-04T09:00:00Z",
        "updatedAt": updated,
        "processedAt": "2026-01-04T09:00:01Z",
        "cancelledAt": None,
        "cancelReason": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "FULFILLED",
        "currencyCode": "USD",
        "clientIp": "203.0.113.7",
        "sourceName": "web",
        "tags": ["vip"],
        "note": None,
        "subtotalPriceSet": money("398.00"),
        "totalPriceSet": money("409.94"),
        "totalTaxSet": money("11.94"),
        "totalDiscountsSet": money("0.00"),
        "totalShippingPriceSet": money("0.00"),
        "shippingLine": {"title": "Free Shipping", "code": "Free Shipping"},
        "shippingAddress": address,
        "billingAddress": address,
        "customer": {
            "id": f"gid://shopify/Customer/{700 + number}",
            "email": f"buyer{number}@example.com",
            "firstName": "Bob",
            "lastName": "Norman",
            "phone": None,
        },
        "transactions": [
            {
                "id": f"gid://shopify/OrderTransaction/{90000 + number}",
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": "shopify_payments",
                "createdAt": "2026-01-04T09:00:01Z",
                "errorCode": None,
                "amountSet": money("409.94"),
                "paymentDetails": {
                    "company": "Visa",
                    "number": "•••• •••• •••• 4242",
                    "avsResultCode": "Y",
                    "cvvResultCode": "M",
                },
            }
        ],
        "fulfillments": [
            {
                "id": f"gid://shopify/Fulfillment/{80000 + number}",
                "status": "SUCCESS",
                "displayStatus": "IN_TRANSIT",
                "createdAt": "2026-01-05T09:00:00Z",
                "deliveredAt": None,
                "estimatedDeliveryAt": None,
                "trackingInfo": [{"company": "UPS", "number": f"1Z{number:08d}", "url": None}],
            }
        ],
        "refunds": [
            {
                "id": f"gid://shopify/Refund/{70000 + number}",
                "createdAt": "2026-01-05T10:00:00Z",
                "note": "broke in transit",
                "totalRefundedSet": money(refunded),
            }
        ]
        if refunded
        else [],
    }


def line_item_rows(number: int, count: int = 2, *, gid_base=5000):
    return [
        {
            "id": f"gid://shopify/LineItem/{number * 10 + index}",
            "title": "Pearl drop earrings",
            "quantity": 1,
            "sku": f"PE-{index}",
            "variantTitle": "Silver",
            "originalUnitPriceSet": {"shopMoney": {"amount": "199.00", "currencyCode": "USD"}},
            "totalDiscountSet": {"shopMoney": {"amount": "0.00", "currencyCode": "USD"}},
            "__parentId": f"gid://shopify/Order/{gid_base + number}",
        }
        for index in range(count)
    ]


def bulk_jsonl(numbers, **order_options) -> str:
    rows = []
    for number in numbers:
        rows.append(order_node(number, **order_options))
        rows.extend(line_item_rows(number))
    return "".join(json.dumps(row) + "\n" for row in rows)
