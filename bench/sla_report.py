"""Benchmark: the SLA report (Triage → SLA report) over many tickets.

    python bench/sla_report.py [--tickets 100000 500000] [--seed 7]

For each ticket count a fresh SQLite database (in a child process) is filled with tickets spread
over 12 months, each with an SLA clock on one of the default policies: stored first-response
and resolution business minutes (log-normal), some breaches. Then the report is built for the
last 30 days and the whole year, grouped by policy, priority and channel, and the page's ticket
list is paged. Prints per size and range: milliseconds (median of 3) and the query count, which
must not grow with the number of tickets.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from _django import measure_in_child

ROOT = Path(__file__).resolve().parents[1]
END = datetime(2026, 6, 30, 10, 0, tzinfo=UTC)
BATCH = 5000


def _fill(count: int, seed: int) -> None:
    from storedesk.desk.models import Channel, Ticket
    from storedesk.triage.models import SlaPolicy, TicketSla

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    policies = list(SlaPolicy.objects.values_list("pk", "first_response_minutes"))
    channels = [Channel.EMAIL] * 6 + [Channel.CHAT, Channel.FORM, Channel.API]
    for start in range(0, count, BATCH):
        tickets, clocks = [], []
        for n in range(start, min(count, start + BATCH)):
            created = END - timedelta(minutes=rng.randrange(365 * 24 * 60))
            solved = rng.random() < 0.8
            tickets.append(
                Ticket(
                    number=1000 + n,
                    channel=rng.choice(channels),
                    status=Ticket.Status.SOLVED if solved else Ticket.Status.OPEN,
                    priority=rng.choice((1, 2, 2, 2, 3, 4)),
                    created_at=created,
                    updated_at=created,
                    solved_at=created + timedelta(days=2) if solved else None,
                )
            )
        Ticket.objects.bulk_create(tickets)
        for ticket in Ticket.objects.filter(number__gte=1000 + start, number__lt=1000 + n + 1):
            policy, first = rng.choice(policies)
            clocks.append(
                TicketSla(
                    ticket=ticket,
                    policy_id=policy,
                    first_response_business_minutes=int(rng.lognormvariate(4, 1)),
                    resolution_business_minutes=(
                        int(rng.lognormvariate(6.5, 1)) if ticket.status == "solved" else None
                    ),
                    breach_count=int(rng.random() < 0.1),
                    updated_at=ticket.created_at,
                )
            )
        TicketSla.objects.bulk_create(clocks)


def measure(count: int, seed: int) -> dict:
    """Runs inside the child process, whose settings point at an empty database."""
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.prod")
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from storedesk.triage.queries import report_range, report_ticket_rows, sla_report

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    _fill(count, seed)
    result = {"tickets": count, "fill_s": round(time.perf_counter() - started, 1), "ranges": []}
    end = END.date()
    for label, first in (("30 days", end - timedelta(days=29)), ("365 days", date(2025, 7, 1))):
        period = report_range(first, end, "Asia/Ho_Chi_Minh")
        for group_by in ("policy", "priority", "channel"):
            times = []
            for _ in range(3):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    report = sla_report(period, group_by)
                    times.append(time.perf_counter() - started)
            started = time.perf_counter()
            page = Paginator(report_ticket_rows(period), 50).get_page(2)
            list(page)
            page_ms = (time.perf_counter() - started) * 1000
            result["ranges"].append(
                {
                    "range": label,
                    "group": group_by,
                    "in_range": report.total.tickets,
                    "ms": round(statistics.median(times) * 1000, 1),
                    "queries": len(captured.captured_queries),
                    "page_ms": round(page_ms, 1),
                }
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[100_000, 500_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.tickets[0], args.seed)))
        return
    print(
        f"{'tickets':>8} {'fill s':>7} {'range':>9} {'group':>9} {'in range':>9} "
        f"{'report ms':>10} {'queries':>8} {'page ms':>8}"
    )
    for count in args.tickets:
        result = measure_in_child(
            __file__,
            ["--tickets", str(count), "--seed", str(args.seed)],
            prefix="sla-report-bench-",
        )
        for row in result["ranges"]:
            print(
                f"{result['tickets']:>8} {result['fill_s']:>7} {row['range']:>9} "
                f"{row['group']:>9} {row['in_range']:>9} {row['ms']:>10} {row['queries']:>8} "
                f"{row['page_ms']:>8}"
            )


if __name__ == "__main__":
    main()
