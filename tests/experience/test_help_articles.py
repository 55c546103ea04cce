"""Help articles: sanitized Markdown, versions, publishing and archiving."""

import pytest

from storedesk.audit.models import AuditEntry
from storedesk.experience.help_markdown import render_markdown
from storedesk.experience.models import HelpArticle
from storedesk.experience.services import (
    HelpArticleError,
    do_archive_article,
    do_publish_article,
    do_save_article,
)
from tests.experience.help_builders import category, make_article
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("Hello\n\n<script>alert('x')</script>", ["<script", "alert("]),
        ('<img src="https://x.example/a.png" onerror="alert(1)">', ["onerror", "alert("]),
        ('<a href="javascript:alert(1)">click</a>', ["javascript:"]),
        ("[click](javascript:alert(1))", ['href="javascript:']),
        ('<p style="display:none" onclick="steal()">hi</p>', ["style=", "onclick", "steal"]),
        ('<iframe src="https://evil.example"></iframe>', ["<iframe", "evil.example"]),
        ('<svg onload="alert(1)"><circle/></svg>', ["<svg", "onload"]),
        ('<form action="https://evil.example"><input name="card"></form>', ["<form", "<input"]),
    ],
)
def test_markdown_is_rendered_without_scripts_handlers_or_javascript_links(markdown, forbidden):
    html = render_markdown(markdown)

    for piece in forbidden:
        assert piece not in html


def test_markdown_keeps_formatting_tables_and_safe_links():
    html = render_markdown(
        "# Title\n\n**Bold** and [our site](https://tinypearl.example)\n\n"
        "| Size | mm |\n|---|---|\n| 6 | 16.5 |"
    )

    assert "<h2>Title</h2>" in html  # the page's own title is its only h1
    assert "<strong>Bold</strong>" in html
    assert 'href="https://tinypearl.example"' in html
    assert 'rel="noopener noreferrer"' in html
    assert "<td>16.5</td>" in html


def test_the_stored_version_is_sanitized_and_the_public_page_shows_it_so(client):
    store = StoreFactory()
    make_article(
        store,
        "Ring sizes",
        "Measure your finger.\n\n<script>document.cookie</script>\n\n"
        '<img src="https://cdn.example/x.png" onerror="alert(1)">',
        slug="ring-sizes",
    )

    response = client.get("/help/articles/ring-sizes/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Measure your finger." in body
    assert "document.cookie" not in body
    assert "onerror" not in body


def test_each_save_is_a_new_version_and_customers_read_the_published_one(client):
    store = StoreFactory()
    article = make_article(store, "Ring sizes", "Version one text.", slug="ring-sizes")

    second = do_save_article(
        store,
        actor=None,
        article=article,
        title="Ring sizes, updated",
        body="Version two text.",
        category=category("sizing"),
        slug="ring-sizes",
        note="clearer",
    )

    article.refresh_from_db()
    assert second.number == 2
    assert list(article.versions.values_list("number", flat=True).order_by("number")) == [1, 2]
    assert article.current_version.number == 1
    assert "Version one text." in client.get("/help/articles/ring-sizes/").content.decode()

    do_publish_article(article, second, actor=None)

    article.refresh_from_db()
    page = client.get("/help/articles/ring-sizes/").content.decode()
    assert article.current_version_id == second.pk
    assert article.title == "Ring sizes, updated"
    assert "Version two text." in page
    assert "Version one text." not in page
    assert AuditEntry.objects.filter(action="help_article.published").count() == 1


def test_an_archived_article_is_gone_from_the_public_pages(client):
    store = StoreFactory()
    article = make_article(store, "Old promo", "Gone soon.", slug="old-promo")

    do_archive_article(article, actor=None)

    assert HelpArticle.objects.get(pk=article.pk).status == "archived"
    assert client.get("/help/articles/old-promo/").status_code == 404


def test_a_draft_is_not_public(client):
    store = StoreFactory()
    make_article(store, "Draft", "Not yet.", slug="draft", publish=False)

    assert client.get("/help/articles/draft/").status_code == 404


def test_two_articles_cannot_share_an_address():
    store = StoreFactory()
    make_article(store, "Ring sizes", "One.", slug="ring-sizes")

    with pytest.raises(HelpArticleError):
        make_article(store, "Ring sizes again", "Two.", slug="ring-sizes")
