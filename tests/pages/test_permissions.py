"""Every page needs a signed-in user, and a role that allows it."""

import pytest

from storedesk.accounts.roles import Role

PAGES = [
    "/",
    "/orders/",
    "/orders/{order}/",
    "/customers/",
    "/customers/{customer}/",
    "/audit/commerce/order/{order}/",
]


def _url(template, order):
    return template.format(order=order.pk, customer=order.customer_id)


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, full_order, page):
    url = _url(page, full_order)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("page", PAGES)
def test_a_user_without_a_role_gets_the_friendly_403(client, make_user, full_order, page):
    client.force_login(make_user(None, username="norole"))
    response = client.get(_url(page, full_order))
    assert response.status_code == 403
    assert "Your role does not allow this." in response.text
    assert '<header class="topbar">' in response.text


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD, Role.PAYMENTS, Role.ADMIN])
@pytest.mark.parametrize("page", PAGES)
def test_every_role_can_open_the_care_pages(client, make_user, full_order, role, page):
    client.force_login(make_user(role, username=f"u-{role}"))
    assert client.get(_url(page, full_order)).status_code == 200


def test_unknown_order_is_a_404_page(agent_client, db):
    response = agent_client.get("/orders/999999/")
    assert response.status_code == 404
    assert "There is nothing at this address." in response.text
