"""A lead changes the priority weights in the browser (a wrong value is refused with its reason
and nothing is saved), then opens the SLA report from the navigation."""

import pytest

from storedesk.accounts.roles import Role
from storedesk.triage.models import PriorityWeights
from tests.browser.conftest import sign_in
from tests.factories import StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(live_server):
    StoreFactory()
    UserFactory(username="lena", roles=[Role.LEAD], first_name="Lena")
    return live_server.url


def test_lead_changes_weights_and_opens_the_sla_report(desk, page):
    url = desk
    sign_in(page, f"{url}/triage/priority/", "lena")
    assert "built-in weights" in page.locator("[data-testid=weights-version]").inner_text()

    page.fill("[id='w-threat.legal']", "1000")
    page.click("button[name=do][value=save]")
    error = page.locator("[data-testid=weights-error]").inner_text()
    assert "threat.legal must be between -100 and 100; 1000 is out of range." in error
    assert page.input_value("[id='w-threat.legal']") == "1000"  # what was typed stays
    assert PriorityWeights.objects.count() == 0  # nothing saved

    page.fill("[id='w-threat.legal']", "50")
    page.fill("#w-note", "lawyers first")
    page.click("button[name=do][value=save]")
    page.wait_for_url(f"{url}/triage/priority/")
    assert "Version 1" in page.locator("[data-testid=weights-version]").inner_text()
    assert "lawyers first" in page.locator("[data-testid=weights-history]").inner_text()
    assert PriorityWeights.objects.get().weights["threat"]["legal"] == 50

    page.click("[data-testid=nav-sla-report]")
    page.wait_for_url(f"{url}/triage/sla/report/")
    assert page.locator("[data-testid=sla-report]").is_visible()
    assert page.evaluate("window.__cspViolations") == []
    # The refused save answered 400 (the browser logs that); nothing else went wrong.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
