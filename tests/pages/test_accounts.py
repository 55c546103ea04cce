"""Sign-in, sign-out, password reset, preferences and the language switch."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry

PASSWORD = "correct horse battery staple"


def test_login_page_renders_a_form(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert b'<form method="post" action="/accounts/login/"' in response.content
    assert "Content-Security-Policy" in response.headers


def test_wrong_password_shows_a_clear_message(client, agent):
    response = client.post(
        reverse("accounts:login"), {"username": "agent", "password": "wrong password"}
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    assert "_auth_user_id" not in client.session


def test_login_lands_on_home(client, agent):
    response = client.post(reverse("accounts:login"), {"username": "agent", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("commerce:home")


def test_login_follows_next(client, agent):
    response = client.post(
        reverse("accounts:login") + "?next=/orders/",
        {"username": "agent", "password": PASSWORD, "next": "/orders/"},
    )
    assert response.url == "/orders/"


def test_logout_is_post_only(agent_client):
    assert agent_client.get(reverse("accounts:logout")).status_code == 405
    response = agent_client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert "_auth_user_id" not in agent_client.session


def test_password_reset_sends_a_working_us_english_link(client, make_user):
    make_user(Role.AGENT, username="linh", email="linh@desk.example", language="vi")
    client.cookies["django_language"] = "vi"
    response = client.post(reverse("accounts:password_reset"), {"email": "linh@desk.example"})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    [email] = mail.outbox
    assert email.subject == "Reset your Storedesk password"
    assert "To choose a new password, open this link:" in email.body
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", email.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-Pass-2026!", "new_password2": "a-new-Pass-2026!"},
    )
    assert done.url == reverse("accounts:password_reset_complete")
    assert client.login(username="linh", password="a-new-Pass-2026!")


def test_password_reset_for_an_unknown_email_says_the_same(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@x.example"})
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_preferences_are_saved_through_the_service(agent_client, agent):
    page = agent_client.get(reverse("accounts:preferences"))
    assert page.status_code == 200
    assert '<option value="Asia/Ho_Chi_Minh" selected>' in page.text
    response = agent_client.post(
        reverse("accounts:preferences"),
        {"language": "en", "timezone": "America/Chicago"},
        follow=True,
    )
    agent.refresh_from_db()
    assert agent.timezone == "America/Chicago"
    assert "Your preferences are saved." in response.text
    assert "Times are shown in America/Chicago." in response.text
    assert AuditEntry.objects.filter(action="user.preferences_changed").count() == 1


def test_preferences_reject_an_unknown_zone(agent_client, agent):
    response = agent_client.post(
        reverse("accounts:preferences"), {"language": "en", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 200
    agent.refresh_from_db()
    assert agent.timezone == "Asia/Ho_Chi_Minh"


def test_language_switch_saves_the_users_language(agent_client, agent):
    response = agent_client.post(
        reverse("accounts:set_language"), {"language": "vi", "next": "/orders/"}
    )
    assert response.status_code == 302
    assert response.url == "/orders/"
    agent.refresh_from_db()
    assert agent.language == "vi"
    assert response.cookies["django_language"].value == "vi"
    assert "Đơn hàng" in agent_client.get("/orders/").text


def test_language_switch_works_before_login(client, db):
    response = client.post(
        reverse("accounts:set_language"), {"language": "vi", "next": "/accounts/login/"}
    )
    assert response.url == "/accounts/login/"
    assert "Đăng nhập" in client.get("/accounts/login/").text


def test_language_switch_ignores_an_unknown_language(agent_client, agent):
    agent_client.post(reverse("accounts:set_language"), {"language": "xx", "next": "/"})
    agent.refresh_from_db()
    assert agent.language == "en"


@pytest.mark.parametrize("url", ["/accounts/preferences/"])
def test_preferences_need_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")
