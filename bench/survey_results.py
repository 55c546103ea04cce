"""Benchmark: the survey results (page and API figures) over many answers.

    python bench/survey_results.py [--answers 100000 500000] [--seed 7]

For each size a fresh SQLite database (in a child process) is filled with survey invitations
spread over 12 months, a third of them answered (CSAT 1–5 or NPS 0–10, agents, intents,
channels and resolution kinds snapshotted), with bulk inserts. Then the results are built for
the last 30 days and the whole year, and the comments list is paged. Prints per size and
range: milliseconds (median of 3) and the query count, which must not grow with the answers.
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
BATCH = 20_000
INTENTS = ("order_status", "not_received", "damaged", "wrong_size", "product_question", "")
RESOLUTIONS = ("", "", "", "refund", "reship", "coupon")


def _fill(count: int, seed: int) -> None:
    from storedesk.accounts.models import User
    from storedesk.commerce.models import Store
    from storedesk.core.bulk import bulk_insert
    from storedesk.experience.models import SurveyInvitation, SurveyResponse

    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    store = Store.objects.create(name="Bench", slug="bench", domain="bench.example")
    agents = [User.objects.create(username=f"agent{n}").pk for n in range(12)]
    for start in range(0, count, BATCH):
        invitations, answers = [], []
        for n in range(start, min(count, start + BATCH)):
            at = END - timedelta(minutes=rng.randrange(365 * 24 * 60))
            kind = "csat" if rng.random() < 0.75 else "nps"
            answered = rng.random() < 0.35
            invitations.append(
                {
                    "kind": kind,
                    "store_id": store.pk,
                    "email": f"buyer{n}@mail.example",
                    "agent_id": rng.choice(agents) if kind == "csat" else None,
                    "intent": rng.choice(INTENTS) if kind == "csat" else "",
                    "channel": rng.choice(("email", "email", "chat", "form")),
                    "resolution_kind": rng.choice(RESOLUTIONS) if kind == "csat" else "",
                    "token_hash": f"{n:064d}",
                    "status": "sent",
                    "created_at": at,
                    "sent_at": at,
                    "expires_at": at + timedelta(days=30),
                    "answered_at": at + timedelta(hours=5) if answered else None,
                }
            )
            if answered:
                score = rng.randint(1, 5) if kind == "csat" else rng.randint(0, 10)
                comment = "Lovely ring, fast help" if rng.random() < 0.4 else ""
                answers.append((n, kind, score, comment, at + timedelta(hours=5)))
        bulk_insert(SurveyInvitation, invitations)
        ids = dict(
            SurveyInvitation.objects.filter(
                token_hash__in=[f"{n:064d}" for n, *_ in answers]
            ).values_list("token_hash", "pk")
        )
        bulk_insert(
            SurveyResponse,
            [
                {
                    "invitation_id": ids[f"{n:064d}"],
                    "kind": kind,
                    "score": score,
                    "comment": comment,
                    "created_at": at,
                    "commented_at": at if comment else None,
                }
                for n, kind, score, comment, at in answers
            ],
        )


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

    from storedesk.experience.queries import results_range, survey_comments, survey_results

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    _fill(count, seed)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    result = {"answers": count, "fill_s": round(time.perf_counter() - started, 1), "ranges": []}
    end = END.date()
    for label, first in (("30 days", end - timedelta(days=29)), ("365 days", date(2025, 7, 1))):
        period = results_range(first, end)
        times = []
        for _ in range(3):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                results = survey_results(period)
                times.append(time.perf_counter() - started)
        started = time.perf_counter()
        page = Paginator(survey_comments(period), 25).get_page(2)
        list(page)
        page_ms = (time.perf_counter() - started) * 1000
        result["ranges"].append(
            {
                "range": label,
                "responses": results.csat.responses + results.nps.responses,
                "ms": round(statistics.median(times) * 1000, 1),
                "queries": len(captured.captured_queries),
                "page_ms": round(page_ms, 1),
            }
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, nargs="+", default=[100_000, 500_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.answers[0], args.seed)))
        return
    print(
        f"{'invitations':>11} {'fill s':>7} {'range':>9} {'answers':>8} {'results ms':>11} "
        f"{'queries':>8} {'page ms':>8}"
    )
    for count in args.answers:
        result = measure_in_child(
            __file__,
            ["--answers", str(count), "--seed", str(args.seed)],
            prefix="survey-results-bench-",
        )
        for row in result["ranges"]:
            print(
                f"{result['answers']:>11} {result['fill_s']:>7} {row['range']:>9} "
                f"{row['responses']:>8} {row['ms']:>11} {row['queries']:>8} {row['page_ms']:>8}"
            )


if __name__ == "__main__":
    main()
