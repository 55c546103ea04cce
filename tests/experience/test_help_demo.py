"""The demo's help center: real-looking articles in every category, published policies and a
history of use, wiped by a reset."""

from io import StringIO

import pytest
from django.core.management import call_command

from storedesk.demo.loader import demo_store
from storedesk.experience.models import HelpArticle, HelpCategory, HelpEvent

pytestmark = pytest.mark.django_db
SMALL = ("--orders", "300", "--months", "1", "--end", "2026-06-30")


def _demo(*args) -> None:
    call_command("demo", *args, stdout=StringIO())


def test_the_demo_help_center_has_articles_policies_and_history(client):
    _demo(*SMALL)

    store = demo_store()
    published = HelpArticle.objects.filter(store=store, status="published")
    assert published.count() >= 25
    assert set(published.values_list("category__slug", flat=True)) == set(
        HelpCategory.objects.values_list("slug", flat=True)
    )
    assert published.filter(versions__number=2).exists()
    kinds = set(HelpEvent.objects.filter(store=store).values_list("kind", flat=True))
    assert kinds == {"view", "search", "suggestion_shown", "suggestion_clicked", "ticket_opened"}
    assert HelpEvent.objects.filter(kind="search", result_count=0).exists()
    home = client.get("/help/").content.decode()
    assert "/help/policies/returns/" in home
    assert "/help/policies/warranty/" in home
    assert client.get("/help/policies/returns/v2/").status_code == 200
    assert client.get("/help/articles/how-to-find-your-ring-size/").status_code == 200
    assert "How to find your ring size" in client.get("/help/search/?q=ring+size").content.decode()


def test_the_demo_reset_rebuilds_the_help_center_once():
    _demo(*SMALL)
    _demo(*SMALL, "--reset")

    assert HelpArticle.objects.filter(slug="how-to-find-your-ring-size").count() == 1
