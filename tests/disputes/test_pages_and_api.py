"""The workspace pages and the API, through the Django test client, with query counts pinned."""

import io
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from storedesk.accounts.roles import Role
from storedesk.disputes.models import DisputeReminder, EvidencePack
from storedesk.disputes.services import do_assemble_pack, do_assign_dispute, do_send_reminders
from tests.disputes.builders import disputed_order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def specialist(make_user):
    return make_user(Role.PAYMENTS, username="specialist")


@pytest.fixture
def specialist_client(client, specialist):
    client.force_login(specialist)
    return client


@pytest.fixture
def api_client(client, specialist):
    from storedesk.accounts.services import do_create_api_token

    _token, key = do_create_api_token(specialist, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


@pytest.fixture
def spread():
    """Disputes due later, urgent, overdue and without a deadline, created in that order."""
    store = StoreFactory()
    return {
        "later": disputed_order(store=store, due_in=timedelta(days=12)),
        "urgent": disputed_order(
            store=store, due_in=timedelta(hours=3), reason="fraudulent", network_reason_code="10.4"
        ),
        "overdue": disputed_order(store=store, due_in=timedelta(hours=-5)),
        "none": disputed_order(
            store=store,
            due_in=None,
            gateway="paypal",
            reason="OTHER",
            network_reason_code="",
            status="WAITING_FOR_SELLER_RESPONSE",
        ),
    }


def test_the_queue_puts_overdue_then_urgent_first(specialist_client, spread):
    response = specialist_client.get("/disputes/")

    assert response.status_code == 200
    rows = [(dispute.pk, urgency) for dispute, urgency in response.context["rows"]]
    assert rows == [
        (spread["overdue"].pk, "overdue"),
        (spread["urgent"].pk, "urgent"),
        (spread["later"].pk, "later"),
        (spread["none"].pk, "none"),
    ]
    assert response.context["team_zone"] == "Asia/Ho_Chi_Minh"


def test_the_queue_filters_by_gateway_family_owner_and_amount(
    specialist_client, specialist, spread
):
    do_assign_dispute(spread["later"], specialist, actor=specialist)

    def ids(query):
        return [d.pk for d, _ in specialist_client.get("/disputes/", query).context["rows"]]

    assert ids({"gateway": "paypal"}) == [spread["none"].pk]
    assert ids({"family": "fraud"}) == [spread["urgent"].pk]
    assert ids({"owner": "me"}) == [spread["later"].pk]
    assert ids({"min_amount": "90"}) == []
    assert ids({"min_amount": "not a number"}) == [
        spread[k].pk for k in ("overdue", "urgent", "later", "none")
    ]


@pytest.mark.parametrize("size", [2, 12])
def test_the_queue_reads_the_same_queries_whatever_its_length(
    specialist_client, django_assert_num_queries, size
):
    store = StoreFactory()
    for n in range(size):
        disputed_order(store=store, due_in=timedelta(days=n + 1))
    # session, user, permissions x2, owners list, count, page, calendar, store, reminders, warnings
    with django_assert_num_queries(11):
        assert specialist_client.get("/disputes/").status_code == 200


def test_the_navigation_counts_disputes_waiting(specialist_client, spread):
    response = specialist_client.get("/disputes/count/")

    assert response.context["waiting"] == 4
    assert response.context["urgent"] == 2
    assert 'data-testid="nav-disputes-count"' in response.content.decode()


def test_the_dispute_page_shows_everything_needed(specialist_client, django_assert_max_num_queries):
    dispute = disputed_order()
    do_assemble_pack(dispute.pk)

    with django_assert_max_num_queries(16):
        response = specialist_client.get(f"/disputes/{dispute.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert dispute.order.number in page
    assert dispute.order.shipments.get().tracking_number in page
    assert "Where is my ring? It has been two weeks." in page
    assert "73.42.18.9" in page
    assert 'data-testid="recommendation"' in page
    assert page.count('data-testid="checklist-item"') == 7


def test_the_specialist_edits_the_rebuttal_on_the_page(specialist_client):
    dispute = disputed_order()
    do_assemble_pack(dispute.pk)

    response = specialist_client.post(
        f"/disputes/{dispute.pk}/evidence/",
        {"rebuttal": "Delivered and signed for; see the tracking history attached."},
    )

    assert response.status_code == 302
    assert EvidencePack.objects.get(dispute=dispute).rebuttal.startswith("Delivered and signed")


def test_an_agent_cannot_open_disputes(client, make_user):
    client.force_login(make_user(Role.AGENT, username="agent-x"))
    dispute = disputed_order()

    assert client.get("/disputes/").status_code == 403
    assert client.get(f"/disputes/{dispute.pk}/").status_code == 403


def test_orders_and_tickets_link_to_their_disputes(specialist_client):
    dispute = disputed_order()

    order_page = specialist_client.get(f"/orders/{dispute.order_id}/").content.decode()
    ticket = dispute.order.tickets.get()
    ticket_page = specialist_client.get(f"/desk/tickets/{ticket.number}/").content.decode()

    assert f'href="/disputes/{dispute.pk}/"' in order_page
    assert f'href="/disputes/{dispute.pk}/"' in ticket_page


def test_reminders_are_given_once_per_threshold(specialist, spread):
    do_assign_dispute(spread["urgent"], specialist, actor=specialist)

    first = do_send_reminders()
    again = do_send_reminders()

    assert first >= 1
    assert again == 0
    assert DisputeReminder.objects.filter(dispute=spread["urgent"], owner=specialist).exists()
    assert not DisputeReminder.objects.filter(dispute=spread["overdue"]).exists()
    assert not DisputeReminder.objects.filter(dispute=spread["later"]).exists()


# --- API -----------------------------------------------------------------------------------


def test_the_api_lists_disputes_by_deadline(api_client, spread):
    response = api_client.get("/api/v1/disputes", {"status": "open", "ordering": "due_by"})

    items = response.json()["items"]
    assert [i["id"] for i in items] == [spread[k].pk for k in ("overdue", "urgent", "later")]
    due = datetime.fromisoformat(items[0]["evidence_due_by"])
    assert abs(due - spread["overdue"].evidence_due_by) < timedelta(milliseconds=1)


def test_the_api_filters_by_gateway_status_and_due_before(api_client, spread):
    soon = (timezone.now() + timedelta(days=1)).isoformat()

    by_gateway = api_client.get(
        "/api/v1/disputes", {"gateway": "paypal", "ordering": "-opened_at"}
    ).json()["items"]
    by_due = api_client.get("/api/v1/disputes", {"due_before": soon}).json()["items"]
    by_status = api_client.get(
        "/api/v1/disputes", {"status": "WAITING_FOR_SELLER_RESPONSE", "ordering": "-opened_at"}
    ).json()["items"]

    assert [i["id"] for i in by_gateway] == [spread["none"].pk]
    assert [i["id"] for i in by_due] == [spread["overdue"].pk, spread["urgent"].pk]
    assert [i["id"] for i in by_status] == [spread["none"].pk]


@pytest.mark.parametrize("size", [1, 8])
def test_the_api_list_query_count_is_pinned(api_client, django_assert_num_queries, size):
    store = StoreFactory()
    for n in range(size):
        disputed_order(store=store, due_in=timedelta(days=n + 1))
    # the token with its user, its last use, the permissions (2), the page
    with django_assert_num_queries(5):
        assert api_client.get("/api/v1/disputes").status_code == 200


def test_the_api_evidence_is_read_and_edited(api_client):
    dispute = disputed_order(messages=[])
    do_assemble_pack(dispute.pk)

    read = api_client.get(f"/api/v1/disputes/{dispute.pk}/evidence").json()
    edited = api_client.put(
        f"/api/v1/disputes/{dispute.pk}/evidence",
        {
            "rebuttal": "Delivered and signed by O BENNETT, see the carrier's record.",
            "fields": {"shipping_carrier": "USPS Ground Advantage"},
        },
        content_type="application/json",
    ).json()
    refused = api_client.put(
        f"/api/v1/disputes/{dispute.pk}/evidence",
        {"fields": {"nope": "x"}},
        content_type="application/json",
    )

    assert read["missing"] == ["customer_communication"]
    assert read["completeness"] == 86
    assert [item["key"] for item in read["checklist"]][0] == "order_receipt"
    assert read["fields"]["shipping_carrier"] == "USPS"
    assert edited["fields"]["shipping_carrier"] == "USPS Ground Advantage"
    assert edited["rebuttal"].startswith("Delivered and signed")
    assert refused.status_code == 422
    assert refused.json()["code"] == "evidence_refused"


def test_the_api_refuses_a_late_submission_with_the_reason(api_client):
    dispute = disputed_order(due_in=timedelta(hours=-2))

    response = api_client.post(
        f"/api/v1/disputes/{dispute.pk}/submit",
        {"idempotency_key": "late-api-key"},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "past_due"
    assert "nothing was sent" in response.json()["message"]


def test_the_api_detail_and_pdf(api_client, django_assert_max_num_queries):
    dispute = disputed_order()
    do_assemble_pack(dispute.pk)

    with django_assert_max_num_queries(9):
        detail = api_client.get(f"/api/v1/disputes/{dispute.pk}").json()
    pdf = api_client.get(f"/api/v1/disputes/{dispute.pk}/evidence.pdf")

    assert detail["recommendation"]["action"] in {"fight", "accept"}
    assert [e["kind"] for e in detail["timeline"]] == ["opened", "pack_assembled"]
    assert pdf["Content-Type"] == "application/pdf"
    assert dispute.order.number in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_an_agents_token_cannot_read_disputes(client, make_user):
    from storedesk.accounts.services import do_create_api_token

    _token, key = do_create_api_token(make_user(Role.AGENT, username="agent-api"), name="t")
    response = client.get("/api/v1/disputes", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 403
