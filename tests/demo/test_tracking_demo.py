"""The demo's delay notices: parcels in trouble of the last two weeks are recorded, the last
week's told to their customers, the week before's not (the baseline of the notices page)."""

from io import StringIO

import pytest
from django.core.management import call_command

from storedesk.desk.models import Message
from storedesk.experience.models import ShippingProblem
from storedesk.experience.queries import notice_report

pytestmark = pytest.mark.django_db


def test_the_demo_sends_notices_for_the_last_week_and_keeps_a_week_without():
    call_command("demo", "--orders", "2500", stdout=StringIO())
    out = StringIO()
    call_command("demo-delay-notices", stdout=out)

    problems = list(ShippingProblem.objects.select_related("ticket"))
    notified = [problem for problem in problems if problem.notified_at]
    baseline = [
        problem for problem in problems if problem.skipped_reason == "proactive notices are off"
    ]
    assert notified, "the demo should tell some customers about a late parcel"
    assert baseline, "the demo should keep a week without notices to compare with"
    assert min(p.detected_at for p in notified) > max(p.detected_at for p in baseline)
    for problem in notified:
        sent = Message.objects.get(ticket=problem.ticket, kind=Message.Kind.OUTBOUND)
        assert problem.template_name in {
            "Your parcel is delayed",
            "A problem with your parcel at the carrier",
        }
        assert "[[" not in sent.text
    assert f"Delay notices sent: {len(notified)};" in out.getvalue()
    call_command("demo-delay-notices", stdout=StringIO())  # a second run adds nothing
    assert ShippingProblem.objects.count() == len(problems)
    report = notice_report()
    assert sum(week.notified for week in report.weeks) == len(notified)
