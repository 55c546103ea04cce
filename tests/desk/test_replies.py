"""Reply templates: variables filled from the ticket, missing ones reported, HTML escaped,
proposals approved into versions, and the shipped set installed once and fully renderable."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Refund, Shipment
from storedesk.desk.models import ReplyTemplate, ReplyTemplateVersion
from storedesk.desk.replies import (
    VARIABLES,
    default_templates,
    do_approve_template_version,
    do_create_template,
    do_install_default_templates,
    do_propose_template_edit,
    do_reject_template_version,
    render_reply,
)
from storedesk.desk.services import do_link_orders, do_open_ticket
from tests.factories import (
    BASE_TIME,
    CustomerFactory,
    LineItemFactory,
    OrderFactory,
    RefundFactory,
    ShipmentEventFactory,
    ShipmentFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(support_email="care@tinypearl.example")


@pytest.fixture
def lead(make_user):
    from storedesk.accounts.roles import Role

    return make_user(Role.LEAD, username="lan", first_name="Lan", last_name="Pham")


def demo_like_ticket(store, *, shipped=True, refunded=True):
    """A ticket linked to an order with items, a shipment with scans and a refund."""
    customer = CustomerFactory(store=store, first_name="Olivia", email="olivia@mail.example")
    order = OrderFactory(store=store, customer=customer, number="#TP20001", number_key="TP20001")
    LineItemFactory(order=order, title="Moonstone Ring", variant_title="Size 7", quantity=1)
    LineItemFactory(order=order, title="Pearl Studs", variant_title="", quantity=2)
    if shipped:
        shipment = ShipmentFactory(
            order=order,
            carrier="USPS",
            tracking_number="LX999888777VN",
            estimated_delivery_at=BASE_TIME + timedelta(days=12),
            delivered_at=BASE_TIME + timedelta(days=9),
            status=Shipment.Status.DELIVERED,
        )
        ShipmentEventFactory(
            shipment=shipment, message="Departed Hanoi", happened_at=BASE_TIME + timedelta(days=2)
        )
        ShipmentEventFactory(
            shipment=shipment,
            message="Delivered, front door",
            city="Austin",
            province="TX",
            happened_at=BASE_TIME + timedelta(days=9),
        )
    if refunded:
        RefundFactory(order=order, amount=Decimal("42.5"), status=Refund.Status.SUCCEEDED)
    ticket = do_open_ticket(
        channel="email", requester_email=customer.email, subject="Ring", store=store
    )
    do_link_orders(ticket, [order], actor=None)
    return ticket


def make_template(body, subject="About {{ order_number }}", name="T"):
    return do_create_template(name=name, category="general", subject=subject, body=body)


def test_variables_are_filled_from_the_ticket_its_order_shipment_and_refund(store, lead):
    ticket = demo_like_ticket(store)
    template = make_template(
        "Hi {{ first_name }}, {{ items }} via {{ carrier }} {{ tracking_number }}: "
        "{{ tracking_last_event }}. ETA {{ carrier_eta }}. Refund {{ refund_amount }}. "
        "{{ agent_name }} at {{ store_name }} ({{ support_email }}) {{ tracking_link }}"
    )
    reply = render_reply(template, ticket, lead)
    assert reply.subject == "About #TP20001"
    assert reply.text == (
        "Hi Olivia, Moonstone Ring (Size 7), 2 × Pearl Studs via USPS LX999888777VN: "
        "Delivered, front door (Austin, TX) on March 11, 2026. ETA March 14, 2026. "
        "Refund $42.50. Lan at Tiny Pearl Jewelry (care@tinypearl.example) "
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=LX999888777VN"
    )
    assert reply.missing == []
    assert '<a href="https://tools.usps.com/go/TrackConfirmAction?tLabels=LX999888777VN"' in (
        reply.html
    )


def test_missing_values_are_reported_and_visible_never_blank(store, lead):
    ticket = do_open_ticket(channel="email", requester_email="x@mail.example", store=store)
    template = make_template("Hi {{ first_name }}, code {{ coupon_code }} for {{ order_number }}")
    reply = render_reply(template, ticket, lead)
    assert reply.missing == ["order_number", "first_name", "coupon_code"]
    assert reply.text == "Hi [[first_name]], code [[coupon_code]] for [[order_number]]"
    filled = render_reply(template, ticket, lead, {"coupon_code": "SORRY15", "first_name": "Jo"})
    assert filled.missing == ["order_number"]
    assert "code SORRY15" in filled.text


def test_optional_lines_disappear_without_being_reported(store, lead):
    ticket = demo_like_ticket(store, shipped=False)
    template = make_template(
        "Hi {{ first_name }}\n\n{% if tracking_link %}Track: {{ tracking_link }}{% endif %}\n\nBye"
    )
    reply = render_reply(template, ticket, lead)
    assert reply.missing == []
    assert reply.text == "Hi Olivia\n\nBye"


def test_html_part_escapes_values_and_the_template_text(store, lead):
    ticket = demo_like_ticket(store)
    ticket.customer.first_name = '<img src=x onerror="alert(1)">'
    ticket.customer.save()
    template = make_template("Hi {{ first_name }} <b>{{ coupon_code }}</b>")
    reply = render_reply(template, ticket, lead, {"coupon_code": "<script>x</script>"})
    assert "<img" not in reply.html
    assert "<script>" not in reply.html
    assert "<b>" not in reply.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in reply.html
    assert reply.text.startswith('Hi <img src=x onerror="alert(1)">')  # plain text stays text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Hi {{ frist_name }}", "Unknown variable: frist_name"),
        ("{{ first_name.__class__ }}", "Unknown variable"),
        ("{{ first_name|upper }}", "Filters are not allowed"),
        ("{% load static %}x", "blocks are allowed"),
        ("{% include 'base.html' %}", "blocks are allowed"),
        ("{% debug %}", "blocks are allowed"),
        ("{% if first_name %}x", "not valid"),
        ("{% if a and b %}x{% endif %}", "one variable"),
        ("", "needs a body"),
    ],
)
def test_bad_templates_are_refused_with_a_clear_reason(body, message):
    with pytest.raises(ValidationError, match=message):
        make_template(body)


def test_unknown_extra_variables_are_refused(store, lead):
    template = make_template("Hi")
    ticket = demo_like_ticket(store)
    with pytest.raises(ValidationError, match="Unknown variable: password"):
        render_reply(template, ticket, lead, {"password": "x"})


def test_proposal_approval_makes_the_next_version_and_is_audited(store, lead, agent):
    template = make_template("Hello {{ first_name }}")
    proposal = do_propose_template_edit(
        template, author=agent, subject="Hi", body="Hi {{ first_name }}!", note="shorter"
    )
    template.refresh_from_db()
    assert (template.version, template.body) == (1, "Hello {{ first_name }}")
    assert proposal.status == "proposed"
    assert proposal.version is None
    do_approve_template_version(proposal, actor=lead)
    template.refresh_from_db()
    proposal.refresh_from_db()
    assert (template.version, template.subject, template.body) == (2, "Hi", "Hi {{ first_name }}!")
    assert (proposal.status, proposal.version, proposal.decided_by) == ("approved", 2, lead)
    assert list(template.versions.order_by("version").values_list("version", flat=True)) == [1, 2]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"desk.template_edit_proposed", "desk.template_version_approved"} <= actions
    with pytest.raises(ValidationError, match="already"):
        do_approve_template_version(proposal, actor=lead)


def test_rejection_keeps_the_template_and_records_why(lead, agent):
    template = make_template("Hello")
    proposal = do_propose_template_edit(template, author=agent, subject="", body="Yo")
    do_reject_template_version(proposal, actor=lead, note="Too casual for US customers")
    template.refresh_from_db()
    proposal.refresh_from_db()
    assert template.body == "Hello"
    assert (proposal.status, proposal.note) == ("rejected", "Too casual for US customers")
    with pytest.raises(ValidationError):
        do_reject_template_version(proposal, actor=lead)


def test_a_proposal_equal_to_the_current_text_is_refused(agent):
    template = make_template("Hello", subject="")
    with pytest.raises(ValidationError, match="same"):
        do_propose_template_edit(template, author=agent, subject="", body="Hello")


def test_default_set_installs_idempotently_and_covers_every_situation():
    ReplyTemplate.objects.all().delete()
    created = do_install_default_templates()
    assert len(created) == len(default_templates()) >= 20
    assert do_install_default_templates() == []
    categories = set(ReplyTemplate.objects.values_list("category", flat=True))
    assert categories >= set(ReplyTemplate.Category.values) - {"general"}
    assert ReplyTemplateVersion.objects.filter(version=1, status="approved").count() == len(created)


def test_install_command_and_fresh_migrate_install_the_set(capsys):
    # The test database was migrated fresh, so post_migrate installed the set already.
    assert ReplyTemplate.objects.count() == len(default_templates())
    ReplyTemplate.objects.filter(name="Warranty claim").delete()
    call_command("install-templates")
    assert "Installed 1 reply templates." in capsys.readouterr().out


def test_every_default_template_renders_without_missing_values_where_data_exists(store):
    ReplyTemplate.objects.all().delete()
    do_install_default_templates()
    ticket = demo_like_ticket(store)
    agent = UserFactory(username="mai", first_name="Mai")
    extra = {"coupon_code": "SORRY15"}
    for template in ReplyTemplate.objects.all():
        reply = render_reply(template, ticket, agent, extra)
        assert reply.missing == [], (template.name, reply.missing)
        assert "[[" not in reply.text + reply.subject, template.name
        assert reply.text.startswith("Hi Olivia"), template.name
        assert len(reply.text) < 1200, template.name  # short
        used = {name for name in VARIABLES if "{{ " + name in template.body}
        assert used, template.name


def test_rendering_takes_a_fixed_number_of_queries(store, lead, django_assert_num_queries):
    ticket = demo_like_ticket(store)
    template = make_template("{{ items }} {{ tracking_last_event }} {{ refund_amount }}")
    ticket = type(ticket).objects.get(pk=ticket.pk)
    # ticket's customer and store, order, line items, refund, shipment, its events
    with django_assert_num_queries(7):
        render_reply(template, ticket, lead)


def test_a_non_http_tracking_link_never_reaches_the_customer(store, lead):
    ticket = demo_like_ticket(store)
    Shipment.objects.update(tracking_url="JaVaScRiPt:alert(1)")  # stored before ingest checked
    template = make_template("Track it: {{ tracking_link }}")

    reply = render_reply(template, ticket, lead)

    assert reply.missing == ["tracking_link"]
    assert "alert" not in reply.text
    assert "alert" not in reply.html


# --- unfilled placeholders are never sent; templates offered only with their facts ----------


def test_a_reply_with_an_unfilled_placeholder_is_refused_and_nothing_is_stored(store, lead):
    from storedesk.desk.models import Message
    from storedesk.desk.services import do_reply

    ticket = demo_like_ticket(store, shipped=False)
    template = ReplyTemplate.objects.get(name="Where is my order: on its way")
    text = render_reply(template, ticket, lead).text
    assert "on its way with [[carrier]]" in text
    with pytest.raises(ValidationError) as refused:
        do_reply(ticket, author=lead, text=text, template=template)
    assert refused.value.code == "unfilled_placeholder"
    assert refused.value.messages == [
        "Fill in before sending: [[carrier]], [[tracking_last_event]], [[tracking_link]]."
    ]
    assert not Message.objects.filter(ticket=ticket, kind="outbound").exists()
    assert not AuditEntry.objects.filter(action="desk.reply_sent").exists()
    # Once the agent has filled it in, it goes.
    for name, value in [
        ("carrier", "USPS"),
        ("tracking_last_event", "Departed Hanoi"),
        ("tracking_link", "https://tools.usps.com/"),
    ]:
        text = text.replace(f"[[{name}]]", value)
    do_reply(ticket, author=lead, text=text, template=template)
    assert Message.objects.filter(ticket=ticket, kind="outbound").count() == 1


def test_an_automatic_answer_with_a_placeholder_is_refused_too(store):
    from storedesk.desk.mail_out import do_send_acknowledgement

    ticket = demo_like_ticket(store, shipped=False)
    with pytest.raises(ValidationError, match=r"\[\[coupon_code\]\]"):
        do_send_acknowledgement(ticket, text="Use [[ coupon_code ]] next time", reason="test")


def test_double_brackets_that_are_no_variable_are_ordinary_text(store, lead):
    from storedesk.desk.services import do_reply

    ticket = demo_like_ticket(store)
    message = do_reply(ticket, author=lead, text="Engraving reads [[forever]] as you asked")
    assert message.text == "Engraving reads [[forever]] as you asked"


def test_a_template_is_offered_only_when_the_ticket_has_its_facts(store):
    from storedesk.desk.queries import reply_template_groups
    from storedesk.desk.replies import facts_present

    def offered(ticket):
        groups = reply_template_groups(facts_present(ticket))
        return {name for _label, templates in groups for _pk, name in templates}

    unshipped = offered(demo_like_ticket(store, shipped=False))
    assert "Where is my order: on its way" not in unshipped
    assert "Where is my order: still being made" in unshipped
    assert "Unhappy customer: apology and fix" in unshipped
    no_order = offered(do_open_ticket(channel="email", requester_email="a@mail.example"))
    assert "Where is my order: still being made" not in no_order  # it needs the order number
    assert "Ask for the order number" in no_order
    # Coupons and refund amounts are typed by the agent: they never hide a template.
    assert "Refund confirmation" in unshipped


def test_a_shipped_order_is_offered_the_on_its_way_template(store):
    from storedesk.desk.queries import reply_template_groups
    from storedesk.desk.replies import facts_present

    ticket = demo_like_ticket(store, shipped=True)
    groups = reply_template_groups(facts_present(ticket))
    names = {name for _label, templates in groups for _pk, name in templates}
    assert "Where is my order: on its way" in names
