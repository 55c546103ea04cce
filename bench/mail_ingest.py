"""Benchmark: email ingest (parse, thread, store) in messages/second on SQLite.

    python bench/mail_ingest.py [--conversations 1000] [--seed 7] [--preload 0]

Generates a corpus of realistic customer mail (first messages with HTML alternatives,
replies with quoted history and In-Reply-To/References to our replies, Outlook Thread-Index
conversations, subject tokens, auto-replies, small photo attachments), then ingests it with
`do_ingest_batch` into a fresh SQLite database (WAL, prod settings) in a temporary var dir,
in batches of 25 as the IMAP poller does (one commit per batch). `--preload N` first ingests
N older conversations, to show the rate does not fall as the tables grow. Agents' replies
are created between the mails (so customers can answer them) but are not timed.
Target: at least 300 messages/s.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from itertools import batched
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _django import setup_django  # noqa: E402  (after the path is set)

FIRST_NAMES = "Emma Olivia Ava Sophia Mia Liam Noah James Lucas Ethan Grace Chloe Zoe".split()
LAST_NAMES = "Smith Johnson Brown Garcia Miller Davis Wilson Moore Taylor Clark Lewis".split()
OPENINGS = [
    "Hi, I ordered the {item} on {day} and it still hasn't shipped. Order #{order}.",
    "Hello! My {item} arrived but the clasp is broken. Can I get a replacement? #{order}",
    "hey the tracking for order {order} hasnt updated in 6 days, is it lost??",
    "Hi there, I need to change the ring size on order #{order} from 6 to 7 please.",
    "I was charged twice for order {order}. Please refund the extra charge ASAP.",
    "The {item} says delivered but I never got it. I checked with my neighbors. Order {order}",
    "Can you tell me how to clean the {item}? It got a bit dull. Thanks!",
]
FOLLOW_UPS = [
    "Thanks for the quick answer! Any update on this?",
    "That doesn't help. I want a refund or I will dispute the charge with my bank.",
    "Ok, I'll wait a few more days. Thank you.",
    "I sent the photos you asked for. Let me know.",
    "Still nothing. This is really frustrating, I needed it for a birthday.",
]
ITEMS = ["pearl necklace", "silver ring", "gold hoop earrings", "charm bracelet", "pendant"]
SIGNATURES = ["", "\n\nSent from my iPhone", "\n\n--\nEmma\n555-0134", "\n\nGet Outlook for iOS"]
PHOTO = bytes(range(256)) * 40  # a 10 KB "photo"
BATCH_SIZE = 25  # as the IMAP poller fetches


def _mail(
    rng,
    *,
    sender,
    subject,
    text,
    message_id,
    when,
    in_reply_to="",
    references=(),
    html=True,
    headers=None,
    photo=False,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "Tiny Pearl Care <care@tinypearl.example>"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(when)
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(text)
    if html:
        paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n") if line)
        mail.add_alternative(f'<div dir="ltr">{paragraphs}</div>', subtype="html")
    if photo:
        mail.add_attachment(PHOTO, maintype="image", subtype="jpeg", filename="photo.jpg")
    return mail.as_bytes()


def conversation(rng, number: int, start: datetime):
    """Yield ("mail", raw) for customer mails and ("reply", message_id) where an agent answers."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    address = f"{first.lower()}.{last.lower()}{number}@mail.example"
    sender = f"{first} {last} <{address}>"
    order, item = 100000 + number, rng.choice(ITEMS)
    subject = rng.choice(["Where is my order?", "Problem with my order", "Question", "Refund"])
    text = rng.choice(OPENINGS).format(item=item, order=order, day="Monday")
    text += rng.choice(SIGNATURES)
    outlook = rng.random() < 0.2
    thread_index = f"AdmDKq0pvOcE0a1lT6yzdEvs{number:06d}==" if outlook else ""
    headers = {"Thread-Index": thread_index} if outlook else {}
    first_id = f"<c{number}.0@mail.example>"
    when = start
    yield (
        "mail",
        _mail(
            rng,
            sender=sender,
            subject=subject,
            text=text,
            message_id=first_id,
            when=when,
            headers=headers,
            photo=rng.random() < 0.1,
        ),
    )
    previous_text = text
    for turn in range(1, rng.choice([1, 2, 2, 3, 4])):
        our_id = yield "reply", first_id  # the driver sends back the agent's reply Message-ID
        when += timedelta(hours=rng.randint(1, 30))
        quoted = "\n".join(f"> {line}" for line in previous_text.split("\n"))
        body = rng.choice(FOLLOW_UPS) + rng.choice(SIGNATURES)
        body += f"\n\nOn {format_datetime(when)}, Tiny Pearl Care <care@tinypearl.example> wrote:\n"
        body += quoted
        token_subject = (
            f"Re: {subject} [#TP-{1000 + number}]" if rng.random() < 0.3 else f"Re: {subject}"
        )
        is_auto = rng.random() < 0.05
        extra = dict(headers)
        if is_auto:
            extra |= {"Auto-Submitted": "auto-replied"}
            body = "I am out of the office until Monday."
        yield (
            "mail",
            _mail(
                rng,
                sender=sender,
                subject=token_subject,
                text=body,
                message_id=f"<c{number}.{turn}@mail.example>",
                when=when,
                in_reply_to=our_id,
                references=[first_id, our_id],
                html=rng.random() < 0.7,
                headers=extra,
            ),
        )
        previous_text = body


def run(conversations: int, seed: int, preload: int) -> None:
    from django.db import connection

    from storedesk.accounts.models import User
    from storedesk.desk.mail_in import do_ingest_batch
    from storedesk.desk.mailparse import parse_email
    from storedesk.desk.models import Message
    from storedesk.desk.services import do_reply

    agent = User.objects.create(username="bench-agent")
    rng = random.Random(seed)  # noqa: S311  (a reproducible corpus, not a secret)
    start = datetime(2026, 5, 1, tzinfo=UTC)

    cpu_times: list[float] = []

    def drive(first: int, count: int, timed: list[float], raws: list[bytes]) -> None:
        """Rounds: each open conversation sends its next mail (agents answer between rounds,
        untimed); a round's mails are ingested in batches, as the IMAP poller does."""
        generators = [
            conversation(rng, n, start + timedelta(minutes=n)) for n in range(first, first + count)
        ]
        last_message = {}
        active = list(enumerate(generators))
        while active:
            arrived = []
            for index, generator in active:
                try:
                    kind, value = next(generator)
                    if kind == "reply":
                        ticket = last_message[index].ticket
                        ours = do_reply(ticket, author=agent, text="Thanks, we are checking.")
                        kind, value = generator.send(ours.message_id)
                    arrived.append((index, generator, value))
                except StopIteration:
                    pass
            for chunk in batched(arrived, BATCH_SIZE):
                began, cpu = time.perf_counter(), time.process_time()
                results = do_ingest_batch([("bench", raw) for _, _, raw in chunk])
                elapsed, cpu_used = time.perf_counter() - began, time.process_time() - cpu
                timed.extend([elapsed / len(chunk)] * len(chunk))
                cpu_times.extend([cpu_used / len(chunk)] * len(chunk))
                for (index, _, raw), result in zip(chunk, results, strict=True):
                    assert result.outcome == "stored", result
                    last_message[index] = result.message
                    raws.append(raw)
            active = [(index, generator) for index, generator, _ in arrived]

    if preload:
        began = time.perf_counter()
        drive(0, preload, [], [])
        print(
            f"preloaded {preload} conversations ({Message.objects.count()} messages) "
            f"in {time.perf_counter() - began:.1f} s"
        )
    timed, raws = [], []
    cpu_times.clear()
    drive(preload, conversations, timed, raws)
    total = sum(timed)
    parse_started = time.process_time()
    for raw in raws:
        parse_email(raw)
    parse_seconds = time.process_time() - parse_started
    threaded = Message.objects.filter(kind="inbound", in_reply_to__gt="").count()
    print(f"database: {connection.vendor}, messages in table: {Message.objects.count()}")
    print(
        f"ingested {len(timed)} mails from {conversations} conversations "
        f"({sum(len(r) for r in raws) / len(raws) / 1024:.1f} KB average)"
    )
    print(f"ingest rate: {len(timed) / total:.0f} messages/s (parse + thread + store)")
    print(
        f"CPU time of this process: {len(timed) / sum(cpu_times):.0f} messages/s "
        "(the rate on an otherwise idle machine; other work here shares its 2 cores)"
    )
    print(f"per mail (batch time / batch size): median {statistics.median(timed) * 1000:.2f} ms")
    print(f"parse alone: {len(raws) / parse_seconds:.0f} messages/s")
    print(f"replies threaded onto existing tickets: {threaded}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--preload", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storedesk-bench-") as var_dir:
        began = time.perf_counter()
        setup_django(var_dir)
        print(f"migrated a fresh database in {time.perf_counter() - began:.1f} s")
        run(args.conversations, args.seed, args.preload)


if __name__ == "__main__":
    main()
