"""The audit history page of one object."""

import pytest
from django.contrib.contenttypes.models import ContentType

from storedesk.accounts.roles import Role
from storedesk.audit.services import record_audit
from storedesk.commerce.models import Order


def test_history_lists_the_objects_entries_newest_first(agent_client, full_order, agent):
    record_audit(
        actor=agent,
        action="order.note_added",
        obj=full_order,
        changes={"note": "Called the customer"},
    )
    response = agent_client.get(f"/audit/commerce/order/{full_order.pk}/")
    assert response.status_code == 200
    actions = [entry.action for entry in response.context["page"]]
    assert actions == ["order.note_added", "order.imported"]
    assert "Called the customer" in response.text
    assert "#TP20001" in response.text


def test_history_of_an_unknown_model_is_404(agent_client, db):
    assert agent_client.get("/audit/commerce/nothing/1/").status_code == 404


def test_history_needs_the_audit_permission(client, make_user, full_order):
    from django.contrib.auth.models import Group

    limited = Group.objects.create(name="no-audit")
    limited.permissions.set(
        Group.objects.get(name=Role.AGENT.value).permissions.exclude(codename="view_auditentry")
    )
    user = make_user(None, username="limited")
    user.groups.add(limited)
    client.force_login(user)
    assert client.get(f"/audit/commerce/order/{full_order.pk}/").status_code == 403
    order_page = client.get(f"/orders/{full_order.pk}/")
    assert order_page.status_code == 200
    assert 'id="history"' not in order_page.text


# session, user, permissions (2), count, page
HISTORY_QUERIES = 6


@pytest.mark.parametrize("entries", [1, 30])
def test_history_query_count_is_fixed(agent_client, full_order, django_assert_num_queries, entries):
    for n in range(entries):
        record_audit(actor=None, action=f"order.step{n}", obj=full_order)
    ContentType.objects.get_for_model(Order)
    with django_assert_num_queries(HISTORY_QUERIES):
        agent_client.get(f"/audit/commerce/order/{full_order.pk}/")
