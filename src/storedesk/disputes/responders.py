"""Who answers a dispute at its gateway: each gateway's package registers its disputes client
from its AppConfig, so this app never imports the integrations (they import it to deliver
disputes). A client is a module or object with the calls its gateway allows: Stripe's
`upload_evidence_file`, `submit_evidence`, `close_dispute`; PayPal's `provide_evidence`,
`accept_claim`, `make_offer`, `escalate`."""

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
