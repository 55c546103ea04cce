"""The task list: work owed on orders (refunds to make at the gateway), filtered by kind and
status, paginated, linked from the navigation, in a fixed number of queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from storedesk.commerce.models import OrderTask
from storedesk.commerce.views import PAGE_SIZE
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def _task(store, *, status=OrderTask.Status.OPEN, minutes_ago: int = 0, **kwargs):
    return OrderTask.objects.create(
        order=OrderFactory(store=store),
        kind=OrderTask.Kind.REFUND_NEEDED,
        status=status,
        amount=Decimal("42.50"),
        currency="USD",
        reason="Cancelled after capture",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        **kwargs,
    )


def _listed(response) -> list[int]:
    return [task.pk for task in response.context["page"].object_list]


def test_open_tasks_are_listed_newest_first_with_their_order(agent_client, store):
    older = _task(store, minutes_ago=30)
    newer = _task(store, minutes_ago=5)
    _task(store, status=OrderTask.Status.DONE, done_at=timezone.now())

    response = agent_client.get("/tasks/")

    assert response.status_code == 200
    assert _listed(response) == [newer.pk, older.pk]
    assert f'href="/orders/{newer.order_id}/"' in response.text
    assert "42.50 USD" in response.text
    assert "Refund needed" in response.text


def test_tasks_filter_by_status_and_kind(agent_client, store):
    open_task = _task(store)
    done = _task(store, status=OrderTask.Status.DONE, done_at=timezone.now())

    assert _listed(agent_client.get("/tasks/?status=done")) == [done.pk]
    assert _listed(agent_client.get("/tasks/?status=")) == [done.pk, open_task.pk]
    assert _listed(agent_client.get("/tasks/?kind=refund_needed&status=open")) == [open_task.pk]


@pytest.mark.parametrize("query", ["status=lost", "kind=anything", "status=open&kind=%00"])
def test_a_nonsense_filter_is_a_clear_400(agent_client, store, query):
    response = agent_client.get(f"/tasks/?{query}")

    assert response.status_code == 400
    assert "Those filters are not valid" in response.text


def test_tasks_are_paginated_and_the_pages_keep_the_filters(agent_client, store):
    for minutes in range(PAGE_SIZE + 1):
        _task(store, minutes_ago=minutes)

    first = agent_client.get("/tasks/?kind=refund_needed&status=open")
    second = agent_client.get("/tasks/?kind=refund_needed&status=open&page=2")

    assert len(_listed(first)) == PAGE_SIZE
    assert 'href="?kind=refund_needed&amp;status=open&amp;page=2"' in first.text
    assert len(_listed(second)) == 1


def test_the_navigation_links_to_the_tasks(agent_client, store):
    html = agent_client.get("/orders/").text

    assert '<a href="/tasks/" data-testid="nav-tasks"' in html


def test_a_task_can_be_marked_done_from_the_list(client, make_user, store):
    from storedesk.accounts.roles import Role

    client.force_login(make_user(Role.PAYMENTS, username="hoa"))
    task = _task(store)

    html = client.get("/tasks/").text
    assert f'action="/risk/tasks/{task.pk}/done/"' in html
    response = client.post(f"/risk/tasks/{task.pk}/done/", {"next": "/tasks/"})

    assert response.status_code == 302
    assert response.url == "/tasks/"
    task.refresh_from_db()
    assert task.status == OrderTask.Status.DONE


# session, user, permissions (2), store, count, page (orders and who did it joined)
TASK_LIST_QUERIES = 7


@pytest.mark.parametrize("tasks", [1, 20])
def test_task_list_query_count_is_fixed(agent_client, store, django_assert_num_queries, tasks):
    for minutes in range(tasks):
        _task(store, minutes_ago=minutes)
    with django_assert_num_queries(TASK_LIST_QUERIES):
        assert agent_client.get("/tasks/").status_code == 200


def test_no_task_says_so(agent_client, store):
    _task(store, status=OrderTask.Status.DONE, done_at=timezone.now())

    html = agent_client.get("/tasks/").text

    assert '<span class="muted" data-testid="task-total">0</span>' in html
    assert "No task matches these filters." in html
