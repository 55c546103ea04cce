"""Orders from a file: Shopify's own export and the generic layout, bad rows by line number."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from storedesk.accounts.roles import Role
from storedesk.audit.models import AuditEntry
from storedesk.commerce.models import Customer, LineItem, Order, Payment, Shipment
from storedesk.integrations.order_files.models import OrderImport
from storedesk.integrations.order_files.reader import OrderFileError
from storedesk.integrations.order_files.services import do_import_orders
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

# The columns of Shopify's order export, in Shopify's order (Orders → Export → CSV).
SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,"
    "Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,"
    "Shipping Street,Shipping Address1,Shipping Address2,Shipping Company,Shipping City,"
    "Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,"
    "Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,"
    "Employee,Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount"
).split(",")


def shopify_row(**values) -> list[str]:
    row = dict.fromkeys(SHOPIFY_HEADER, "")
    row.update(values)
    return [row[name] for name in SHOPIFY_HEADER]


def first_row(name, email="emma@mail.example", total="94.50", **extra):
    return shopify_row(
        **{
            "Name": name,
            "Email": email,
            "Financial Status": "paid",
            "Paid at": "2026-03-02 10:15:00 -0500",
            "Fulfillment Status": "unfulfilled",
            "Accepts Marketing": "yes",
            "Currency": "USD",
            "Subtotal": "89.00",
            "Shipping": "5.50",
            "Taxes": "0.00",
            "Total": total,
            "Shipping Method": "Standard",
            "Created at": "2026-03-02 10:14:07 -0500",
            "Lineitem quantity": "1",
            "Lineitem name": "Pearl Drop Earrings - Silver",
            "Lineitem price": "59.00",
            "Lineitem sku": "PDE-S",
            "Billing Name": "Emma Johnson",
            "Billing Address1": "512 Congress Ave",
            "Billing City": "Austin",
            "Billing Zip": "'78701",
            "Billing Province": "TX",
            "Billing Country": "US",
            "Shipping Name": "Emma Johnson",
            "Shipping Address1": "512 Congress Ave",
            "Shipping City": "Austin",
            "Shipping Zip": "'78701",
            "Shipping Province": "TX",
            "Shipping Country": "US",
            "Payment Method": "Shopify Payments",
            "Payment Reference": "c2618361839.1",
            "Id": "5612345678901",
            "Tags": "vip, gift",
            "Source": "web",
            **extra,
        }
    )


def next_item(name, title="Pearl Ring", price="30.00", sku="PR-7", quantity="1", **extra):
    """A following line item: Shopify repeats only the Name (and email) on it."""
    return shopify_row(
        **{
            "Name": name,
            "Email": "emma@mail.example",
            "Lineitem quantity": quantity,
            "Lineitem name": title,
            "Lineitem price": price,
            "Lineitem sku": sku,
            **extra,
        }
    )


def csv_bytes(header, rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def run(store, data: bytes, name="orders_export.csv", **kwargs):
    return do_import_orders(store, io.BytesIO(data), name, **kwargs)


def test_shopify_export_becomes_orders_with_items_customer_and_payment():
    store = StoreFactory()
    data = csv_bytes(
        SHOPIFY_HEADER,
        [first_row("#1001"), next_item("#1001"), first_row("#1002", email="liam@mail.example")],
    )

    report = run(store, data)

    assert (report.layout, report.rows_read, report.orders_created) == ("shopify_export", 3, 2)
    assert report.problems == []
    order = Order.objects.get(store=store, number_key="1001")
    assert order.total_price == Decimal("94.50")
    assert order.total_shipping == Decimal("5.50")
    assert order.financial_status == "paid"
    assert order.provider_id == "5612345678901"
    assert order.tags == ["vip", "gift"]
    # -0500 is kept as the instant it names, stored in UTC.
    assert order.created_at.isoformat() == "2026-03-02T15:14:07+00:00"
    assert order.shipping_address["zip"] == "78701"  # Shopify's leading ' is dropped
    assert order.shipping_address["first_name"] == "Emma"
    assert order.shipping_address["last_name"] == "Johnson"
    assert list(
        LineItem.objects.filter(order=order).order_by("pk").values_list("title", "sku", "price")
    ) == [
        ("Pearl Drop Earrings - Silver", "PDE-S", Decimal("59.00")),
        ("Pearl Ring", "PR-7", Decimal("30.00")),
    ]
    payment = Payment.objects.get(order=order)
    assert (payment.gateway, payment.provider_id, payment.amount) == (
        "shopify_payments",
        "c2618361839.1",
        Decimal("94.50"),
    )
    customer = Customer.objects.get(store=store, email="emma@mail.example")
    assert (customer.first_name, customer.accepts_marketing, customer.orders_count) == (
        "Emma",
        True,
        1,
    )


def test_bad_rows_are_refused_by_line_and_the_others_import():
    store = StoreFactory()
    data = csv_bytes(
        SHOPIFY_HEADER,
        [
            first_row("#1001"),  # line 2
            first_row("#1002", **{"Created at": "31/02/2026"}),  # line 3
            first_row("#1003", **{"Currency": "USS"}),  # line 4
            first_row("#1004", total="12,5"),  # line 5
            first_row("#1005", email="not-an-email"),  # line 6
            first_row("#1006"),  # line 7
            next_item("#1006", price="abc"),  # line 8
            first_row("#1007"),  # line 9
        ],
    )

    report = run(store, data)

    assert [str(problem) for problem in report.problems] == [
        "line 3: created_at “31/02/2026” is not a date",
        "line 4: currency “USS” is not an ISO 4217 code",
        "line 5: total “12,5” is not an amount",
        "line 6: “not-an-email” is not an email address",
        "line 7: refused with order #1006 (see line 8)",
        "line 8: item_price “abc” is not an amount",
    ]
    assert sorted(Order.objects.filter(store=store).values_list("number", flat=True)) == [
        "#1001",
        "#1007",
    ]


def test_dry_run_reports_and_stores_nothing():
    store = StoreFactory()
    data = csv_bytes(SHOPIFY_HEADER, [first_row("#1001"), first_row("#1002", total="-3")])

    report = run(store, data, dry_run=True)

    assert report.orders_valid == 1
    assert [str(problem) for problem in report.problems] == ["line 3: total “-3” is not an amount"]
    assert not Order.objects.exists()
    assert report.record.dry_run is True


def test_importing_the_same_file_again_changes_nothing():
    store = StoreFactory()
    data = csv_bytes(SHOPIFY_HEADER, [first_row("#1001"), next_item("#1001"), first_row("#1002")])
    run(store, data)
    counts = (Order.objects.count(), LineItem.objects.count(), Payment.objects.count())
    audits = AuditEntry.objects.filter(action="order.ingested").count()

    again = run(store, data)

    assert (again.orders_created, again.orders_already_stored) == (0, 2)
    assert (Order.objects.count(), LineItem.objects.count(), Payment.objects.count()) == counts
    assert AuditEntry.objects.filter(action="order.ingested").count() == audits


def test_generic_layout_with_items_payment_and_tracking():
    store = StoreFactory(timezone="America/Chicago")
    header = [
        "order_number",
        "email",
        "created_at",
        "total",
        "currency",
        "first_name",
        "last_name",
        "shipping_address1",
        "shipping_city",
        "shipping_province_code",
        "shipping_zip",
        "shipping_country",
        "item_title",
        "item_quantity",
        "item_price",
        "payment_gateway",
        "payment_id",
        "carrier",
        "tracking_number",
        "shipped_at",
    ]
    rows = [
        [
            "W-77",
            "Ava@Mail.example",
            "2026-01-05 09:00",
            "48.00",
            "usd",
            "Ava",
            "Brown",
            "1 Main St",
            "Dallas",
            "TX",
            "75201",
            "us",
            "Silver Hoops",
            "2",
            "24.00",
            "paypal",
            "8MC585209K746392H",
            "USPS",
            "9400111899223344556677",
            "2026-01-06",
        ],
        [
            "W-77",
            "ava@mail.example",
            "2026-01-05 09:00",
            "48.00",
            "USD",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "Gift box",
            "1",
            "0",
            "",
            "",
            "",
            "",
            "",
        ],
    ]

    report = run(store, csv_bytes(header, rows), name="legacy.csv")

    assert (report.layout, report.orders_created, report.problems) == ("generic", 1, [])
    order = Order.objects.get(store=store, number_key="W-77")
    # A time without an offset is in the store's zone (Chicago, UTC-6 in January).
    assert order.created_at.isoformat() == "2026-01-05T15:00:00+00:00"
    assert order.email == "ava@mail.example"
    assert order.financial_status == "paid"
    assert order.fulfillment_status == "fulfilled"
    assert order.shipping_address["country_code"] == "US"
    assert LineItem.objects.filter(order=order).count() == 2
    payment = Payment.objects.get(order=order)
    assert (payment.gateway, payment.method, payment.amount) == (
        "paypal",
        "paypal",
        Decimal("48.00"),
    )
    shipment = Shipment.objects.get(order=order)
    assert (shipment.carrier, shipment.tracking_number) == ("USPS", "9400111899223344556677")


def test_zero_decimal_currency_refuses_cents():
    store = StoreFactory()
    header = ["order_number", "email", "created_at", "total", "currency"]
    data = csv_bytes(
        header,
        [
            ["A1", "a@mail.example", "2026-01-05", "5000", "JPY"],
            ["A2", "b@mail.example", "2026-01-05", "50.5", "JPY"],
        ],
    )

    report = run(store, data)

    assert [str(p) for p in report.problems] == [
        "line 3: total 50.5 has more decimals than JPY allows"
    ]
    assert Order.objects.get(number_key="A1").total_price == Decimal("5000")


def test_split_order_rows_are_refused():
    store = StoreFactory()
    data = csv_bytes(SHOPIFY_HEADER, [first_row("#1001"), first_row("#1002"), next_item("#1001")])

    report = run(store, data)

    assert [str(p) for p in report.problems] == [
        "line 4: order #1001 already began at line 2; its rows must be next to each other"
    ]
    assert Order.objects.count() == 2


def test_missing_columns_refuse_the_file():
    store = StoreFactory()
    with pytest.raises(OrderFileError, match="Missing columns: total, currency"):
        run(store, csv_bytes(["order_number", "email", "created_at"], [["1", "a@b.example", "x"]]))


def test_quoted_multiline_note_keeps_line_numbers_of_following_rows():
    store = StoreFactory()
    data = csv_bytes(
        SHOPIFY_HEADER,
        [first_row("#1001", Notes="Leave at\nthe back door"), first_row("#1002", total="x")],
    )

    report = run(store, data)

    assert [str(p) for p in report.problems] == ["line 4: total “x” is not an amount"]


def test_xlsx_is_read_row_by_row_with_bad_rows_by_line():
    import openpyxl

    store = StoreFactory()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["order_number", "email", "created_at", "total", "currency"])
    sheet.append(
        [
            "X1",
            "a@mail.example",
            datetime(2026, 1, 5, 9, 0),  # noqa: DTZ001 - a sheet cell has no zone
            12.5,
            "USD",
        ]
    )
    sheet.append(["X2", "b@mail.example", "not a date", 3, "USD"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = run(store, buffer.getvalue(), name="orders.xlsx")

    assert [str(p) for p in report.problems] == ["line 3: created_at “not a date” is not a date"]
    with pytest.raises(OrderFileError, match="Not an .xlsx workbook"):
        run(store, b"PK\x03\x04", name="orders.xlsx")
    assert Order.objects.get(number_key="X1").total_price == Decimal("12.50")


def test_command_dry_run_prints_each_bad_line(tmp_path):
    store = StoreFactory()
    path = tmp_path / "orders_export.csv"
    path.write_bytes(
        csv_bytes(SHOPIFY_HEADER, [first_row("#1001"), first_row("#1002", email="x@")])
    )
    out = io.StringIO()

    call_command("import-orders", str(path), "--dry-run", "--store", store.slug, stdout=out)

    assert out.getvalue().splitlines() == [
        "line 3: “x@” is not an email address",
        "shopify_export: 2 rows, 1 valid orders (1 would be new, 0 already stored), 1 rows refused",
    ]
    assert not Order.objects.exists()


def test_command_needs_a_known_store(tmp_path):
    path = tmp_path / "o.csv"
    path.write_bytes(b"order_number\n")
    with pytest.raises(CommandError, match="no store yet"):
        call_command("import-orders", str(path))


def test_upload_page_dry_run_lists_bad_lines_then_imports(client, make_user):
    store = StoreFactory()
    client.force_login(make_user(Role.LEAD))
    data = csv_bytes(
        SHOPIFY_HEADER, [first_row("#1001"), first_row("#1002", **{"Currency": "XYZ"})]
    )

    dry = client.post(
        reverse("order_files:import"),
        {"store": store.pk, "dry_run": "on", "file": SimpleUploadedFile("orders_export.csv", data)},
    )

    assert dry.status_code == 200
    assert "line 3: currency “XYZ” is not an ISO 4217 code" in dry.content.decode()
    assert not Order.objects.exists()
    done = client.post(
        reverse("order_files:import"),
        {"store": store.pk, "file": SimpleUploadedFile("orders_export.csv", data)},
    )
    assert done.status_code == 200
    assert list(Order.objects.values_list("number", flat=True)) == ["#1001"]
    assert OrderImport.objects.filter(dry_run=False, orders_created=1, rows_refused=1).exists()


def test_upload_page_refuses_an_unreadable_file_with_a_message(client, make_user):
    store = StoreFactory()
    client.force_login(make_user(Role.ADMIN))

    response = client.post(
        reverse("order_files:import"),
        {"store": store.pk, "file": SimpleUploadedFile("orders.pdf", b"%PDF-1.7")},
    )

    assert response.status_code == 400
    assert "Only .csv and .xlsx files can be imported" in response.content.decode()


def test_upload_page_history_query_count(client, make_user, django_assert_num_queries):
    store = StoreFactory()
    user = make_user(Role.LEAD)
    for n in range(3):
        do_import_orders(
            store, io.BytesIO(csv_bytes(SHOPIFY_HEADER, [first_row(f"#{n}")])), "a.csv", actor=user
        )
    client.force_login(user)
    client.get(reverse("order_files:import"))  # warm the session and permission caches

    with django_assert_num_queries(8):
        response = client.get(reverse("order_files:import"))

    assert response.content.decode().count("a.csv") == 3


def test_agents_may_not_import(agent_client):
    assert agent_client.get(reverse("order_files:import")).status_code == 403
