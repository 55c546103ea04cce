"""The correlation id of the current request or task, for logs and the audit trail."""

import uuid
from contextvars import ContextVar

_correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")


def get_correlation_id() -> str:
    return _correlation_id.get()


def set_correlation_id(value: str | None = None) -> str:
    value = value or uuid.uuid4().hex
    _correlation_id.set(value)
    return value
