"""Benchmark: the scaled-out desk under load, with a worker killed mid-way.

    python bench/scale_out.py [--payments 400] [--mails 400] [--replies 200] [--webs 2]
                              [--workers 2] [--threads 16] [--shared-dir ../shared]

The same set-up as tests/scale_out/test_scale_out.py (bench/_scale_out.py), at a larger scale:
PostgreSQL (PG_URL_BASE, a database of its own, dropped afterwards), Redis as the cache
(SCALE_OUT_REDIS_URL), N `storedesk web`, M `storedesk worker` and one `storedesk scheduler`
on loopback. It sends signed Stripe dispute events (a fifth redelivered), inbound mail through
Postmark's webhook (a fifth posted twice) and agent replies through the API, SIGKILLs one
worker half-way, waits until everything is done, checks it was done once, and prints:
Stripe events applied per second and mail stored and acknowledged per second (from the rows'
own timestamps, first received to last done), and the p50/p95 of the inbox page, fetched by a
logged-in agent every 0.2 s while the load runs. Stripe's `event` and `dispute` objects come
from the shared fixtures (../shared/fixtures/stripe).
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import _scale_out as scale_out  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--payments", type=int, default=400, help="Stripe dispute events")
    parser.add_argument("--mails", type=int, default=400)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--webs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16, help="concurrent senders")
    parser.add_argument(
        "--shared-dir",
        default=os.environ.get("STOREDESK_SHARED_DIR") or str(ROOT.parent / "shared"),
    )
    args = parser.parse_args()
    stripe_dir = Path(args.shared_dir) / "fixtures" / "stripe"
    if not stripe_dir.exists():
        parser.error(f"Stripe fixtures not found under {stripe_dir} (see --shared-dir)")
    if reason := scale_out.unreachable():
        parser.error(reason)
    stripe_event = json.loads((stripe_dir / "fixtures3.json").read_text())["resources"]["event"]
    stripe_dispute = json.loads(
        (stripe_dir / "dj-stripe" / "dispute_dp_fakefakefakefake01.json").read_text()
    )
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="scale-out-") as workdir,
        scale_out.Cluster(
            Path(workdir), payments=args.payments, webs=args.webs, workers=args.workers
        ) as cluster,
    ):
        print(
            f"{args.webs} web, {args.workers} worker, 1 scheduler; database {cluster.database}; "
            f"prepared in {cluster.timings['prepare_seconds']:.0f} s, "
            f"started in {cluster.timings['start_seconds']:.0f} s",
            flush=True,
        )
        load = scale_out.run_load(
            cluster,
            stripe_event=stripe_event,
            stripe_dispute=stripe_dispute,
            mails=args.mails,
            replies=args.replies,
            threads=args.threads,
            settle_timeout=900,
        )
        outcome = scale_out.check(cluster, load)
    counts, figures = outcome.counts, outcome.figures
    twice = sum(1 for times in outcome.sent_per_message_id.values() if times > 1)
    load_after = os.getloadavg()
    print(
        f"\nLoad: {load.stripe_events} Stripe events (+{load.stripe_redeliveries} redelivered), "
        f"{load.mails} mails (+{load.mail_retries} posted twice), {load.replies} replies "
        f"(+{load.reply_retries} retried), from {args.threads} threads; sent in "
        f"{load.sent_seconds:.1f} s, all done {load.settled_seconds:.1f} s after the start."
    )
    print(f"Killed {load.killed['name']} mid-way; it was running: {load.killed['running']}")
    print(f"  Stripe events applied  {figures['stripe_events_per_second']:8.1f} /s")
    print(f"  mail stored + acked    {figures['mail_per_second']:8.1f} /s")
    print(
        f"  inbox page             p50 {figures['inbox_p50_ms']:.0f} ms, "
        f"p95 {figures['inbox_p95_ms']:.0f} ms ({figures['inbox_samples']} fetches under load)"
    )
    print(
        f"Once: {counts['stripe_events_processed']}/{load.stripe_events} events applied, "
        f"{counts['disputes']} disputes, {counts['inbound_mail']}/{load.mails} mails stored, "
        f"{counts['acknowledgements']} acknowledgements (tickets acknowledged twice: "
        f"{counts['tickets_acknowledged_twice']}), {counts['replies']}/{load.replies} replies, "
        f"{counts['outbound_sent']} mails sent ({twice} sent twice, "
        f"{counts['outbound_not_sent']} unresolved), tasks left {counts['tasks_left']}, "
        f"failed {counts['tasks_failed']}, abandoned {counts['tasks_abandoned']}; "
        f"HTTP errors {len(load.errors)}."
    )
    print(
        f"Load average before {load_before[0]:.2f}, after {load_after[0]:.2f} on "
        f"{os.cpu_count()} CPUs (a shared machine: other work runs beside this)."
    )


if __name__ == "__main__":
    main()
