"""The public help pages: votes once, policy versions, suggestions, deflection counting."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from storedesk.commerce.queries import policy_path
from storedesk.commerce.services import do_publish_policy
from storedesk.core.events import DomainEvent
from storedesk.desk.models import Ticket
from storedesk.experience.models import HelpArticle, HelpEvent, HelpVote
from storedesk.experience.queries import deflection_report
from tests.experience.help_builders import make_article
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

SESSION = "a1b2c3d4e5f6a7b8c9d0e1f2"


@pytest.fixture
def store():
    store = StoreFactory()
    make_article(
        store,
        "How to find your ring size",
        "Wrap a strip of paper around your finger.",
        slug="ring-size",
    )
    return store


# --- votes


def test_a_visitor_votes_once(client, store):
    client.get("/help/articles/ring-size/")  # sets the visitor's help cookie

    first = client.post("/help/articles/ring-size/vote/", {"helpful": "yes"})
    second = client.post("/help/articles/ring-size/vote/", {"helpful": "no"})

    article = HelpArticle.objects.get(slug="ring-size")
    assert first.status_code == 302
    assert first["Location"].endswith("?voted=thanks")
    assert second["Location"].endswith("?voted=already")
    assert (article.helpful_count, article.not_helpful_count) == (1, 0)
    assert HelpVote.objects.count() == 1
    assert SESSION not in HelpVote.objects.get().voter  # stored hashed


def test_two_visitors_each_count(client, store):
    from django.test import Client

    client.get("/help/articles/ring-size/")
    other = Client()
    other.get("/help/articles/ring-size/")

    client.post("/help/articles/ring-size/vote/", {"helpful": "yes"})
    other.post("/help/articles/ring-size/vote/", {"helpful": "no"})

    article = HelpArticle.objects.get(slug="ring-size")
    assert (article.helpful_count, article.not_helpful_count) == (1, 1)


def test_a_vote_needs_the_csrf_token(store):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    response = strict.post("/help/articles/ring-size/vote/", {"helpful": "yes"})

    assert response.status_code == 403
    assert HelpVote.objects.count() == 0


def test_a_bad_vote_is_not_counted(client, store):
    response = client.post("/help/articles/ring-size/vote/", {"helpful": "maybe"})

    assert response.status_code == 302
    assert HelpVote.objects.count() == 0


# --- policies


@pytest.fixture
def policies(store):
    start = timezone.now() - timedelta(days=100)
    do_publish_policy(store, "returns", "Returns within **30 days**.", start, title="Returns")
    do_publish_policy(
        store, "returns", "Returns within 60 days over the holidays.", start + timedelta(days=50)
    )
    return store


def test_each_policy_version_has_its_own_address(client, policies):
    old = client.get(policy_path("returns", 1))
    new = client.get("/help/policies/returns/v2/")
    current = client.get("/help/policies/returns/")

    assert policy_path("returns", 1) == "/help/policies/returns/v1/"
    assert old.status_code == new.status_code == current.status_code == 200
    assert "<strong>30 days</strong>" in old.content.decode()
    assert "This is not the current version" in old.content.decode()
    assert "60 days" in new.content.decode()
    assert "This is not the current version" not in new.content.decode()
    assert "60 days" in current.content.decode()


@pytest.mark.parametrize(
    "path", ["/help/policies/returns/v9/", "/help/policies/nonsense/v1/", "/help/policies/x/"]
)
def test_an_unknown_policy_or_version_is_404(client, policies, path):
    assert client.get(path).status_code == 404


def test_the_front_page_lists_categories_popular_articles_and_policies(client, policies):
    response = client.get("/help/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Care of jewelry" in body
    assert "How to find your ring size" in body
    assert "/help/policies/returns/" in body


# --- suggestions and deflection


def test_suggest_answers_three_titles_with_urls_escaped(client, store):
    make_article(store, "Ring <b>bold</b> & sizes", "Ring text.", slug="ring-bold")

    response = client.get("/help/suggest", {"q": "ring", "session": SESSION})

    data = json.loads(response.content)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert b"<b>" not in response.content
    assert b"\\u003cb\\u003e" in response.content
    assert {item["title"] for item in data["articles"]} == {
        "How to find your ring size",
        "Ring <b>bold</b> & sizes",
    }
    assert all(f"ref=suggest&hs={SESSION}" in item["url"] for item in data["articles"])
    assert HelpEvent.objects.filter(kind="suggestion_shown", help_session=SESSION).count() == 2


def test_suggest_is_rate_limited(client, store):
    from storedesk.experience.views.help import SUGGEST_LIMIT

    statuses = [
        client.get("/help/suggest", {"q": "ring"}).status_code
        for _ in range(SUGGEST_LIMIT.count + 1)
    ]

    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {200}


def test_suggest_counts_each_article_once_per_session(client, store):
    for typed in ("ring", "ring si", "ring size"):
        client.get("/help/suggest", {"q": typed, "session": SESSION})

    assert HelpEvent.objects.filter(kind="suggestion_shown").count() == 1


def test_a_contact_after_suggestions_counts_as_not_deflected(
    client, store, django_capture_on_commit_callbacks
):
    from storedesk.desk.views.public import new_form_token

    client.get("/help/suggest", {"q": "ring", "session": SESSION, "channel": "form"})
    client.get("/help/suggest", {"q": "ring", "session": "b" * 24, "channel": "form"})
    client.get(f"/help/articles/ring-size/?ref=suggest&hs={'b' * 24}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/help/contact/",
            {
                "email": "ann@mail.example",
                "reason": "other",
                "message": "My ring does not fit.",
                "form_token": new_form_token(),
                "help_session": SESSION,
            },
        )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert DomainEvent.objects.filter(name="contact_after_help").count() == 1
    opened = HelpEvent.objects.get(kind="ticket_opened")
    assert (opened.help_session, opened.ticket_id, opened.channel) == (SESSION, ticket.pk, "form")
    now = timezone.now()
    report = deflection_report(store, now - timedelta(days=1), now + timedelta(minutes=1))
    assert (report.suggestion_sessions, report.contacted_sessions) == (2, 1)
    assert report.deflected_sessions == 1
    assert report.suggestion_clicks == 1
    assert report.views == 1


def test_a_chat_after_suggestions_is_counted_too(client, store, django_capture_on_commit_callbacks):
    client.get("/help/suggest", {"q": "ring", "session": SESSION, "channel": "chat"})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/help/chat/start",
            json.dumps({"text": "Hi, sizing question", "help_session": SESSION}),
            content_type="application/json",
        )

    assert response.status_code == 201
    assert HelpEvent.objects.filter(kind="ticket_opened", channel="chat").count() == 1


def test_a_contact_without_suggestions_is_not_counted(
    client, store, django_capture_on_commit_callbacks
):
    from storedesk.desk.views.public import new_form_token

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/help/contact/",
            {
                "email": "ann@mail.example",
                "reason": "other",
                "message": "Hello.",
                "form_token": new_form_token(),
                "help_session": SESSION,
            },
        )

    assert Ticket.objects.count() == 1
    assert not HelpEvent.objects.filter(kind="ticket_opened").exists()


def test_the_contact_form_has_the_suggestion_box_and_its_script(client, store):
    body = client.get("/help/contact/").content.decode()

    assert 'data-help-suggest="/help/suggest"' in body
    assert 'name="help_session"' in body
    assert "js/help-suggest" in body
    assert "<script>" not in body  # no inline script under the CSP
