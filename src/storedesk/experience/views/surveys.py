"""Survey pages: the customer's answer page (no login, US English) and the desk's results and
survey texts pages.

Why the score is recorded on POST, not on the GET of the e-mail link: mail security scanners
(Outlook Safe Links, Mimecast, Proofpoint) open every link of a message before the customer
does, so recording on GET would record the first of the five links, a 1, for many customers.
The link's GET shows the score preselected in a form that a small same-origin script submits
at once (allowed by the CSP, unlike an inline script); without script, one more click. The
first answer wins: a replayed or second submission shows the recorded answer.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from storedesk.core.pagination import paginate
from storedesk.core.permissions import permission_required
from storedesk.experience import queries
from storedesk.experience.forms import SurveyAnswerForm, SurveyCommentForm, SurveyTextsForm
from storedesk.experience.models import SCORE_RANGE, SurveyKind
from storedesk.experience.services import (
    SurveyClosed,
    definition_for,
    do_add_survey_comment,
    do_record_survey_answer,
    do_update_survey_texts,
)
from storedesk.experience.services.surveys import SCALE_WORDS

COMMENTS_PER_PAGE = 25


def _page(request, template: str, invitation, *, status: int = 200, **context):
    definition = definition_for(invitation.kind) if invitation else None
    low, high = SCORE_RANGE[SurveyKind(invitation.kind)] if invitation else (0, 0)
    return render(
        request,
        f"experience/surveys/{template}",
        {
            "invitation": invitation,
            "store": invitation.store if invitation else None,
            "definition": definition,
            "scores": range(low, high + 1),
            "scale_words": SCALE_WORDS[SurveyKind(invitation.kind)] if invitation else ("", ""),
            **context,
        },
        status=status,
    )


def _link_score(request) -> int | None:
    try:
        return int(request.GET.get("score", ""))
    except ValidationError:
        return None


@require_http_methods(["GET", "POST"])
def survey_answer(request, token: str):
    """The page behind a survey e-mail's score links: record the first answer, then a comment."""
    invitation = queries.invitation_for_token(token)
    if invitation is None or invitation.sent_at is None:
        return _page(request, "invalid.html", None, status=404)
    response = getattr(invitation, "response", None)
    if response is not None:
        comment_form = SurveyCommentForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and comment_form.is_valid() and not response.comment:
            do_add_survey_comment(response, comment_form.cleaned_data["comment"])
            return _page(request, "thanks.html", invitation, response=response, commented=True)
        return _page(request, "answered.html", invitation, response=response, form=comment_form)
    if invitation.expires_at <= timezone.now():
        return _page(request, "expired.html", invitation, status=410)
    if request.method == "GET":
        low, high = SCORE_RANGE[SurveyKind(invitation.kind)]
        score = _link_score(request)
        chosen = score if score is not None and low <= score <= high else None
        form = SurveyAnswerForm(initial={"score": chosen})
        return _page(request, "answer.html", invitation, form=form, chosen=chosen)
    form = SurveyAnswerForm(request.POST)
    if not form.is_valid():
        return _page(request, "answer.html", invitation, form=form, chosen=None, status=400)
    try:
        answer = do_record_survey_answer(
            invitation, form.cleaned_data["score"], comment=form.cleaned_data["comment"]
        )
    except SurveyClosed:
        return _page(request, "expired.html", invitation, status=410)
    except ValidationError:
        return _page(request, "answer.html", invitation, form=form, chosen=None, status=400)
    if not answer.created:
        return _page(
            request, "answered.html", invitation, response=answer.response, form=SurveyCommentForm()
        )
    return _page(
        request,
        "thanks.html",
        invitation,
        response=answer.response,
        form=SurveyCommentForm(),
        commented=bool(answer.response.comment),
    )


@permission_required("experience.view_survey_results")
def survey_results_page(request):
    """CSAT, NPS and response rate for a range of days, by month and by agent, intent,
    channel, template and resolution, with the customers' comments."""
    error, status = "", 200
    try:
        period = queries.results_range(request.GET.get("from"), request.GET.get("to"))
    except ValueError as problem:
        error, status = str(problem), 400
        period = queries.results_range(None, None)
    results = queries.survey_results(period)
    return render(
        request,
        "experience/surveys/results.html",
        {
            "results": results,
            "period": period,
            "breakdowns": [
                (queries.BREAKDOWN_LABELS[name], results.breakdowns[name])
                for name in queries.BREAKDOWNS
            ],
            "page": paginate(request, queries.survey_comments(period), COMMENTS_PER_PAGE),
            "query": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            "error": error,
        },
        status=status,
    )


@permission_required("experience.view_surveydefinition")
def survey_texts_page(request):
    """The texts of the CSAT and NPS surveys, with who changed them last."""
    for kind in SurveyKind:
        definition_for(kind)
    return render(
        request,
        "experience/surveys/texts.html",
        {"definitions": queries.survey_definitions()},
    )


@require_http_methods(["GET", "POST"])
@permission_required("experience.change_surveydefinition")
def survey_texts_edit(request, kind: str):
    """Edit one survey's texts (a lead's page); each save is a new version."""
    if kind not in SurveyKind.values:
        raise Http404("no such survey")
    definition = definition_for(kind)
    form = SurveyTextsForm(request.POST or None, instance=definition)
    saved = False
    if request.method == "POST" and form.is_valid():
        definition = do_update_survey_texts(kind, form.cleaned_data, actor=request.user)
        form, saved = SurveyTextsForm(instance=definition), True
    return render(
        request,
        "experience/surveys/texts_edit.html",
        {"definition": definition, "form": form, "saved": saved},
        status=400 if form.errors else 200,
    )
