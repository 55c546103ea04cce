"""Help-center search: full text on SQLite (FTS5) and PostgreSQL (tsvector), published only."""

import pytest
from django.db import connection

from storedesk.desk.search import search_terms
from storedesk.experience.models import HelpEvent
from storedesk.experience.queries import _article_hit_ids, search_articles, suggest_articles
from storedesk.experience.services import do_archive_article
from tests.experience.help_builders import make_article
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    store = StoreFactory()
    make_article(
        store,
        "How to find your ring size",
        "Wrap a strip of paper around your finger and measure it in millimeters.",
        slug="ring-size",
    )
    make_article(
        store,
        "Returning an item",
        "You can return unworn jewelry within 30 days for a full refund.",
        slug="returns",
        category="returns-and-exchanges",
    )
    make_article(
        store,
        "Cleaning silver",
        "Polish sterling silver with a soft cloth; avoid chlorine.",
        slug="silver",
        category="jewelry-care",
    )
    return store


def test_words_find_the_article_with_stemming_and_prefixes(store):
    assert [hit.article.slug for hit in search_articles(store, "returned jewelry")] == ["returns"]
    assert [hit.article.slug for hit in search_articles(store, "measuring")] == ["ring-size"]
    assert [hit.article.slug for hit in search_articles(store, "silv")] == ["silver"]


def test_a_title_match_ranks_above_a_body_match(store):
    make_article(store, "Gift wrapping", "Every ring ships in a silver box.", slug="gift")

    slugs = [hit.article.slug for hit in search_articles(store, "silver")]

    assert slugs == ["silver", "gift"]


def test_the_snippet_is_escaped_and_marks_the_words(store):
    make_article(store, "Odd text", "A <b>ring</b> &amp; more", slug="odd")

    hit = next(h for h in search_articles(store, "ring") if h.article.slug == "odd")

    assert "<mark>" in hit.snippet
    assert "<b>" not in hit.snippet


def test_fts_syntax_in_the_query_is_plain_words(store):
    every_word = _article_hit_ids(store, search_terms("ring OR silver"), 10, 0)
    odd = [hit.article.slug for hit in search_articles(store, 'ring" OR title:* NEAR(')]

    assert every_word == []  # "or" is a word that must appear, not an operator
    assert odd == ["ring-size"]  # quotes, columns and NEAR are no syntax error either


def test_a_question_typed_as_a_sentence_finds_the_article_by_its_rare_words(store):
    question = "What ring size should I order for my finger?"

    assert [a.slug for a in suggest_articles(store, question)][:1] == ["ring-size"]
    assert [hit.article.slug for hit in search_articles(store, question)][:1] == ["ring-size"]


def test_archived_and_draft_articles_and_other_stores_are_not_found(store):
    make_article(store, "Ring draft", "Unfinished ring text.", slug="ring-draft", publish=False)
    other = StoreFactory(slug="other-store", name="Other")
    make_article(other, "Ring elsewhere", "Another store's ring text.", slug="ring-else")
    do_archive_article(search_articles(store, "finger")[0].article, actor=None)

    assert search_articles(store, "ring") == []


def test_an_edit_is_found_once_published(store):
    from storedesk.experience.services import do_save_article
    from tests.experience.help_builders import category

    article = search_articles(store, "cloth")[0].article
    do_save_article(
        store,
        actor=None,
        article=article,
        title="Cleaning silver",
        body="Use a polishing cloth made for tarnish.",
        category=category("jewelry-care"),
        slug="silver",
    )
    assert search_articles(store, "tarnish") == []  # saved, not yet published

    do_save_article(
        store,
        actor=None,
        article=article,
        title="Cleaning silver",
        body="Use a polishing cloth made for tarnish.",
        category=category("jewelry-care"),
        slug="silver",
        publish=True,
    )
    assert [h.article.slug for h in search_articles(store, "tarnish")] == ["silver"]
    assert search_articles(store, "chlorine") == []


def test_suggestions_are_at_most_three(store):
    for n in range(5):
        make_article(store, f"Silver question {n}", "About silver.", slug=f"silver-{n}")

    assert len(suggest_articles(store, "silver")) == 3


def test_the_search_page_records_the_search_and_its_result_count(client, store):
    found = client.get("/help/search/", {"q": "ring size"})
    empty = client.get("/help/search/", {"q": "engraving"})

    assert found.status_code == 200
    assert "How to find your ring size" in found.content.decode()
    assert 'data-testid="help-no-results"' in empty.content.decode()
    searches = list(
        HelpEvent.objects.filter(kind="search").order_by("pk").values_list("query", "result_count")
    )
    assert searches == [("ring size", 1), ("engraving", 0)]


def test_postgres_uses_the_stored_vector(store):
    if connection.vendor != "postgresql":
        pytest.skip("the tsvector column and its GIN index exist on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM experience_helparticle"
            " WHERE search_vector @@ to_tsquery('english', 'refund')"
        )
        assert cursor.fetchone()[0] == 1
    assert [h.article.slug for h in search_articles(store, "refunds")] == ["returns"]
