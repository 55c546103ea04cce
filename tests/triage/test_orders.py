"""Order and tracking numbers in the forms customers write them."""

import pytest

from storedesk.triage.orders import extract_refs


def refs(text):
    return [(r.kind, r.value) for r in extract_refs(text)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Where is #TP10234?", "TP10234"),
        ("order TP10234 please", "TP10234"),
        ("ordered tp10234 last week", "TP10234"),
        ("my order #TP-10234", "TP10234"),
        ("order 10234 hasn't shipped", "10234"),
        ("order no. 10234", "10234"),
        ("Order number: 10234", "10234"),
        ("order nr 10234", "10234"),
        ("#10234 still not here", "10234"),
        ("cancel purchase 113542617735902?", "113542617735902"),
        ("oder 55512 never came", "55512"),
    ],
)
def test_order_numbers_in_common_forms(text, value):
    assert refs(text) == [("order", value)]


@pytest.mark.parametrize(
    ("text", "value", "carrier"),
    [
        ("UPS 1Z999AA10123456784 says delivered", "1Z999AA10123456784", "UPS"),
        ("usps 9400 1000 0000 0000 0000 00 no update", "9400100000000000000000", "USPS"),
        ("tracking 9205590164917312751089", "9205590164917312751089", "USPS"),
        ("EZ123456789US hasn't moved", "EZ123456789US", "USPS"),
        ("FedEx tracking 123456789012 is stuck", "123456789012", "FedEx"),
        ("DHL 1234567890 shows nothing", "1234567890", "DHL"),
        ("VN post RR123456789VN", "RR123456789VN", "VNPost"),
    ],
)
def test_tracking_numbers_of_the_carriers(text, value, carrier):
    found = extract_refs(text)
    assert [(r.kind, r.value, r.carrier) for r in found] == [("tracking", value, carrier)]


def test_two_orders_in_one_message_in_order_of_appearance_without_repeats():
    text = "Order #TP10234 and order TP10235 (again #TP10234) both late"
    assert refs(text) == [("order", "TP10234"), ("order", "TP10235")]


@pytest.mark.parametrize(
    "text",
    [
        "I paid $120.00 on 12/03/2025",
        "call me at 555-123-4567",
        "invoice 12345678 is wrong",
        "my zip is 90210",
        "size 7, 18 inch chain, 14k gold",
        "",
        "😡😡😡",
    ],
)
def test_amounts_dates_phones_invoices_are_not_orders(text):
    assert refs(text) == []


def test_a_bare_long_number_is_a_guess_and_says_so():
    (ref,) = extract_refs("I bought 4587345 and it never came")
    assert ref.value == "4587345"
    assert ref.explicit is False
    assert ref.as_dict()["explicit"] is False


def test_an_invoice_or_bill_number_is_not_an_order():
    assert refs("I can't find invoice #45678 or my bill #99812") == []


@pytest.mark.parametrize("subject", ["Re: my ring [#TP-6863]", "Re: my ring [#SD-6863]"])
def test_a_ticket_reference_in_a_subject_is_not_an_order_number(subject):
    assert refs(f"{subject} order #TP17397 arrived broken") == [("order", "TP17397")]
