"""Who answers a dispute at its gateway: each gateway's package registers its disputes client
from its AppConfig, so this app never imports the integrations (they import it to deliver
disputes). A client is a module or object with the calls its gateway allows: Stripe's
`upload_evidence_file`, `submit_evidence`, `close_dispute`; PayPal's `provide_evidence`,
`accept_claim`, `make_offer`, `escalate`; Shopify Payments' `submit_evidence` and
`accept_dispute` (which refuses: Shopify has no accept call)."""

from storedesk.disputes.errors import GatewayRefused

_clients: dict[str, object] = {}


def register_dispute_client(gateway: str, client) -> None:
    _clients[str(gateway)] = client


def dispute_client(gateway: str, label: str = ""):
    """The registered client of a gateway, or a refusal naming it (nothing is sent)."""
    client = _clients.get(str(gateway))
    if client is None:
        raise GatewayRefused(
            f"responding to {label or gateway} disputes is not supported yet", "unsupported"
        )
    return client


# Who refunds the customer when a dispute is accepted with a refund (an inquiry at Stripe: the
# money is still the store's, so accepting it means refunding it). The resolutions app
# registers its refund path (limits, approvals, care budget, the gateway call, audit) from its
# AppConfig; disputes never imports it.
_refund_requester = None


def register_refund_requester(requester) -> None:
    """`requester(*, dispute, amount, actor, note, idempotency_key)` starts the refund once per
    key and returns {"resolution_id", "status"} or, when a rule refuses it, {"refused": why}."""
    global _refund_requester  # noqa: PLW0603 - the one registry slot, filled at start-up
    _refund_requester = requester


def refund_requester():
    """The registered refund path, or a refusal naming what is missing (nothing is sent)."""
    if _refund_requester is None:
        raise GatewayRefused(
            "accepting with a refund needs the resolutions app, which is not installed",
            "unsupported",
        )
    return _refund_requester
