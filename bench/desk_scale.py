"""Benchmark: the desk at scale (default 1M tickets / ~5M messages) on SQLite or PostgreSQL.

    python bench/desk_scale.py [--tickets 1000000] [--seed 7] [--var-dir DIR] [--runs 30]
                               [--keep-triggers]

Generates tickets and messages set-based (`core.bulk.bulk_insert`) with a realistic mix:
mostly closed history and a live backlog (new/open/pending/on hold), 20 agents, 40 tags,
email/form/chat/api, 1-15 messages per ticket (about 5 on average) of varied length. The
full-text triggers of desk migration 0002 are dropped during the load and the FTS5 indexes
rebuilt once at the end (`--keep-triggers` loads through them, to compare the rates). Then
it times server-side, with a logged-in agent and Django's test Client, p50/p95 of: the inbox
views (mine, unassigned, all open, urgent, by tag; and 'all open' when the sidebar's counts,
kept for 30 s, have expired: all of them, or only the agent's own view counts while the
team's shared tag counts are still kept), the ticket page, and search
(`desk.search.search`), with the p50 and p95 of the process's CPU time beside the wall time.
Targets: inbox and ticket page < 50 ms p95, search < 100 ms p95.
`--var-dir` keeps (and on a second run reuses) the generated database.

With `DATABASE_URL=postgres://…/db` the same load and the same measures run on PostgreSQL (the
database is kept and reused like `--var-dir`); there the full-text GIN indexes of desk
migration 0002 are dropped during the load and built once at the end, then ANALYZE.
"""

import argparse
import importlib
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CHUNK = 20_000  # tickets per insert round
AGENTS = 20
TAGS = [
    "where-is-my-order", "tracking-not-updating", "not-received", "delivered-not-received",
    "wrong-item", "wrong-size", "damaged", "return-exchange", "refund-request", "cancel-change",
    "payment-problem", "unrecognized-charge", "discount-price", "product-question", "warranty",
    "compliment", "bad-review-threat", "chargeback-threat", "vip", "gift", "rush", "usps", "ups",
    "dhl", "fedex", "ring", "necklace", "earrings", "bracelet", "pearl", "engraving", "resize",
    "escalated", "follow-up", "wholesale", "press", "influencer", "spam", "duplicate", "fraud",
]  # fmt: skip
# The last two weeks are live (about 15k tickets at 30k a month); older history is settled.
LIVE = timedelta(days=14)
STATUSES = [("closed", 0.35), ("solved", 0.25), ("pending", 0.15), ("open", 0.12),
            ("new", 0.08), ("on_hold", 0.05)]  # fmt: skip
CHANNELS = [("email", 0.70), ("form", 0.15), ("chat", 0.12), ("api", 0.03)]
PRIORITIES = [(1, 0.2), (2, 0.6), (3, 0.15), (4, 0.05)]
SENTENCES = [
    "I ordered the pearl necklace two weeks ago and it still has not arrived.",
    "The tracking number hasn't updated since it left the sorting facility.",
    "My ring arrived today but it is a size too small, can I exchange it?",
    "The clasp on the bracelet broke the first time I wore it.",
    "Tracking says delivered but there was nothing at my door or in my mailbox.",
    "I see a charge from TINYPEARL on my statement that I don't recognize.",
    "Could you please cancel my order, I placed it twice by mistake.",
    "Is the chain sterling silver or plated? I have sensitive skin.",
    "Thank you so much, my mom loved the earrings!",
    "If I don't get a refund this week I will dispute the charge with my bank.",
    "We're sorry for the wait; the carrier has opened a trace for your parcel.",
    "I've refunded the full amount to your original payment method.",
    "Your replacement ships tomorrow with expedited shipping at no cost.",
    "Please send us a photo of the damage so we can arrange a replacement.",
    "The engraving on the pendant is misspelled, it should say Olivia.",
    "Do you offer gift wrapping and a handwritten note?",
]
FIRST = "Emma Olivia Ava Sophia Mia Liam Noah James Lucas Ethan Grace Chloe Zoe Ruby".split()
LAST = "Smith Johnson Brown Garcia Miller Davis Wilson Moore Taylor Clark Lewis Hall".split()


def _setup_django(var_dir: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.prod")
    os.environ["STOREDESK_VAR_DIR"] = var_dir
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _pick(rng: random.Random, weighted):
    roll = rng.random()
    for value, weight in weighted:
        if roll < weight:
            return value
        roll -= weight
    return weighted[-1][0]


def _fts_migration():
    return importlib.import_module("storedesk.desk.migrations.0002_full_text_search")


def _fts_sql():
    return [sql for sql in _fts_migration().SQLITE_FORWARD if "AFTER INSERT" in sql]


def _before_load(cursor, vendor: str, keep_triggers: bool) -> None:
    """Leave the full-text index out of the load (built once at the end); SQLite's pragmas."""
    if vendor == "postgresql":
        if not keep_triggers:
            for sql in _fts_migration().POSTGRES_BACKWARD:
                cursor.execute(sql)
        return
    if not keep_triggers:
        cursor.execute("DROP TRIGGER IF EXISTS desk_ticket_fts_insert")
        cursor.execute("DROP TRIGGER IF EXISTS desk_message_fts_insert")
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA cache_size=-262144")


def _after_load(cursor, vendor: str, keep_triggers: bool, stats: dict) -> None:
    mark = time.perf_counter()
    if vendor == "postgresql":
        if not keep_triggers:
            for sql in _fts_migration().POSTGRES_FORWARD:
                cursor.execute(sql)
        stats["fts_seconds"] = time.perf_counter() - mark
        mark = time.perf_counter()
        cursor.execute("ANALYZE")
        stats["analyze_seconds"] = time.perf_counter() - mark
        return
    if not keep_triggers:
        for sql in _fts_sql():
            cursor.execute(sql)
        cursor.execute("INSERT INTO desk_ticket_fts(desk_ticket_fts) VALUES ('rebuild')")
        cursor.execute("INSERT INTO desk_message_fts(desk_message_fts) VALUES ('rebuild')")
    stats["fts_seconds"] = time.perf_counter() - mark
    mark = time.perf_counter()
    cursor.execute("PRAGMA analysis_limit=2000")
    cursor.execute("ANALYZE")
    cursor.execute("PRAGMA synchronous=NORMAL")
    stats["analyze_seconds"] = time.perf_counter() - mark


def generate(count: int, seed: int, keep_triggers: bool) -> dict:
    """Write `count` tickets with their messages, participants, tags and events."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from storedesk.accounts.models import User
    from storedesk.accounts.roles import Role
    from storedesk.accounts.services import do_create_user
    from storedesk.commerce.models import Store
    from storedesk.commerce.services import do_create_store
    from storedesk.core.bulk import bulk_insert
    from storedesk.core.models import NamedSequence
    from storedesk.desk.models import Message, Participant, Tag, Ticket, TicketEvent
    from storedesk.desk.services import FIRST_TICKET_NUMBER, TICKET_COUNTER

    rng = random.Random(seed)  # noqa: S311  (a reproducible load, not a secret)
    store = Store.objects.first() or do_create_store(
        name="Tiny Pearl Jewelry",
        slug="tiny-pearl",
        domain="tinypearl.example",
        support_email="care@tinypearl.example",
        order_number_prefix="#TP",
    )
    if not User.objects.filter(username="agent").exists():
        do_create_user(
            username="agent",
            email="agent@tinypearl.example",
            password="bench-only",  # noqa: S106
            roles=[Role.AGENT],
        )
    password = make_password(None)
    bulk_insert(
        User,
        [
            {
                "username": f"agent{n}",
                "email": f"agent{n}@tinypearl.example",
                "password": password,
                "is_active": True,
                "date_joined": datetime.now(tz=UTC),
            }
            for n in range(1, AGENTS)
        ],
        ignore_conflicts=True,
    )
    agents = list(User.objects.filter(username__startswith="agent").values_list("pk", flat=True))
    Tag.objects.bulk_create([Tag(name=name) for name in TAGS], ignore_conflicts=True)
    tags = list(Tag.objects.filter(name__in=TAGS).values_list("pk", flat=True))
    now = datetime.now(tz=UTC).replace(microsecond=0)
    span = timedelta(days=max(30, count // 1000))  # about 30k tickets a month
    first = FIRST_TICKET_NUMBER + Ticket.objects.count()
    stats = {"tickets": 0, "messages": 0}
    cursor = connection.cursor()
    _before_load(cursor, connection.vendor, keep_triggers)
    started = time.perf_counter()
    for chunk_start in range(0, count, CHUNK):
        size = min(CHUNK, count - chunk_start)
        tickets, plans = [], []
        for offset in range(size):
            index = chunk_start + offset
            created = now - span * (1 - index / count) - timedelta(minutes=rng.randint(0, 600))
            age = now - created
            if age > LIVE:  # history: settled, but for a few stale tickets
                status = "closed" if rng.random() < 0.997 else rng.choice(["on_hold", "pending"])
            else:
                status = _pick(rng, STATUSES)
            n_messages = 1 + min(14, int(rng.expovariate(1 / 4)))
            last = created + timedelta(hours=rng.randint(1, 30) * n_messages)
            last = min(last, now)
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            email = f"{name.lower().replace(' ', '.')}{index % 50_000}@example.com"
            assigned = status != "new" or rng.random() < 0.3
            tickets.append(
                {
                    "number": first + index,
                    "store_id": store.pk,
                    "subject": rng.choice(SENTENCES)[:60],
                    "requester_email": email,
                    "requester_name": name,
                    "channel": _pick(rng, CHANNELS),
                    "status": status,
                    "priority": _pick(rng, PRIORITIES),
                    "stage": "close" if status in ("solved", "closed") else "handle",
                    "assignee_id": rng.choice(agents) if assigned else None,
                    "created_at": created,
                    "updated_at": last,
                    "last_message_at": last,
                    "last_customer_message_at": last,
                    "first_response_at": created + timedelta(hours=2) if n_messages > 1 else None,
                    "solved_at": last if status in ("solved", "closed") else None,
                    "closed_at": last + timedelta(days=4) if status == "closed" else None,
                    "message_count": n_messages,
                }
            )
            plans.append((n_messages, created, last, email, name))
        with transaction.atomic():
            bulk_insert(Ticket, tickets)
            ids = dict(
                Ticket.objects.filter(
                    number__gte=first + chunk_start, number__lt=first + chunk_start + size
                ).values_list("number", "pk")
            )
            messages, participants, events, tag_rows = [], [], [], []
            for offset, (n_messages, created, last, email, name) in enumerate(plans):
                ticket_id = ids[first + chunk_start + offset]
                step = (last - created) / n_messages
                for m in range(n_messages):
                    inbound = m % 2 == 0
                    text = " ".join(rng.choices(SENTENCES, k=rng.randint(1, 12)))
                    messages.append(
                        {
                            "ticket_id": ticket_id,
                            "kind": "inbound" if inbound else "outbound",
                            "channel": "email",
                            "author_id": None if inbound else rng.choice(agents),
                            "from_email": email if inbound else "care@tinypearl.example",
                            "from_name": name,
                            "to": [],
                            "cc": [],
                            "subject": tickets[offset]["subject"],
                            "text": text,
                            "html": f"<p>{text}</p>",
                            "new_text": text,
                            "quoted_text": "",
                            "signature": "",
                            "message_id": f"<{ticket_id}.{m}.{seed}@bench.example>",
                            "in_reply_to": "",
                            "references": [],
                            "headers": {},
                            "is_automatic": False,
                            "automatic_reason": "",
                            "raw": "",
                            "delivery": "none" if inbound else "sent",
                            "delivery_error": "",
                            "created_at": created + step * m,
                        }
                    )
                participants.append(
                    {"ticket_id": ticket_id, "email": email, "name": name, "role": "requester"}
                )
                events.append(
                    {
                        "ticket_id": ticket_id,
                        "kind": "created",
                        "actor_label": "system",
                        "data": {},
                        "created_at": created,
                    }
                )
                for tag in rng.sample(tags, rng.choice([0, 1, 1, 2, 3])):
                    tag_rows.append({"ticket_id": ticket_id, "tag_id": tag})
            bulk_insert(Message, messages)
            bulk_insert(Participant, participants, ignore_conflicts=True)
            bulk_insert(TicketEvent, events)
            bulk_insert(Ticket.tags.through, tag_rows)
        stats["tickets"] += size
        stats["messages"] += len(messages)
        elapsed = time.perf_counter() - started
        print(
            f"  {stats['tickets']:>9,} tickets {stats['messages']:>10,} messages "
            f"{elapsed:7.1f} s ({stats['messages'] / elapsed:,.0f} messages/s)",
            flush=True,
        )
    stats["load_seconds"] = time.perf_counter() - started
    _after_load(cursor, connection.vendor, keep_triggers, stats)
    NamedSequence.objects.update_or_create(
        name=TICKET_COUNTER, defaults={"value": first + count - 1}
    )
    return stats


def _p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


def _timed(fn, runs: int) -> tuple[float, float, float, float]:
    """Wall p50 and p95, and the p50 and p95 of this process's CPU time (on a shared machine
    the wall time also counts the waits for a CPU)."""
    for _ in range(2):
        fn()
    samples, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return statistics.median(samples), _p95(samples), statistics.median(cpu), _p95(cpu)


def measure(runs: int, seed: int) -> list[tuple[str, float, float, float, float]]:
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from storedesk.accounts.models import User
    from storedesk.desk.models import Ticket
    from storedesk.desk.queries import TAG_COUNTS_KEY, TEAM_VIEW_COUNTS_KEY, view_counts_key
    from storedesk.desk.search import search

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rng = random.Random(seed)  # noqa: S311  (a reproducible load, not a secret)
    agent = User.objects.get(username="agent")
    client = Client()
    client.force_login(agent)
    inbox = reverse("desk:inbox")
    results = []

    def page(url):
        def get():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return get

    for label, query in [
        ("inbox: mine", "?view=mine"),
        ("inbox: unassigned", "?view=unassigned"),
        ("inbox: all open", "?view=open"),
        ("inbox: urgent", "?view=urgent"),
        ("inbox: tag damaged", "?view=tag:damaged"),
        ("inbox: all open, next page", None),
    ]:
        if query is None:
            response = client.get(inbox + "?view=open")
            marker = 'name="after" value="'
            html = response.content.decode()
            if "after=" not in html:
                continue
            start = html.index("after=") + len("after=")
            after = html[start : html.index('"', start)].split("&")[0]
            query = f"?view=open&after={after}"
            del marker
        results.append((label, *_timed(page(inbox + query), runs)))

    def recounted():  # the request that finds the kept counts expired
        cache.delete_many([TAG_COUNTS_KEY, TEAM_VIEW_COUNTS_KEY, view_counts_key(agent)])
        page(inbox + "?view=open")()

    def recounted_views():  # the agent's own counts expired (every 30 s per agent); the
        cache.delete(view_counts_key(agent))  # team's view and tag counts are shared, so most
        page(inbox + "?view=open")()  # such requests find them kept

    results.append(("inbox: all open, counts expired", *_timed(recounted, runs)))
    results.append(("inbox: all open, own counts expired", *_timed(recounted_views, runs)))
    numbers = list(
        Ticket.objects.filter(status__in=["new", "open", "pending"])
        .order_by("?")
        .values_list("number", flat=True)[: runs + 2]
    )
    numbers += list(Ticket.objects.order_by("?").values_list("number", flat=True)[: runs + 2])
    rng.shuffle(numbers)
    urls = iter([reverse("desk:ticket", args=[n]) for n in numbers] * 2)
    results.append(("ticket page", *_timed(lambda: page(next(urls))(), runs)))
    for query in ["necklace broken", "tracking", "refund dispute bank", "olivia.smith", "TP-1500"]:
        results.append(
            (
                f"search: {query!r}",
                *_timed(lambda q=query: search(q, kinds=("tickets", "messages")), runs),
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--var-dir", default="")
    parser.add_argument("--keep-triggers", action="store_true")
    args = parser.parse_args()
    if args.tickets < 1:
        parser.error("--tickets must be at least 1")
    var_dir = args.var_dir or tempfile.mkdtemp(prefix="desk-scale-")
    _setup_django(var_dir)
    from django.db import connection

    from storedesk.desk.models import Message, Ticket

    existing = Ticket.objects.count()
    where = var_dir if connection.vendor == "sqlite" else connection.settings_dict["NAME"]
    print(f"Database: {connection.vendor} {where}")
    if existing < args.tickets:
        print(f"Generating {args.tickets - existing:,} tickets …")
        stats = generate(args.tickets - existing, args.seed, args.keep_triggers)
        rate = stats["messages"] / stats["load_seconds"]
        print(
            f"Generated {stats['tickets']:,} tickets / {stats['messages']:,} messages: load "
            f"{stats['load_seconds']:.1f} s ({rate:,.0f} messages/s, FTS triggers "
            f"{'kept' if args.keep_triggers else 'dropped'}), full-text index "
            f"{stats['fts_seconds']:.1f} s, ANALYZE {stats['analyze_seconds']:.1f} s"
        )
    tickets, messages = Ticket.objects.count(), Message.objects.count()
    load = os.getloadavg()
    print(
        f"\nScale: {tickets:,} tickets, {messages:,} messages. "
        f"Load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs."
    )
    print(f"{'':34} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'CPU p95':>8}  target (p95)")
    for label, p50, p95, cpu_p50, cpu_p95 in measure(args.runs, args.seed):
        target = 100 if label.startswith("search") else 50
        verdict = "ok" if p95 < target else "SLOW"
        figures = f"{p50:8.1f} {p95:8.1f} {cpu_p50:8.1f} {cpu_p95:8.1f}"
        print(f"{label:34} {figures}  <{target} {verdict}")
    load = os.getloadavg()
    print(f"Load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
