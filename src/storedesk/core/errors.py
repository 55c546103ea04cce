"""The one base of every refusal a service raises.

A service says no with a `ServiceError` subclass: `code` is a machine word the API returns,
the message is for people, `status` is the HTTP answer and `details` any structured extra. The
API answers an uncaught one in its error shape (core.api), so an endpoint only catches it to
add something.
"""

from typing import Any


class ServiceError(Exception):
    """A change a service refused, with the reason."""

    code = "refused"
    status = 409

    def __init__(self, message: object = "", code: str = "", *, details: dict | None = None):
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = code
        self.details = dict(details or {})

    def api_details(self) -> Any:
        """What the API puts in `details` (None when there is nothing to add)."""
        return self.details or None
