"""`storedesk demo`: load the deterministic demo store (see storedesk.demo.loader)."""

import time
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from storedesk.commerce.models import Store
from storedesk.demo.loader import (
    DEMO_URL,
    MAX_ORDERS,
    demo_store,
    ensure_demo_users,
    load_demo,
    reset_demo,
)


def _positive_orders(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"--orders must be a whole number, got {value!r}") from None
    if number < 1 or number > MAX_ORDERS:
        raise CommandError(f"--orders must be between 1 and {MAX_ORDERS:,}, got {number:,}")
    return number


def _months(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"--months must be a whole number, got {value!r}") from None
    if not 1 <= number <= 60:
        raise CommandError(f"--months must be between 1 and 60, got {number}")
    return number


def _end(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--end must be a date as YYYY-MM-DD, got {value!r}") from None
    if day.year < 2000 or day.year > 2100:
        raise CommandError(f"--end must be between 2000 and 2100, got {value}")
    return day


class Command(BaseCommand):
    help = (
        "Load the deterministic demo store (a Hanoi jewelry shop selling to the US), with "
        "users agent/lead/payments/admin (password 'storedesk-demo'). The same --seed, "
        "--orders, --months and a past --end always give the same data; without --end (or "
        "with today's date) the demo ends at the real now, so pass a past --end for a "
        "reproducible store."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--orders",
            type=str,
            default="20000",
            help="number of orders (1 to 5,000,000; default 20,000)",
        )
        parser.add_argument(
            "--months", type=str, default="12", help="months of history (1 to 60; default 12)"
        )
        parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
        parser.add_argument(
            "--end",
            type=str,
            default=None,
            help="last simulated day, YYYY-MM-DD, ending at midnight UTC or at the real now if "
            "sooner (default: today, up to now)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing but print the logins when a store exists",
        )
        parser.add_argument("--reset", action="store_true", help="wipe the demo store first")
        parser.add_argument(
            "--train-now",
            action="store_true",
            help="train the risk model within the load (by default a task does it, which the "
            "worker of `storedesk run` takes at once: the load does not wait for the fit)",
        )
        parser.add_argument("--batch-size", type=int, default=2000, help=False and "")
        parser.add_argument(
            "--via-webhooks",
            nargs="?",
            const="",
            default=None,
            metavar="URL",
            help="also send a share of new orders, fulfilments, refunds and disputes as signed "
            "Shopify webhooks: to the desk running at URL (its worker applies them), or without "
            "a URL through this process's WSGI application, applied at once",
        )
        parser.add_argument(
            "--webhook-orders",
            type=int,
            default=60,
            help="orders sent through the webhooks (default 60)",
        )

    def handle(self, *args, **options):
        orders = _positive_orders(options["orders"])
        months = _months(options["months"])
        end = _end(options["end"]) if options["end"] else None
        if not 1 <= options["webhook_orders"] <= 10_000:
            raise CommandError(
                f"--webhook-orders must be between 1 and 10,000, got {options['webhook_orders']}"
            )
        if options["if_empty"] and Store.objects.exists():
            self.stdout.write("A store exists already; not loading the demo.")
            self._print_logins(ensure_demo_users())
            return
        if demo_store() is not None:
            if not options["reset"]:
                raise CommandError("the demo store exists already; use --reset to reload it")
            started = time.perf_counter()
            reset_demo()
            self.stdout.write(f"Wiped the demo store in {time.perf_counter() - started:.1f} s")
        logins = ensure_demo_users()
        summary = load_demo(
            orders=orders,
            months=months,
            seed=options["seed"],
            end=end,
            batch_size=options["batch_size"],
            progress=self._progress(orders),
            train_in_worker=not options["train_now"],
        )
        self._print_summary(summary, options["seed"], months, end)
        if options["via_webhooks"] is not None:
            self._via_webhooks(summary.store, options)
        self._print_logins(logins)

    def _via_webhooks(self, store, options) -> None:
        from storedesk.demo.webhooks import send_via_webhooks

        count = options["webhook_orders"]
        url = options["via_webhooks"]
        result = send_via_webhooks(store, count=count, seed=options["seed"], url=url)
        sent = ", ".join(f"{n} {topic}" for topic, n in sorted(result.sent.items()))
        answers = ", ".join(f"{n}× {code}" for code, n in sorted(result.answers.items()))
        self.stdout.write(f"Through the front door (Shopify webhooks): {sent}; answers {answers}")
        if url:
            self.stdout.write("  the desk's worker applies them (`storedesk worker`)")
        else:
            self.stdout.write(f"  {result.applied} deliveries applied")

    def _progress(self, total: int):
        step = max(total // 10, 50_000)
        state = {"next": step}

        def report(done: int) -> None:
            if done >= state["next"]:
                state["next"] += step
                self.stdout.write(f"  … {done:,} / {total:,} orders")

        return report

    def _print_summary(self, summary, seed: int, months: int, end) -> None:
        rate = summary.orders / summary.seconds if summary.seconds else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {summary.store.name}: {summary.orders:,} orders over {months} months "
                f"(seed {seed}, end {end or 'now'}) in {summary.seconds:.1f} s "
                f"({rate:,.0f} orders/s)"
            )
        )
        for key, value in sorted(summary.counters.items()):
            self.stdout.write(f"  {key:<45} {value:>10,}")
        for key, seconds in summary.timings.items():
            if seconds >= 0.05:
                self.stdout.write(f"  time {key:<40} {seconds:>9.1f} s")

    def _print_logins(self, logins) -> None:
        self.stdout.write(f"\nOpen {DEMO_URL} and sign in:")
        self.stdout.write(f"  {'URL':<24} {'username':<10} {'password':<16} role")
        for username, password, role in logins:
            self.stdout.write(f"  {DEMO_URL:<24} {username:<10} {password:<16} {role}")
        if settings.STOREDESK_REQUIRE_2FA:
            self.stdout.write(
                "\nadmin and payments also sign in with a code from an authenticator app: at "
                "their first sign-in the desk shows a QR code to scan (and a key to type) and "
                "asks for one code to confirm. To try the desk without a phone, run it with "
                "STOREDESK_REQUIRE_2FA=0."
            )
