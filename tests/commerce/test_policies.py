from datetime import timedelta

import pytest

from storedesk.audit.models import AuditEntry
from storedesk.commerce.queries import policies_in_force, policy_in_force
from storedesk.commerce.services import PolicyError, do_publish_policy
from tests.factories import BASE_TIME, StoreFactory

pytestmark = pytest.mark.django_db


def test_each_publication_is_a_new_version():
    store = StoreFactory()

    first = do_publish_policy(store, "returns", "30 days", BASE_TIME, None)
    second = do_publish_policy(store, "returns", "45 days", BASE_TIME + timedelta(days=60), None)

    assert (first.version, second.version) == (1, 2)
    assert AuditEntry.objects.filter(action="policy.published").count() == 2


def test_the_policy_in_force_is_the_one_shown_at_that_moment(django_assert_num_queries):
    store = StoreFactory()
    do_publish_policy(store, "returns", "30 days", BASE_TIME, None)
    do_publish_policy(store, "returns", "45 days", BASE_TIME + timedelta(days=60), None)
    do_publish_policy(store, "shipping", "10-20 days", BASE_TIME, None)
    do_publish_policy(store, "privacy", "later", BASE_TIME + timedelta(days=90), None)

    with django_assert_num_queries(1):
        at_purchase = policies_in_force(store, BASE_TIME + timedelta(days=59))

    assert {kind: p.body for kind, p in at_purchase.items()} == {
        "returns": "30 days",
        "shipping": "10-20 days",
    }
    later = policies_in_force(store, BASE_TIME + timedelta(days=61))
    assert later["returns"].body == "45 days"
    assert policies_in_force(store, BASE_TIME - timedelta(seconds=1)) == {}
    assert policy_in_force(store, "returns", BASE_TIME + timedelta(days=61)).version == 2


def test_a_same_day_correction_wins():
    store = StoreFactory()
    do_publish_policy(store, "returns", "typo", BASE_TIME, None)
    do_publish_policy(store, "returns", "fixed", BASE_TIME, None)

    assert policies_in_force(store, BASE_TIME)["returns"].body == "fixed"


@pytest.mark.parametrize(("kind", "body"), [("nonsense", "x"), ("returns", "  ")])
def test_unknown_kinds_and_empty_texts_are_refused(kind, body):
    with pytest.raises(PolicyError):
        do_publish_policy(StoreFactory(), kind, body, BASE_TIME, None)
