"""The help center in the desk: the article list, the editor, publishing, the report."""

from datetime import timedelta

import pytest
from django.utils import timezone

from storedesk.accounts.roles import Role
from storedesk.experience.models import HelpArticle, HelpEvent
from storedesk.experience.services import do_record_search, do_vote, voter_key
from tests.experience.help_builders import category, make_article
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead_client(client, make_user):
    client.force_login(make_user(Role.LEAD, username="help-lead"))
    return client


@pytest.mark.parametrize("size", [1, 12])
def test_the_article_list_costs_the_same_at_any_size(
    lead_client, django_assert_max_num_queries, size
):
    store = StoreFactory()
    for n in range(size):
        make_article(store, f"Article {n}", f"Text {n}.", slug=f"article-{n}")
    lead_client.get("/desk/help-center/")  # warm the session and permission caches

    with django_assert_max_num_queries(9):
        response = lead_client.get("/desk/help-center/")

    assert response.status_code == 200
    assert response.content.decode().count("/desk/help-center/") >= size


@pytest.mark.parametrize("size", [1, 12])
def test_the_public_front_page_and_a_category_cost_the_same_at_any_size(
    client, django_assert_max_num_queries, size
):
    store = StoreFactory()
    for n in range(size):
        make_article(store, f"Ring {n}", f"Ring text {n}.", slug=f"ring-{n}")

    with django_assert_max_num_queries(5):
        home = client.get("/help/")
    with django_assert_max_num_queries(5):
        listing = client.get("/help/categories/sizing/")

    assert home.status_code == listing.status_code == 200
    assert listing.content.decode().count("/help/articles/ring-") == size


def test_the_list_filters_by_category_and_status(lead_client):
    store = StoreFactory()
    make_article(store, "Ring sizes", "Text.", slug="ring-sizes")
    make_article(store, "Draft care", "Text.", slug="care", category="jewelry-care", publish=False)

    sizing = lead_client.get("/desk/help-center/", {"category": "sizing"}).content.decode()
    drafts = lead_client.get("/desk/help-center/", {"status": "draft"}).content.decode()

    assert "Ring sizes" in sizing
    assert "Draft care" not in sizing
    assert "Draft care" in drafts
    assert "Ring sizes" not in drafts


def test_a_lead_writes_edits_and_publishes_an_article(lead_client, client):
    StoreFactory()
    created = lead_client.post(
        "/desk/help-center/new/",
        {
            "title": "Caring for pearls",
            "category": category("jewelry-care").pk,
            "body": "Wipe pearls with a soft cloth.<script>alert(1)</script>",
            "publish": "on",
        },
    )
    article = HelpArticle.objects.get()
    assert created.status_code == 302
    assert (article.slug, article.status, article.current_version.number) == (
        "caring-for-pearls",
        "published",
        1,
    )
    assert "<script" not in article.current_version.body_html

    lead_client.post(
        f"/desk/help-center/{article.pk}/",
        {
            "title": "Caring for pearls",
            "slug": "caring-for-pearls",
            "category": category("jewelry-care").pk,
            "body": "Pearls go on last, after perfume.",
            "note": "order of dressing",
        },
    )
    assert "soft cloth" in client.get("/help/articles/caring-for-pearls/").content.decode()

    lead_client.post(f"/desk/help-center/{article.pk}/publish/", {"version": 2})

    assert "after perfume" in client.get("/help/articles/caring-for-pearls/").content.decode()
    history = lead_client.get(f"/desk/help-center/{article.pk}/").content.decode()
    assert "order of dressing" in history


def test_an_agent_reads_but_cannot_save(client, make_user):
    store = StoreFactory()
    article = make_article(store, "Ring sizes", "Text.", slug="ring-sizes")
    client.force_login(make_user(Role.AGENT, username="help-agent"))

    page = client.get(f"/desk/help-center/{article.pk}/")
    saved = client.post(
        f"/desk/help-center/{article.pk}/",
        {"title": "Changed", "category": category().pk, "body": "Changed."},
    )

    assert page.status_code == 200
    assert 'data-testid="help-editor"' not in page.content.decode()
    assert saved.status_code == 403
    assert article.versions.count() == 1


def test_the_preview_is_sanitized(lead_client):
    response = lead_client.post(
        "/desk/help-center/preview/",
        {"body": "**Hi** <img src=x onerror=alert(1)>"},
        HTTP_HX_REQUEST="true",
    )

    body = response.content.decode()
    assert "<strong>Hi</strong>" in body
    assert "onerror" not in body


def test_the_report_counts_searches_views_votes_and_deflection(lead_client, client):
    store = StoreFactory()
    article = make_article(store, "Ring sizes", "Measure.", slug="ring-sizes")
    do_record_search(store, query="engraving", result_count=0)
    do_record_search(store, query="Ring size", result_count=1)
    do_vote(article, voter=voter_key("a"), helpful=True)
    do_vote(article, voter=voter_key("b"), helpful=False)
    do_vote(article, voter=voter_key("c"), helpful=True)
    for session in ("s" * 20, "t" * 20):
        client.get("/help/suggest", {"q": "ring", "session": session})
    HelpEvent.objects.create(
        store=store,
        kind="ticket_opened",
        help_session="s" * 20,
        ticket_id=1,
        created_at=timezone.now(),
    )
    HelpEvent.objects.create(  # long ago: outside the period
        store=store, kind="search", query="old", created_at=timezone.now() - timedelta(days=60)
    )

    page = lead_client.get("/desk/help-center/report/").content.decode()

    assert 'data-testid="report-searches">2<' in page
    assert 'data-testid="report-suggested">2<' in page
    assert 'data-testid="report-contacted">1<' in page
    assert 'data-testid="report-deflected">1 (50%)<' in page
    assert "engraving" in page
    assert "67% (2/3)" in page


def test_the_article_and_search_pages_cost_a_fixed_number_of_queries(
    client, django_assert_num_queries
):
    store = StoreFactory()
    for n in range(6):
        make_article(store, f"Ring care {n}", f"Ring text {n}.", slug=f"ring-{n}")

    # store, article with its version; the view's counter, its event (in a savepoint pair)
    with django_assert_num_queries(6):
        article = client.get("/help/articles/ring-1/")
    # store, the ranked ids, their rows, the search event
    with django_assert_num_queries(4):
        search = client.get("/help/search/", {"q": "ring"})

    assert article.status_code == search.status_code == 200
    assert search.content.decode().count("/help/articles/ring-") == 6
