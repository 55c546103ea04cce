"""The help center: public pages for customers (US English, no login) and the desk's pages
where the team writes articles and reads the deflection report."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from storedesk.core.pagination import paginate, render_list
from storedesk.core.permissions import check_permissions, permission_required
from storedesk.desk import throttle
from storedesk.desk.views.public import widget_endpoint
from storedesk.experience import queries
from storedesk.experience.forms import (
    ArticleEditForm,
    ArticleFilterForm,
    ArticlePreviewForm,
    ArticleViewForm,
    HelpSearchForm,
    HelpVoteForm,
    PublishVersionForm,
    ReportPeriodForm,
)
from storedesk.experience.help_markdown import render_markdown
from storedesk.experience.models import HelpArticle
from storedesk.experience.services import (
    HelpArticleError,
    clean_help_session,
    do_archive_article,
    do_publish_article,
    do_record_search,
    do_record_suggestions,
    do_record_view,
    do_save_article,
    do_vote,
    voter_key,
)

HELP_COOKIE = "sd_help"
HELP_COOKIE_AGE = 365 * 24 * 3600
SEARCH_PER_PAGE = 20
CATEGORY_PER_PAGE = 30
DESK_PER_PAGE = 50
VERSIONS_PER_PAGE = 20
SUGGEST_LIMIT = throttle.Limit("help-suggest", 120, 60)
SEARCH_LIMIT = throttle.Limit("help-search", 60, 60)
VOTE_LIMIT = throttle.Limit("help-vote", 30, 3600)


def _store_or_404():
    store = queries.help_store()
    if store is None:
        raise Http404
    return store


def _visitor(request, response: HttpResponse | None = None) -> str:
    """The visitor's help cookie (a random token; set on the first article they read)."""
    token = request.COOKIES.get(HELP_COOKIE, "")
    if clean_help_session(token):
        return token
    token = secrets.token_urlsafe(24)
    if response is not None:
        response.set_cookie(
            HELP_COOKIE, token, max_age=HELP_COOKIE_AGE, httponly=True, samesite="Lax"
        )
    return ""


def _article_url(article, *, session: str = "") -> str:
    url = reverse("experience:help_article", args=[article.slug])
    return f"{url}?ref=suggest&hs={session}" if session else url


# --- public pages ----------------------------------------------------------------------------


@require_GET
def help_home(request):
    """The help center's front page: the categories, the most read articles, a search box."""
    store = _store_or_404()
    return render(
        request,
        "experience/help/home.html",
        {
            "store": store,
            "categories": queries.help_categories_with_counts(store),
            "popular": queries.popular_articles(store),
            "policies": queries.policies_in_force_now(store, timezone.now()),
        },
    )


@require_GET
def help_search(request):
    """Articles matching the customer's words, best first, one page at a time."""
    store = _store_or_404()
    form = HelpSearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    page = request.GET.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) < 50 else 1
    hits, refused = [], False
    if query:
        refused = throttle.check(SEARCH_LIMIT, throttle.client_ip(request)) is not None
        if not refused:
            found = queries.search_articles(
                store, query, limit=SEARCH_PER_PAGE + 1, offset=(number - 1) * SEARCH_PER_PAGE
            )
            hits = found[:SEARCH_PER_PAGE]
            if number == 1:
                do_record_search(store, query=query, result_count=len(found))
    return render(
        request,
        "experience/help/search.html",
        {
            "store": store,
            "q": query,
            "hits": hits,
            "number": number,
            "has_next": len(hits) == SEARCH_PER_PAGE and bool(hits),
            "refused": refused,
        },
        status=429 if refused else 200,
    )


def _json(data: dict, status: int = 200) -> HttpResponse:
    """JSON with <, > and & escaped, so no text in it can close a tag if it lands in HTML."""
    body = json.dumps(data).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return HttpResponse(body, content_type="application/json", status=status)


@widget_endpoint(methods=("GET",), needs_session=False)
def help_suggest(request):
    """Up to three articles for what a customer is typing (contact form, chat widget)."""
    refusal = throttle.check(SUGGEST_LIMIT, throttle.client_ip(request))
    if refusal:
        response = _json(
            {"code": "rate_limited", "message": "Too many requests.", "articles": []}, 429
        )
        response["Retry-After"] = str(refusal.retry_after)
        return response
    store = queries.help_store()
    form = HelpSearchForm(request.GET)
    if store is None or not form.is_valid():
        return _json({"articles": []})
    session = clean_help_session(form.cleaned_data["session"])
    articles = queries.suggest_articles(store, form.cleaned_data["q"])
    do_record_suggestions(
        store,
        query=form.cleaned_data["q"],
        article_ids=[article.pk for article in articles],
        help_session=session,
        channel=form.cleaned_data["channel"] or "form",
    )
    return _json(
        {
            "articles": [
                {
                    "title": article.title,
                    "url": request.build_absolute_uri(_article_url(article, session=session)),
                }
                for article in articles
            ]
        }
    )


@require_GET
def help_category(request, slug):
    """The published articles of one category."""
    store = _store_or_404()
    category = next((c for c in queries.help_categories() if c.slug == slug), None)
    if category is None:
        raise Http404
    page = paginate(request, queries.articles_in_category(store, category), CATEGORY_PER_PAGE)
    return render(
        request,
        "experience/help/category.html",
        {"store": store, "category": category, "page": page},
    )


@require_GET
def help_article(request, slug):
    """One published article, with 'did this answer your question?'."""
    store = _store_or_404()
    article = queries.published_article(store, slug)
    if article is None:
        raise Http404
    view = ArticleViewForm(request.GET)
    session, from_suggestion = "", False
    if view.is_valid():
        session = clean_help_session(view.cleaned_data["hs"])
        from_suggestion = view.cleaned_data["ref"] == "suggest"
    do_record_view(article, help_session=session, from_suggestion=from_suggestion)
    response = render(
        request,
        "experience/help/article.html",
        {
            "store": store,
            "article": article,
            "version": article.current_version,
            "voted": request.GET.get("voted", ""),
        },
    )
    _visitor(request, response)
    return response


@require_POST
def help_vote(request, slug):
    """A customer answers 'did this answer your question?' (once per visitor)."""
    store = _store_or_404()
    article = queries.published_article(store, slug)
    if article is None:
        raise Http404
    form = HelpVoteForm(request.POST)
    if not form.is_valid():
        return redirect(reverse("experience:help_article", args=[slug]))
    ip = throttle.client_ip(request)
    if throttle.check(VOTE_LIMIT, ip):
        return redirect(reverse("experience:help_article", args=[slug]) + "?voted=later")
    visitor = _visitor(request) or f"ip:{ip}"
    counted = do_vote(article, voter=voter_key(visitor), helpful=form.cleaned_data["helpful"])
    state = "thanks" if counted else "already"
    return redirect(reverse("experience:help_article", args=[slug]) + f"?voted={state}")


@require_GET
def help_policy(request, kind):
    """The version of a store policy in force today, with links to the earlier ones."""
    store = _store_or_404()
    policy = queries.public_policy(store, kind, timezone.now())
    if policy is None:
        raise Http404
    return _policy_page(request, store, policy, current=True)


@require_GET
def help_policy_version(request, kind, version):
    """Exactly one version of a store policy, at a stable address for evidence and e-mails."""
    store = _store_or_404()
    policy = queries.public_policy_version(store, kind, version)
    if policy is None:
        raise Http404
    current = queries.public_policy(store, kind, timezone.now())
    return _policy_page(
        request, store, policy, current=current is not None and current.pk == policy.pk
    )


def _policy_page(request, store, policy, *, current: bool):
    return render(
        request,
        "experience/help/policy.html",
        {
            "store": store,
            "policy": policy,
            "body": render_markdown(policy.body),
            "current": current,
            "history": queries.policy_history(store, policy.kind),
        },
    )


# --- the desk's pages ------------------------------------------------------------------------


@permission_required("experience.view_helparticle")
def desk_article_list(request):
    """Every help article, newest edit first, filtered by category and status."""
    store = queries.help_store()
    filters = ArticleFilterForm(request.GET)
    category = status = ""
    if filters.is_valid():
        chosen = filters.cleaned_data["category"]
        category = chosen.slug if chosen else ""
        status = filters.cleaned_data["status"]
    page = paginate(
        request, queries.desk_articles(store, category=category, status=status), DESK_PER_PAGE
    )
    return render_list(
        request,
        "experience/help/desk_list.html",
        "experience/help/desk_list.html#results",
        {"filters": filters, "page": page, "store": store},
    )


def _save(request, form, store, article=None):
    data = form.cleaned_data
    return do_save_article(
        store,
        actor=request.user,
        article=article,
        title=data["title"],
        slug=data["slug"],
        category=data["category"],
        body=data["body"],
        note=data["note"],
        publish=data["publish"] and request.user.has_perm("experience.change_helparticle"),
    )


@permission_required("experience.add_helparticle")
@require_http_methods(["GET", "POST"])
def desk_article_new(request):
    """Write a new article (its version 1)."""
    store = queries.help_store()
    form = ArticleEditForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and store is not None:
        try:
            version = _save(request, form, store)
        except HelpArticleError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Saved as version %(number)d.") % {"number": 1})
            return redirect("experience:desk_help_article", pk=version.article_id)
    return render(
        request,
        "experience/help/desk_edit.html",
        {"form": form, "article": None, "page": None, "store": store},
    )


@permission_required("experience.view_helparticle")
@require_http_methods(["GET", "POST"])
def desk_article_edit(request, pk):
    """One article: its editor (a save is a new version) and its version history."""
    try:
        article = queries.desk_article(pk)
    except HelpArticle.DoesNotExist as missing:
        raise Http404 from missing
    latest = queries.latest_version(article)
    if request.method == "POST":
        check_permissions(request.user, ("experience.add_helparticle",))
        form = ArticleEditForm(request.POST)
        if form.is_valid():
            try:
                version = _save(request, form, article.store, article)
            except HelpArticleError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, _("Saved as version %(number)d.") % {"number": version.number}
                )
                return redirect("experience:desk_help_article", pk=article.pk)
    else:
        form = ArticleEditForm(
            initial={
                "title": latest.title if latest else article.title,
                "slug": article.slug,
                "category": article.category_id,
                "body": latest.body_markdown if latest else "",
            }
        )
    page = paginate(request, queries.article_versions(article), VERSIONS_PER_PAGE)
    return render(
        request,
        "experience/help/desk_edit.html",
        {"form": form, "article": article, "latest": latest, "page": page},
    )


@permission_required("experience.view_helparticle")
@require_POST
def desk_article_preview(request):
    """The Markdown as customers would see it: rendered and sanitized (an htmx fragment)."""
    form = ArticlePreviewForm(request.POST)
    body = form.cleaned_data["body"] if form.is_valid() else ""
    return render(
        request, "experience/help/desk_edit.html#preview", {"preview": render_markdown(body)}
    )


@permission_required("experience.change_helparticle")
@require_POST
def desk_article_publish(request, pk):
    """Publish one version of an article (the newest, or an older one to roll back)."""
    try:
        article = queries.desk_article(pk)
    except HelpArticle.DoesNotExist as missing:
        raise Http404 from missing
    form = PublishVersionForm(request.POST)
    version = (
        article.versions.filter(number=form.cleaned_data["version"]).first()
        if form.is_valid()
        else None
    )
    if version is None:
        messages.error(request, _("Choose a version to publish."))
    else:
        do_publish_article(article, version, actor=request.user)
        messages.success(
            request, _("Version %(number)d is now published.") % {"number": version.number}
        )
    return redirect("experience:desk_help_article", pk=article.pk)


@permission_required("experience.change_helparticle")
@require_POST
def desk_article_archive(request, pk):
    """Take an article off the help center."""
    try:
        article = queries.desk_article(pk)
    except HelpArticle.DoesNotExist as missing:
        raise Http404 from missing
    do_archive_article(article, actor=request.user)
    messages.success(request, _("The article is archived: customers no longer see it."))
    return redirect("experience:desk_help_article", pk=article.pk)


@permission_required("experience.view_helpevent")
def desk_help_report(request):
    """Deflection: searches, views, votes, and visitors who found an answer before writing."""
    store = queries.help_store()
    form = ReportPeriodForm(request.GET)
    days = (form.cleaned_data["days"] if form.is_valid() else None) or 30
    end = timezone.now()
    start = end - timedelta(days=days)
    report = queries.deflection_report(store, start, end) if store else None
    return render(
        request,
        "experience/help/desk_report.html",
        {
            "form": form,
            "report": report,
            "days": days,
            "articles": queries.article_report_rows(store) if store else [],
        },
    )
