"""The help center in a real browser: the contact form suggests articles while the customer
types (no inline script under the CSP), a suggestion opens the article, the customer votes, and
a form sent anyway is counted as not deflected."""

import time

import pytest
from django.core.cache import cache

from storedesk.experience.models import HelpArticle, HelpEvent
from tests.experience.help_builders import make_article
from tests.factories import StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def help_center(live_server):
    cache.clear()
    store = StoreFactory()
    make_article(
        store,
        "How to find your ring size",
        "Wrap a strip of paper around your finger.\n\n<script>window.__owned = 1</script>",
        slug="ring-size",
    )
    return store


def test_the_contact_form_suggests_articles_and_counts_a_contact_sent_anyway(
    page, live_server, help_center
):
    page.goto(f"{live_server.url}/help/contact/")
    page.fill("#id_message", "What ring size should I order?")

    link = page.locator(".help-suggestions a", has_text="How to find your ring size")
    link.wait_for()
    session = page.input_value("input[name='help_session']")
    assert len(session) >= 16
    assert f"hs={session}" in link.get_attribute("href")

    with page.expect_popup() as popup_info:
        link.click()
    article = popup_info.value
    article.wait_for_load_state()
    assert article.locator("[data-testid=help-article] h1").inner_text() == (
        "How to find your ring size"
    )
    assert article.evaluate("window.__owned") is None  # the script in the article never ran
    article.click("button[value=yes]")
    article.wait_for_url("**?voted=thanks")
    article.close()

    page.fill("#id_email", "ann@mail.example")
    page.select_option("#id_reason", index=1)
    page.click("form.help-form button[type=submit]", no_wait_after=True)
    page.wait_for_url("**/contact/sent/**", timeout=30_000)  # the acknowledgement goes out first

    wait_for(lambda: HelpEvent.objects.filter(kind="ticket_opened", help_session=session).exists())
    assert HelpEvent.objects.filter(kind="suggestion_clicked", help_session=session).count() == 1
    assert HelpArticle.objects.get(slug="ring-size").helpful_count == 1
    assert page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []


def test_the_front_page_search_finds_an_article(page, live_server, help_center):
    page.goto(f"{live_server.url}/help/")
    page.fill("#help-q", "finger")
    page.click("form.help-search button[type=submit]")

    page.locator("[data-testid=help-results] a", has_text="How to find your ring size").wait_for()
    assert page.evaluate("window.__cspViolations") == []
