"""The ticket page: timeline, composer (send + status, once), collision, properties, panels."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from storedesk.accounts.roles import Role
from storedesk.desk import presence
from storedesk.desk.models import Message, ReplyTemplate, Ticket, TicketEvent
from storedesk.desk.services import (
    AttachmentIn,
    do_add_note,
    do_change_status,
    do_receive_message,
    do_reply,
)
from storedesk.risk.models import OrderRisk
from tests.desk.builders import inbound, make_ticket
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    PaymentFactory,
    RefundFactory,
    ShipmentEventFactory,
    ShipmentFactory,
    StoreFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def customer(store):
    return CustomerFactory(
        store=store, email="emma@mail.example", is_vip=True, orders_count=4, first_name="Emma"
    )


def page_url(ticket) -> str:
    return f"/desk/tickets/{ticket.number}/"


def compose(client, ticket, text="Thanks, it ships today.", **data):
    page = client.get(page_url(ticket))
    form = page.context["composer"]
    values = {
        "text": text,
        "form_token": form.initial["form_token"],
        "seen_message": form.initial["seen_message"],
    }
    return client.post(f"{page_url(ticket)}reply/", values | data)


def test_timeline_merges_messages_notes_and_events_in_time_order(agent_client, agent, store):
    ticket = make_ticket(messages=1)
    do_add_note(ticket, author=agent, text="Checked the carrier, parcel is stuck in LA")
    do_reply(ticket, author=agent, text="Your ring is on its way")
    do_change_status(ticket, "pending", actor=agent)
    response = agent_client.get(page_url(ticket))
    assert response.status_code == 200
    items = response.context["timeline"].items
    kinds = [item.message.kind if item.message else item.event.kind for item in items]
    # The reply opens the ticket and makes it the replying agent's.
    assert kinds == ["inbound", "created", "note", "outbound", "status", "assigned", "status"]
    text = response.text
    assert 'class="msg msg-note"' in text
    assert "Internal note" in text
    assert "Queued" in text  # the reply's delivery state
    assert "changed the status from Open to Pending" in text


def test_customer_html_is_shown_only_as_sanitized_html_and_quotes_collapse(agent_client, store):
    ticket = make_ticket(messages=0)
    do_receive_message(
        ticket,
        inbound(
            "Still waiting\n> old text",
            html='<p>Still <b>waiting</b></p><img src="cid:logo@x"><blockquote>old</blockquote>',
            new_text="Still waiting",
            quoted_text="old text",
            attachments=[AttachmentIn("logo.png", "image/png", b"\x89PNG", content_id="<logo@x>")],
        ),
    )
    do_receive_message(ticket, inbound("<script>alert(1)</script> plain"))
    text = agent_client.get(page_url(ticket)).text
    attachment = Message.objects.get(new_text="Still waiting").attachments.get()
    assert f'src="/desk/attachments/{attachment.pk}/"' in text
    assert "Show quoted text" in text
    assert "<b>waiting</b>" in text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; plain" in text


def test_side_panel_shows_customer_orders_payments_risk_shipments_and_tickets(
    agent_client, store, customer
):
    order = OrderFactory(store=store, customer=customer, number="#TP30001", number_key="TP30001")
    PaymentFactory(order=order, avs_postal_check="fail", cvc_check="pass")
    OrderRisk.objects.create(order=order, score=81, status="in_review", scored_at=BASE_TIME)
    shipment = ShipmentFactory(order=order, tracking_number="LX777VN")
    ShipmentEventFactory(shipment=shipment, message="Arrived at Los Angeles hub")
    earlier = make_ticket(subject="Earlier question")
    ticket = make_ticket(subject="Where is it")
    text = agent_client.get(page_url(ticket)).text
    for expected in [
        "VIP",
        "#TP30001",
        "check-fail",
        "In review",
        "score 81",
        "LX777VN",
        "Arrived at Los Angeles hub",
        f"#{earlier.number} Earlier question",
    ]:
        assert expected in text


def test_side_panel_shows_a_stored_non_http_tracking_link_as_plain_text(
    agent_client, store, customer
):
    """A row stored before ingest checked links: the page still never makes it an href."""
    order = OrderFactory(store=store, customer=customer, number="#TP30001", number_key="TP30001")
    ShipmentFactory(order=order, tracking_number="LX777VN", tracking_url="JaVaScRiPt:alert(1)")
    ticket = make_ticket(subject="Where is it")

    text = agent_client.get(page_url(ticket)).text

    assert '<span class="mono">LX777VN</span>' in text
    assert "alert(1)" not in text


# session, user, permissions (2), ticket, tags, orders, messages, attachments, events,
# agents, teams, the customer's latest order ids, orders with risk, payments, shipments,
# tracking events, refunds, previous tickets, reply templates, and the facts that decide which
# templates are offered (the ticket's latest order, its items, its latest shipment, its scans);
# presence lives in the cache
TICKET_QUERIES = 24


@pytest.mark.parametrize("count", [5, 50])
def test_ticket_page_query_count_is_fixed(
    agent_client, agent, store, customer, django_assert_num_queries, count
):
    ticket = make_ticket(messages=count)
    for n in range(count // 5):
        do_add_note(ticket, author=agent, text=f"note {n}")
        order = OrderFactory(store=store, customer=customer)
        RefundFactory(order=order)
        ShipmentEventFactory(shipment=ShipmentFactory(order=order))
        ticket.orders.add(order)
        make_ticket(subject=f"older {n}")
    with django_assert_num_queries(TICKET_QUERIES):
        response = agent_client.get(page_url(ticket))
    assert response.status_code == 200


@pytest.mark.parametrize(("role", "extra"), [(Role.AGENT, 0), (Role.PAYMENTS, 1)])
@pytest.mark.parametrize("count", [1, 4])
def test_refunds_and_disputes_in_the_side_panel_cost_one_query_each(
    client, make_user, store, customer, django_assert_num_queries, role, extra, count
):
    ticket = make_ticket()
    for _ in range(count):
        order = OrderFactory(store=store, customer=customer)
        refund = RefundFactory(order=order)
        ShipmentEventFactory(shipment=ShipmentFactory(order=order))
        _dispute(order, refund.payment, provider_id=f"dp_{order.pk}")
        ticket.orders.add(order)
    client.force_login(make_user(role, username="viewer"))
    with django_assert_num_queries(TICKET_QUERIES + extra):
        response = client.get(page_url(ticket))
    assert response.text.count('data-testid="side-disputes"') == (count if extra else 0)


def _dispute(order, payment, **fields):
    from storedesk.disputes.models import Dispute

    values = {
        "order": order,
        "payment": payment,
        "gateway": "stripe",
        "provider_id": "dp_1Side",
        "reason": "product_not_received",
        "status": "needs_response",
        "amount": "178.00",
        "currency": "USD",
        "opened_at": BASE_TIME + timedelta(days=20),
        "evidence_due_by": BASE_TIME + timedelta(days=27),
    }
    return Dispute.objects.create(**(values | fields))


def test_side_panel_shows_the_orders_refunds_and_disputes_with_links(
    client, make_user, store, customer
):
    order = OrderFactory(store=store, customer=customer, number="#TP30002", number_key="TP30002")
    refund = RefundFactory(order=order, amount="35.00")
    _dispute(order, refund.payment)
    ticket = make_ticket(subject="Refund?")
    ticket.orders.add(order)
    client.force_login(make_user(Role.PAYMENTS, username="payments"))

    html = client.get(page_url(ticket)).text

    refunds = html.split('data-testid="side-refunds"')[1].split("</ul>")[0]
    assert f'href="/orders/{order.pk}/#refunds"' in refunds
    assert "35.00 USD" in refunds
    assert "Succeeded" in refunds
    disputes = html.split('data-testid="side-disputes"')[1].split("</ul>")[0]
    # The dispute links to its own page in the disputes workspace, its status in words.
    dispute = order.disputes.get()
    assert f'href="/disputes/{dispute.pk}/" data-testid="side-dispute-link">Chargeback</a>' in (
        disputes
    )
    assert "178.00 USD" in disputes
    assert "Needs response" in disputes
    assert "evidence due 2026-03-29 22:00" in disputes  # the viewer's zone, Ho Chi Minh City


def test_an_agent_sees_refunds_but_not_disputes_in_the_side_panel(agent_client, store, customer):
    order = OrderFactory(store=store, customer=customer)
    refund = RefundFactory(order=order)
    _dispute(order, refund.payment)
    ticket = make_ticket()
    ticket.orders.add(order)
    html = agent_client.get(page_url(ticket)).text
    assert 'data-testid="side-refunds"' in html
    assert 'data-testid="side-disputes"' not in html


def test_send_and_set_status_in_one_action(agent_client, agent, store):
    ticket = make_ticket()
    response = compose(agent_client, ticket, send_status="pending", cc="boss@mail.example")
    assert response.status_code == 302
    assert response.url == page_url(ticket)
    reply = Message.objects.get(kind="outbound")
    assert reply.author == agent
    assert reply.cc == ["boss@mail.example"]
    assert reply.delivery == "queued"
    ticket.refresh_from_db()
    assert ticket.status == "pending"
    page = agent_client.get(page_url(ticket)).text
    assert "Thanks, it ships today." in page
    assert "Reply sent." in page


def test_a_double_submit_sends_once(agent_client, store):
    ticket = make_ticket()
    page = agent_client.get(page_url(ticket))
    form = page.context["composer"]
    data = {
        "text": "Refund issued",
        "form_token": form.initial["form_token"],
        "seen_message": form.initial["seen_message"],
        "send_status": "solved",
    }
    first = agent_client.post(f"{page_url(ticket)}reply/", data)
    second = agent_client.post(f"{page_url(ticket)}reply/", data)
    assert first.status_code == second.status_code == 302
    assert Message.objects.filter(kind="outbound").count() == 1


def test_a_note_is_not_sent_and_a_double_submit_adds_it_once(agent_client, store):
    ticket = make_ticket()
    page = agent_client.get(page_url(ticket))
    data = {
        "text": "Customer called, wants gift wrap",
        "is_note": "on",
        "form_token": page.context["composer"].initial["form_token"],
        "seen_message": 0,
    }
    agent_client.post(f"{page_url(ticket)}reply/", data)
    agent_client.post(f"{page_url(ticket)}reply/", data)
    note = Message.objects.get(kind="note")
    assert note.delivery == "none"
    assert not Message.objects.filter(kind="outbound").exists()


def test_attachments_are_sent_with_the_reply_and_bad_ones_refused(agent_client, store):
    ticket = make_ticket()
    good = SimpleUploadedFile("label.pdf", b"%PDF-1.4", content_type="application/pdf")
    compose(agent_client, ticket, attachments=[good])
    assert Message.objects.get(kind="outbound").attachments.get().filename == "label.pdf"
    bad = SimpleUploadedFile("run.exe", b"MZ", content_type="application/octet-stream")
    response = compose(agent_client, ticket, text="again", attachments=[bad])
    assert response.status_code == 400
    assert "this file type is not accepted" in response.text
    assert Message.objects.filter(kind="outbound").count() == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"text": "   "}, "This field is required."),
        ({"cc": "not-an-address"}, "is not an email address."),
        ({"send_status": "exploded"}, "Select a valid choice."),
        ({"form_token": ""}, "This field is required."),
    ],
)
def test_bad_composer_input_is_a_clear_error(agent_client, store, data, error):
    ticket = make_ticket()
    response = compose(agent_client, ticket, **data)
    assert response.status_code == 400
    assert error in response.text
    assert not Message.objects.filter(kind="outbound").exists()


def test_a_reply_from_someone_else_since_opening_refuses_the_send_until_confirmed(
    agent_client, agent, make_user, store
):
    ticket = make_ticket()
    page = agent_client.get(page_url(ticket))
    form = page.context["composer"]
    colleague = make_user(Role.AGENT, username="lan", first_name="Lan")
    do_reply(ticket, author=colleague, text="I already answered this one")
    data = {
        "text": "My answer",
        "form_token": form.initial["form_token"],
        "seen_message": form.initial["seen_message"],
    }
    refused = agent_client.post(f"{page_url(ticket)}reply/", data)
    assert refused.status_code == 409
    assert "Lan replied 0\xa0minutes ago — review before sending." in refused.text
    assert "I already answered this one" in refused.text
    assert Message.objects.filter(kind="outbound").count() == 1
    retry = refused.context["composer"]
    assert retry.data["confirm"] == "on"
    confirmed = agent_client.post(f"{page_url(ticket)}reply/", retry.data)
    assert confirmed.status_code == 302
    assert Message.objects.filter(kind="outbound", author=agent).count() == 1


def test_own_replies_and_notes_never_count_as_a_collision(agent_client, agent, make_user, store):
    ticket = make_ticket()
    page = agent_client.get(page_url(ticket))
    form = page.context["composer"]
    do_reply(ticket, author=agent, text="from my other tab")
    do_add_note(ticket, author=make_user(Role.AGENT, username="lan"), text="fyi")
    data = {
        "text": "second",
        "form_token": form.initial["form_token"],
        "seen_message": form.initial["seen_message"],
    }
    assert agent_client.post(f"{page_url(ticket)}reply/", data).status_code == 302


def test_presence_shows_who_else_is_viewing_typing_and_replied(
    agent_client, agent, make_user, store
):
    ticket = make_ticket()
    colleague = make_user(Role.AGENT, username="lan", first_name="Lan")
    client = Client()
    client.force_login(colleague)
    seen = Message.objects.filter(ticket=ticket).latest("pk").pk
    client.post(f"{page_url(ticket)}presence/", {"typing": "1", "seen_message": seen})
    beat = agent_client.post(f"{page_url(ticket)}presence/", {"seen_message": seen})
    assert beat.status_code == 200
    assert "Lan is typing…" in beat.text
    assert "collision" not in beat.text
    do_reply(ticket, author=colleague, text="done")
    beat = agent_client.post(f"{page_url(ticket)}presence/", {"seen_message": seen})
    assert "Lan replied" in beat.text
    assert "review before sending" in beat.text
    # the colleague sees the agent, who is viewing but not typing
    assert "agent is viewing" in client.post(f"{page_url(ticket)}presence/").text


def test_the_page_itself_marks_the_viewer_present(agent_client, agent, store):
    ticket = make_ticket()
    agent_client.get(page_url(ticket))
    assert [v.user_id for v in presence.viewers(ticket.pk)] == [agent.pk]


def test_properties_change_through_the_services(agent_client, agent, store):
    ticket = make_ticket()
    response = agent_client.post(
        f"{page_url(ticket)}properties/",
        {
            "status": "on_hold",
            "priority": "3",
            "assignee": str(agent.pk),
            "team": "",
            "tags": "Wrong Size, vip",
            "follow_up_at": "2026-03-09T09:30",
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("on_hold", 3, agent)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["vip", "wrong-size"]
    assert ticket.follow_up_at is not None
    kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {"status", "priority", "assigned", "tags", "follow_up"} <= kinds


def test_bad_properties_change_nothing(agent_client, store):
    ticket = make_ticket()
    response = agent_client.post(
        f"{page_url(ticket)}properties/", {"status": "gone", "priority": "2"}, follow=True
    )
    assert "Nothing changed" in response.text
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_link_and_unlink_an_order_by_number(agent_client, store):
    ticket = make_ticket()
    order = OrderFactory(store=store, number="#TP40001", number_key="TP40001")
    agent_client.post(f"{page_url(ticket)}orders/", {"number": "tp40001"})
    assert list(ticket.orders.all()) == [order]
    agent_client.post(f"{page_url(ticket)}orders/", {"number": "#TP40001", "unlink": "on"})
    assert not ticket.orders.exists()
    missing = agent_client.post(f"{page_url(ticket)}orders/", {"number": "99"}, follow=True)
    assert "No order 99 in this store." in missing.text
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds[-2:] == ["orders_linked", "orders_unlinked"]


def test_merge_into_another_ticket_and_the_old_number_redirects(agent_client, store):
    source, target = make_ticket(), make_ticket(at=BASE_TIME + timedelta(hours=1))
    response = agent_client.post(f"{page_url(source)}merge/", {"into": f"TP-{target.number}"})
    assert response.url == page_url(target)
    assert agent_client.get(page_url(source)).url == page_url(target)
    refused = agent_client.post(f"{page_url(target)}merge/", {"into": str(target.number)})
    assert refused.status_code == 302
    assert Ticket.objects.get(pk=target.pk).merged_into is None


def test_split_selected_messages_into_a_new_ticket(agent_client, store):
    ticket = make_ticket(messages=3)
    last = Message.objects.filter(ticket=ticket).latest("created_at")
    response = agent_client.post(
        f"{page_url(ticket)}split/", {"messages": [last.pk], "subject": "Second issue"}
    )
    new = Ticket.objects.get(subject="Second issue")
    assert response.url == page_url(new)
    assert list(new.messages.all()) == [last]
    everything = list(ticket.messages.values_list("pk", flat=True))
    refused = agent_client.post(f"{page_url(ticket)}split/", {"messages": everything}, follow=True)
    assert "at least one message behind" in refused.text


def test_attachments_download_only_with_permission_and_never_run(
    agent_client, client, make_user, store
):
    ticket = make_ticket(messages=0)
    message = do_receive_message(
        ticket,
        inbound(
            "see files",
            attachments=[
                AttachmentIn("photo.jpg", "image/jpeg", b"\xff\xd8jpeg"),
                AttachmentIn("page.html", "text/html", b"<script>alert(1)</script>"),
            ],
        ),
    )
    photo, html = message.attachments.order_by("pk")
    image = agent_client.get(f"/desk/attachments/{photo.pk}/")
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert "inline" in image["Content-Disposition"]
    download = agent_client.get(f"/desk/attachments/{html.pk}/")
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download["Content-Security-Policy"]
    assert agent_client.get("/desk/attachments/999999/").status_code == 404
    client.force_login(make_user(None, username="nobody"))
    assert client.get(f"/desk/attachments/{photo.pk}/").status_code == 403


@pytest.mark.parametrize("path", ["", "reply/", "properties/", "presence/"])
def test_users_without_desk_permissions_get_403(client, make_user, store, path):
    ticket = make_ticket()
    client.force_login(make_user(None, username="nobody"))
    url = f"{page_url(ticket)}{path}"
    response = client.post(url) if path else client.get(url)
    assert response.status_code == 403


def test_unknown_ticket_is_404(agent_client, store):
    assert agent_client.get("/desk/tickets/424242/").status_code == 404


def test_a_template_fills_the_composer_with_this_tickets_values_and_is_counted(
    agent_client, agent, store, customer
):
    template = ReplyTemplate.objects.get(name="Ask for the order number")
    assert "first_name" in template.body
    ticket = make_ticket()
    page = agent_client.get(page_url(ticket))
    assert f'<option value="{template.pk}">' in page.text
    preview = agent_client.get(
        f"{page_url(ticket)}template-preview/", {"template": template.pk}, HTTP_HX_REQUEST="true"
    )
    assert preview.status_code == 200
    assert "Emma" in preview.text
    assert "{{" not in preview.text
    before = template.usage_count
    compose(agent_client, ticket, text="Hi Emma, edited text", template=template.pk)
    reply = Message.objects.get(kind="outbound")
    assert reply.template == template
    template.refresh_from_db()
    assert template.usage_count == before + 1


def test_no_or_a_bad_template_leaves_the_composer_alone(agent_client, store):
    ticket = make_ticket()
    for value in ["", "abc", "999999"]:
        response = agent_client.get(f"{page_url(ticket)}template-preview/", {"template": value})
        assert response.status_code == 204


def test_a_reply_with_an_unfilled_placeholder_is_refused_and_the_draft_kept(agent_client, store):
    ticket = make_ticket()
    draft = "Hi Emma, your ring is on its way with [[carrier]]. Tracking: [[ tracking_link ]]"
    response = compose(agent_client, ticket, text=draft, send_status="pending")
    assert response.status_code == 400
    assert not Message.objects.filter(kind="outbound").exists()
    assert "Fill in before sending: [[carrier]], [[tracking_link]]." in response.text
    assert response.context["composer"]["text"].value() == draft  # nothing the agent wrote lost
    ticket.refresh_from_db()
    assert ticket.status != "pending"


def test_the_picker_offers_on_its_way_only_for_a_shipped_order(agent_client, store, customer):
    order = OrderFactory(store=store, customer=customer)
    LineItemFactory(order=order)
    ticket = make_ticket()
    ticket.orders.add(order)

    def picker(ticket):
        groups = agent_client.get(page_url(ticket)).context["reply_templates"]
        return {name for _label, templates in groups for _pk, name in templates}

    assert "Where is my order: on its way" not in picker(ticket)
    assert "Where is my order: still being made" in picker(ticket)
    ShipmentEventFactory(shipment=ShipmentFactory(order=order), message="Departed Hanoi")
    assert "Where is my order: on its way" in picker(ticket)
