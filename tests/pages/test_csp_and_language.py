"""Every page keeps to the Content Security Policy, and speaks Vietnamese when asked."""

import re

import pytest

from storedesk.accounts.roles import Role

PAGES = [
    "/",
    "/orders/",
    "/orders/?q=zzz",
    "/orders/{order}/",
    "/customers/",
    "/customers/{customer}/",
    "/audit/commerce/order/{order}/",
    "/accounts/preferences/",
    "/desk/help-center/",
]
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def _url(template, order):
    return template.format(order=order.pk, customer=order.customer_id)


def _assert_csp_clean(response):
    html = response.text
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), "inline style attribute"
    assert "<style" not in html.lower(), "inline <style> element"
    assert not re.search(r"\son[a-z]+\s*=", html, re.IGNORECASE), "inline event handler"
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = SCRIPT_TAG.findall(html)
    assert scripts, "htmx is loaded"
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag
        assert "src=" in tag, "no inline script bodies"


@pytest.mark.parametrize("page", PAGES)
def test_pages_have_no_inline_style_and_only_nonced_scripts(client, make_user, full_order, page):
    client.force_login(make_user(Role.PAYMENTS, username="payments"))
    response = client.get(_url(page, full_order))
    assert response.status_code == 200
    _assert_csp_clean(response)


@pytest.mark.parametrize(
    "page", ["/accounts/login/", "/accounts/password-reset/", "/orders/999999/"]
)
def test_public_and_error_pages_keep_the_policy_too(client, agent, page):
    if page.startswith("/orders/"):
        client.force_login(agent)
    _assert_csp_clean(client.get(page))


def test_htmx_is_served_locally(agent_client, db):
    html = agent_client.get("/").text
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer nonce=' in html
    assert '"includeIndicatorStyles": false' in html
    assert agent_client.get("/static/storedesk/desk.css").status_code == 200


@pytest.fixture
def vietnamese_agent_client(client, make_user):
    client.force_login(make_user(Role.AGENT, username="lan", language="vi"))
    return client


def test_home_is_in_vietnamese(vietnamese_agent_client, full_order):
    html = vietnamese_agent_client.get("/").text
    assert '<html lang="vi">' in html
    assert "Tổng quan hôm nay" in html
    assert "Đơn hàng hôm nay" in html
    assert "Đơn hàng mới nhất" in html
    assert "Đăng xuất" in html
    assert "Today at a glance" not in html


def test_order_page_is_in_vietnamese(vietnamese_agent_client, full_order):
    html = vietnamese_agent_client.get(f"/orders/{full_order.pk}/").text
    assert "Đơn hàng #TP20001" in html
    assert "Thanh toán" in html
    assert "Người ký nhận" in html
    assert "Chính sách lúc mua hàng" in html
    assert "Đã giao" in html  # a model choice label
    assert "Signed by" not in html


def test_unknown_number_message_is_in_vietnamese(vietnamese_agent_client, full_order):
    html = vietnamese_agent_client.get("/orders/", {"q": "#TP404"}).text
    assert "Không có đơn hàng nào khớp với “#TP404”." in html


def test_customer_pages_stay_in_us_english(vietnamese_agent_client):
    """Even Django's own messages (which have a Vietnamese catalogue) reach customers in English."""
    html = vietnamese_agent_client.post("/help/contact/", {}, HTTP_ACCEPT_LANGUAGE="vi").text
    assert "This field is required." in html
    assert "Trường này là bắt buộc." not in html
