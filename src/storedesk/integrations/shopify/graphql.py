"""The Admin GraphQL documents the backfill and the reconcile send (API version 2025-01;
tests validate each against Shopify's published schema)."""

MONEY = "shopMoney { amount currencyCode }"
ADDRESS = (
    "firstName lastName company address1 address2 city province provinceCode country "
    "countryCodeV2 zip phone"
)
ORDER_FIELDS = f"""
id name email phone createdAt updatedAt processedAt cancelledAt cancelReason
displayFinancialStatus displayFulfillmentStatus currencyCode clientIp sourceName tags note
subtotalPriceSet {{ {MONEY} }}
totalPriceSet {{ {MONEY} }}
totalTaxSet {{ {MONEY} }}
totalDiscountsSet {{ {MONEY} }}
totalShippingPriceSet {{ {MONEY} }}
shippingLine {{ title code }}
shippingAddress {{ {ADDRESS} }}
billingAddress {{ {ADDRESS} }}
customer {{ id email firstName lastName phone }}
transactions {{
  id kind status gateway createdAt errorCode
  amountSet {{ {MONEY} }}
  paymentDetails {{ ... on CardPaymentDetails {{ company number avsResultCode cvvResultCode }} }}
}}
fulfillments {{
  id status displayStatus createdAt deliveredAt estimatedDeliveryAt
  trackingInfo {{ company number url }}
}}
refunds {{ id createdAt note totalRefundedSet {{ {MONEY} }} }}
"""
LINE_ITEM_FIELDS = f"""
id title quantity sku variantTitle
originalUnitPriceSet {{ {MONEY} }}
totalDiscountSet {{ {MONEY} }}
"""


def bulk_orders_query(search: str) -> str:
    """The query a bulk operation runs: every order matching `search` with its line items
    (a connection: they come as child rows carrying `__parentId`)."""
    quoted = search.replace("\\", "\\\\").replace('"', '\\"')
    return f"""
{{
  orders(query: "{quoted}") {{
    edges {{ node {{
      {ORDER_FIELDS}
      lineItems {{ edges {{ node {{ {LINE_ITEM_FIELDS} }} }} }}
    }} }}
  }}
}}
"""


RUN_BULK = """
mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

CURRENT_BULK = """
query CurrentBulk {
  currentBulkOperation(type: QUERY) { id status errorCode objectCount url partialDataUrl createdAt }
}
"""

BULK_STATUS = """
query BulkStatus($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount url partialDataUrl createdAt }
  }
}
"""

ORDERS_PAGE = f"""
query OrdersPage($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    pageInfo {{ hasNextPage endCursor }}
    edges {{ node {{
      {ORDER_FIELDS}
      lineItems(first: 100) {{ edges {{ node {{ {LINE_ITEM_FIELDS} }} }} }}
    }} }}
  }}
}}
"""
