"""Help articles for the tests, written through the service like the desk does."""

from storedesk.experience.models import HelpCategory
from storedesk.experience.services import do_save_article, ensure_help_categories


def category(slug: str = "sizing") -> HelpCategory:
    ensure_help_categories()
    return HelpCategory.objects.get(slug=slug)


def make_article(store, title: str, body: str, *, slug: str = "", publish: bool = True, **kw):
    """A published (by default) article at version 1; returns the article."""
    version = do_save_article(
        store,
        actor=kw.pop("actor", None),
        title=title,
        body=body,
        slug=slug,
        category=category(kw.pop("category", "sizing")),
        publish=publish,
    )
    return version.article
