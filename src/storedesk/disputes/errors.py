"""How a gateway's answer to a dispute response is reported to the disputes services."""

from storedesk.core.errors import ServiceError


class DisputeResponseError(ServiceError):
    """A response could not be made; `code` is a machine word, the message says why."""


class ResponseRefused(DisputeResponseError):
    """Refused here before anything was sent (deadline passed, already sent, not allowed)."""


class GatewayRefused(DisputeResponseError):
    """The gateway answered with an error (already submitted, past due, validation)."""

    status = 422


class GatewayUnavailable(DisputeResponseError):
    """The gateway could not be reached or failed; nothing is known to have been applied."""

    status = 502
