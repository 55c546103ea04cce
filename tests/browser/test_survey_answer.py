"""One click in the survey e-mail: the customer's browser opens the link, the page submits the
preselected score by itself (a same-origin script under the CSP) and the answer is recorded
once; the comment follows on the thank-you page."""

import pytest

from storedesk.experience.models import SurveyResponse
from tests.desk.builders import make_ticket
from tests.experience.conftest import link_path, solve
from tests.factories import CustomerFactory, StoreFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_one_click_records_the_score_and_then_the_comment(page, live_server, mailoutbox):
    customer = CustomerFactory(store=StoreFactory(), email="olivia@mail.example")
    ticket = make_ticket(requester=customer.email)
    mailoutbox.clear()
    solve(ticket)  # the outbox handler surveys it at once on commit (tasks run immediately)
    [message] = mailoutbox

    page.goto(live_server.url + link_path(message, 5))

    page.wait_for_selector("[data-testid=survey-thanks]")
    assert page.text_content("[data-testid=survey-score]").strip() == "5"
    page.fill("#survey-comment", "Quick and kind, thank you!")
    page.click("[data-testid=survey-comment-form] button[type=submit]")
    page.wait_for_selector("text=We also received your comment")
    answer = SurveyResponse.objects.get()
    assert (answer.score, answer.comment) == (5, "Quick and kind, thank you!")
    assert page.evaluate("window.__cspViolations") == []
    assert page.console_errors == []
