"""Schemathesis fuzzes every API operation from its OpenAPI document: no input, however odd,
gets a server error; bad input gets a 4xx in the API's error shape.

The API is called through Django's WSGI handler on a small store, as an admin with a bearer
token (every operation open to the caller, so the fuzzing reaches past the permission checks).
Examples per operation are bounded so the run stays well under a minute on SQLite.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from storedesk.accounts.roles import Role
from storedesk.accounts.services import do_create_api_token
from tests.desk.builders import make_ticket
from tests.factories import OrderFactory, PaymentFactory, ShipmentFactory, StoreFactory
from tests.risk.review_fixtures import order_in_review

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db]

EXAMPLES_PER_OPERATION = 10


# The schema as the running app serves it, read once when the tests are collected. The
# coverage phase (every boundary value of every parameter: ~2,100 requests, ~6 times the rest)
# is left to a run by hand: `SCHEMATHESIS_COVERAGE=1 pytest tests/api/test_api_fuzz.py`.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    get_wsgi_application(),
    config=SchemathesisConfig.from_dict(
        {"phases": {"coverage": {"enabled": os.environ.get("SCHEMATHESIS_COVERAGE") == "1"}}}
    ),
)


@pytest.fixture(autouse=True)
def requests_keep_the_test_transaction():
    """As the test client does: a request must not close the connection at its end (that
    would end the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def small_store():
    """Orders with payments and a shipment, one in risk review, and a ticket, so ids the
    fuzzer tries can hit real rows."""
    store = StoreFactory()
    for order in OrderFactory.create_batch(2, store=store):
        PaymentFactory(order=order)
        ShipmentFactory(order=order)
    order_in_review(store)
    make_ticket(messages=2)


@pytest.fixture
def admin_bearer(make_user):
    _token, raw_key = do_create_api_token(make_user(Role.ADMIN, username="fuzz-admin"), name="fuzz")
    return {"Authorization": f"Bearer {raw_key}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_makes_the_api_fail_with_a_server_error(case, admin_bearer):
    response = case.call_and_validate(headers=admin_bearer, checks=[not_a_server_error])
    if 400 <= response.status_code < 500:
        assert {"code", "message", "details"} <= set(response.json()), response.text
