"""Import orders from a file through the commerce bulk services: streamed, batched, idempotent.

Orders go to `commerce.services.do_ingest_orders`, which skips order numbers already stored, so
importing the same file twice changes nothing. Refused rows are reported with their line.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import batched
from typing import IO

from storedesk.audit.services import record_audit
from storedesk.commerce.ingest import OrderIn
from storedesk.commerce.models import Order, Store
from storedesk.commerce.services import do_ingest_orders
from storedesk.integrations.order_files.mapping import RowProblem, detect_layout, parse_orders
from storedesk.integrations.order_files.models import OrderImport
from storedesk.integrations.order_files.reader import read_rows

ORDERS_PER_BATCH = 500
PROBLEMS_KEPT = 500  # on the history row; the command prints every one


@dataclass
class ImportReport:
    layout: str = ""
    dry_run: bool = False
    rows_read: int = 0
    orders_valid: int = 0
    orders_created: int = 0
    orders_already_stored: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    record: OrderImport | None = None

    @property
    def rows_refused(self) -> int:
        return len(self.problems)


def do_import_orders(
    store: Store,
    stream: IO[bytes],
    file_name: str,
    *,
    dry_run: bool = False,
    actor=None,
    batch_size: int = ORDERS_PER_BATCH,
) -> ImportReport:
    """Read, check and (unless `dry_run`) store the orders of a file; one transaction per batch.

    Raises `OrderFileError` when the file as a whole cannot be read; a bad row never stops
    the others.
    """
    header, rows = read_rows(stream, file_name)
    report = ImportReport(layout=detect_layout(header), dry_run=dry_run)

    def counted_rows():
        for line, row in rows:
            report.rows_read += 1
            yield line, row

    def valid_orders() -> Iterator[OrderIn]:
        for parsed in parse_orders(report.layout, counted_rows(), store.timezone):
            if parsed.problems:
                report.problems.extend(parsed.problems)
            else:
                report.orders_valid += 1
                yield parsed.order

    if dry_run:
        for batch in batched(valid_orders(), batch_size):
            keys = [order.number_key for order in batch]
            report.orders_already_stored += Order.objects.filter(
                store=store, number_key__in=keys
            ).count()
    else:
        result = do_ingest_orders(store, valid_orders(), actor=actor, batch_size=batch_size)
        report.orders_created = result.orders_created
        report.orders_already_stored = result.orders_skipped
    report.record = OrderImport.objects.create(
        store=store,
        file_name=file_name[:255],
        layout=report.layout,
        dry_run=dry_run,
        rows_read=report.rows_read,
        orders_valid=report.orders_valid,
        orders_created=report.orders_created,
        orders_already_stored=report.orders_already_stored,
        rows_refused=report.rows_refused,
        problems=[str(problem) for problem in report.problems[:PROBLEMS_KEPT]],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    if not dry_run:
        record_audit(
            actor=actor,
            action="orders.imported",
            obj=report.record,
            changes={
                "file": file_name,
                "created": report.orders_created,
                "already_stored": report.orders_already_stored,
                "rows_refused": report.rows_refused,
            },
        )
    return report
