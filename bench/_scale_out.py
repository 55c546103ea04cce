"""The documented scale-out, for real, on loopback: one PostgreSQL database of its own, Redis
as the cache, N `storedesk web`, M `storedesk worker` and one `storedesk scheduler` processes.

Shared by the test (tests/scale_out/test_scale_out.py) and the benchmark (bench/scale_out.py):
`Cluster` starts everything on free ports and drops the database afterwards, `run_load` sends
signed Stripe dispute events, inbound mail (Postmark's webhook) and agent replies (the API, with
a bearer token) from many threads at both web processes, SIGKILLs one worker mid-way, waits for
the desk to settle, and `check` counts what was applied, stored and sent.

`python -m bench._scale_out prepare --payments N` is the set-up step the cluster runs in a
process of its own (migrate, a store with N paid orders, a mailbox, an agent and a token).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import email
import hashlib
import hmac
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL_BASE = os.environ.get("PG_URL_BASE", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("SCALE_OUT_REDIS_URL", "redis://127.0.0.1:6379/0")
STRIPE_SECRET = "whsec_scale_out_" + "5f0c3a1d9b2e4f6a8c7d"
INBOUND_SECRET = "scale-out:inbound-webhook"  # noqa: S105 - anymail's basic auth, user:password
MAILBOX = "care@tinypearl.example"
AGENT = "scale-agent"
WORKER_LOST_ERROR = "storedesk.core.workers.WorkerLost"  # as storedesk.core.queries says
CHARGE = "ch_scale{:07d}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unreachable(pg_url_base: str = PG_URL_BASE, redis_url: str = REDIS_URL) -> str:
    """'' when PostgreSQL and Redis answer, else what is missing (the test skips with it)."""
    import psycopg
    import redis

    try:
        psycopg.connect(f"{pg_url_base}/postgres", connect_timeout=3, autocommit=True).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {pg_url_base} is unreachable: {error}".strip()
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis at {redis_url} is unreachable: {error}"
    return ""


# --- payloads ----------------------------------------------------------------------------------


def stripe_signature(body: bytes, secret: str = STRIPE_SECRET) -> str:
    """Stripe-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>"))."""
    timestamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def dispute_event(index: int, stripe_event: dict, stripe_dispute: dict) -> dict:
    """Stripe's own `event` and `dispute` objects, made about the index-th seeded charge."""
    dispute = copy.deepcopy(stripe_dispute) | {
        "id": f"dp_scale{index:07d}",
        "charge": CHARGE.format(index),
        "payment_intent": f"pi_scale{index:07d}",
    }
    return copy.deepcopy(stripe_event) | {
        "id": f"evt_scale{index:07d}",
        "type": "charge.dispute.created",
        "created": int(time.time()),
        "data": {"object": dispute},
    }


def postmark_inbound(index: int) -> dict:
    """A new customer's mail, as Postmark's inbound webhook posts it (see
    tests/integrations/test_inbound_webhooks.py for the same shape)."""
    sender = f"customer{index}@mail.example"
    text = f"Hi, order #TP{50000 + index} has not arrived yet. Can you check?\n\nCustomer {index}"
    return {
        "FromName": f"Customer {index}",
        "MessageStream": "inbound",
        "From": sender,
        "FromFull": {"Email": sender, "Name": f"Customer {index}", "MailboxHash": ""},
        "To": MAILBOX,
        "ToFull": [{"Email": MAILBOX, "Name": "", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "OriginalRecipient": MAILBOX,
        "Subject": f"Where is my order? ({index})",
        "MessageID": f"scale-{index}",
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Fri, 1 Aug 2025 16:45:32 -04:00",
        "TextBody": text,
        "HtmlBody": f"<p>{text}</p>",
        "StrippedTextReply": "",
        "Tag": "",
        "Headers": [{"Name": "Message-ID", "Value": f"<scale-{index}@mail.example>"}],
        "Attachments": [],
    }


# --- the cluster -------------------------------------------------------------------------------


@dataclass
class Cluster:
    """Start with `with Cluster(workdir, payments=N) as cluster:`; everything stops and the
    database is dropped on the way out, whatever happened."""

    workdir: Path
    payments: int
    webs: int = 2
    workers: int = 2
    pg_url_base: str = PG_URL_BASE
    redis_url: str = REDIS_URL
    task_lost_after_seconds: int = 10
    worker_interval: float = 0.2
    web_threads: int = 8
    database: str = field(default_factory=lambda: f"storedesk_scale_{secrets.token_hex(4)}")
    env: dict = field(default_factory=dict)
    token: str = ""
    agent_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    web_urls: list[str] = field(default_factory=list)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return f"{self.pg_url_base}/{self.database}"

    def __enter__(self) -> Cluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "mail").mkdir(exist_ok=True)
        self._admin(f'CREATE DATABASE "{self.database}"')
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "storedesk.settings.prod",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CACHE_KEY_PREFIX": self.database,
            "STOREDESK_VAR_DIR": str(self.workdir / "var"),  # shared media and uploads
            "SECRET_KEY": secrets.token_urlsafe(40),  # one key: sessions work on every web
            "EMAIL_URL": f"file://{self.workdir / 'mail'}",
            "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
            "ANYMAIL_WEBHOOK_SECRET": INBOUND_SECRET,
            "TRIAGE_SEND_ACKNOWLEDGEMENT": "1",
            "TASK_LOST_AFTER_SECONDS": str(self.task_lost_after_seconds),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("STOREDESK_TEST_DB_FILE", None)
        try:
            started = time.monotonic()
            self.token = self._prepare()
            self.timings["prepare_seconds"] = time.monotonic() - started
            started = time.monotonic()
            self._start_all()
            self.timings["start_seconds"] = time.monotonic() - started
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg_url_base}/postgres", autocommit=True) as connection:
            connection.execute(sql)

    def _prepare(self) -> str:
        log = self.workdir / "prepare.log"
        with log.open("w") as output:
            finished = subprocess.run(  # noqa: S603 - our interpreter, our module
                [sys.executable, "-m", "bench._scale_out", "prepare"]
                + ["--payments", str(self.payments), "--agent-password", self.agent_password],
                env=self.env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=output,
                timeout=900,
                check=False,
            )
        if finished.returncode:
            raise RuntimeError(f"prepare failed: {log.read_text()[-3000:]}")
        return json.loads(finished.stdout.decode().strip().splitlines()[-1])["token"]

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("w")
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our commands
            [sys.executable, "-m", "storedesk", *args],
            env=self.env,
            cwd=self.workdir,
            stdout=log,  # a file, not a pipe: a full pipe would block the process
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def _start_all(self) -> None:
        for number in range(1, self.webs + 1):
            port = free_port()
            self._spawn(f"web{number}", "web", "--port", str(port))
            self.web_urls.append(f"http://127.0.0.1:{port}")
        for number in range(1, self.workers + 1):
            self._spawn(f"worker{number}", "worker", "--interval", str(self.worker_interval))
        self._spawn("scheduler", "scheduler")
        import requests

        deadline = time.monotonic() + 180  # a cold start of six processes on a busy machine
        for url in self.web_urls:
            while True:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{url}/accounts/login/", timeout=10).status_code == 200:
                        break
                self.assert_running()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not answer: {self.logs()}")
                time.sleep(0.3)
        while self.query("SELECT count(*) FROM core_workerheartbeat")[0][0] < self.workers:
            self.assert_running()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not start: {self.logs()}")
            time.sleep(0.3)

    def assert_running(self, *, except_for: tuple[str, ...] = ()) -> None:
        for name, process in self.processes.items():
            if name not in except_for and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}: {self.logs()}")

    def logs(self, tail: int = 2000) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}"
            for path in sorted(self.workdir.glob("*.log"))
        )

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()

    def kill_worker(self, name: str = "worker1") -> dict:
        """SIGKILL a worker (no clean-up at all) and say what it was running."""
        process = self.processes[name]
        worker_ids = [row[0] for row in self.query(
            "SELECT worker_id FROM core_workerheartbeat WHERE pid = %s", (process.pid,)
        )]  # fmt: skip
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        running = self.query(
            "SELECT task_path FROM django_tasks_database_dbtaskresult "
            "WHERE status = 'RUNNING' AND worker_ids ->> -1 = ANY(%s::text[])",
            (worker_ids,),
        )
        return {"name": name, "worker_ids": worker_ids, "running": [row[0] for row in running]}


# --- the load ----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    stripe_events: int
    stripe_redeliveries: int
    mails: int
    mail_retries: int
    replies: int
    reply_retries: int
    killed: dict
    started_at: float  # time.time()
    sent_seconds: float
    settled_seconds: float
    statuses: Counter
    inbox_ms: list[float]
    errors: list[str]


def _p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)] if samples else 0.0


def _session_for(url: str, username: str, password: str):
    """A logged-in desk session (the login form, with its CSRF token)."""
    import requests

    session = requests.Session()
    page = session.get(f"{url}/accounts/login/", timeout=30)
    token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    answer = session.post(
        f"{url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login failed: {answer.status_code}")
    return session


def run_load(
    cluster: Cluster,
    *,
    stripe_event: dict,
    stripe_dispute: dict,
    mails: int,
    replies: int,
    redelivered_share: float = 0.2,
    threads: int = 8,
    kill_after_share: float = 0.5,
    settle_timeout: float = 150,
    seed: int = 7,
) -> LoadResult:
    """Send the load from `threads` threads at every web process in turn, SIGKILL worker1 once
    `kill_after_share` of it is sent, and wait until the desk has done everything."""
    import requests

    rng = random.Random(seed)  # noqa: S311 - a reproducible load, not a secret
    webs = cluster.web_urls
    statuses: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    local = threading.local()

    def session():
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def record(kind: str, response) -> None:
        with lock:
            statuses[f"{kind} {response.status_code}"] += 1
            if response.status_code >= 300:
                errors.append(f"{kind} {response.status_code}: {response.text[:300]}")

    def send_stripe(index: int, web: str) -> None:
        body = json.dumps(dispute_event(index, stripe_event, stripe_dispute)).encode()
        response = session().post(
            f"{web}/webhooks/stripe/",
            data=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": stripe_signature(body),
            },
            timeout=60,
        )
        record("stripe", response)

    def send_mail(index: int, web: str) -> None:
        auth = base64.b64encode(INBOUND_SECRET.encode()).decode()
        response = session().post(
            f"{web}/mail/postmark/inbound/",
            data=json.dumps(postmark_inbound(index)),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
            timeout=60,
        )
        record("mail", response)

    def send_reply(number: int, key: str, web: str) -> None:
        response = session().post(
            f"{web}/api/v1/tickets/{number}/reply",
            json={"text": f"Thanks, we are on it (reply {key}).", "idempotency_key": key},
            headers={"Authorization": f"Bearer {cluster.token}"},
            timeout=60,
        )
        record("reply", response)

    payments = cluster.payments
    jobs = []
    for index in range(payments):
        jobs.append((send_stripe, index, webs[index % len(webs)]))
        if rng.random() < redelivered_share:  # Stripe redelivers; maybe to the other web
            jobs.append((send_stripe, index, webs[(index + 1) % len(webs)]))
    for index in range(mails):
        jobs.append((send_mail, index, webs[index % len(webs)]))
        if rng.random() < redelivered_share:  # the provider retries a post
            jobs.append((send_mail, index, webs[(index + 1) % len(webs)]))
    rng.shuffle(jobs)
    stripe_redeliveries = sum(1 for job in jobs if job[0] is send_stripe) - payments
    mail_retries = sum(1 for job in jobs if job[0] is send_mail) - mails

    inbox_ms: list[float] = []
    probing = threading.Event()
    probing.set()

    def probe_inbox() -> None:
        desk = _session_for(webs[-1], AGENT, cluster.agent_password)
        while probing.is_set():
            started = time.perf_counter()
            response = desk.get(f"{webs[-1]}/desk/", timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                inbox_ms.append(elapsed)
                if response.status_code != 200:
                    errors.append(f"inbox {response.status_code}")
            time.sleep(0.2)

    probe = threading.Thread(target=probe_inbox, name="inbox-probe", daemon=True)
    killed: dict = {}
    kill_at = int(len(jobs) * kill_after_share)
    replied: list[tuple[int, str]] = []
    started_at, started = time.time(), time.monotonic()
    probe.start()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = []
        for position, (send, index, web) in enumerate(jobs):
            if position == kill_at:
                for future in futures:
                    future.result()
                killed = cluster.kill_worker("worker1")
            futures.append(pool.submit(send, index, web))
            if position == kill_at + 1:
                futures += _submit_replies(cluster, pool, send_reply, replies, rng, replied)
        for future in futures:
            future.result()
    sent_seconds = time.monotonic() - started
    probing.clear()
    probe.join(timeout=60)
    reply_retries = len(replied) - len({key for _, key in replied})
    settled_seconds = _wait_until_settled(cluster, killed, started, settle_timeout)
    return LoadResult(
        stripe_events=payments,
        stripe_redeliveries=stripe_redeliveries,
        mails=mails,
        mail_retries=mail_retries,
        replies=len({key for _, key in replied}),
        reply_retries=reply_retries,
        killed=killed,
        started_at=started_at,
        sent_seconds=sent_seconds,
        settled_seconds=settled_seconds,
        statuses=statuses,
        inbox_ms=inbox_ms,
        errors=errors,
    )


def _submit_replies(cluster, pool, send_reply, replies: int, rng, replied: list) -> list:
    """Agents answer tickets that exist by now (found through the API), some replies retried
    with the same idempotency key."""
    import requests

    numbers: list[int] = []
    deadline = time.monotonic() + 120
    while len(numbers) < min(replies, 10) and time.monotonic() < deadline:
        page = requests.get(
            f"{cluster.web_urls[0]}/api/v1/tickets",
            headers={"Authorization": f"Bearer {cluster.token}"},
            timeout=60,
        ).json()
        numbers = [ticket["number"] for ticket in page.get("items", [])]
        time.sleep(0.2)
    futures = []
    for position in range(replies):
        number = numbers[position % len(numbers)]
        key = f"scale-reply-{position}"
        for web in cluster.web_urls[: 2 if rng.random() < 0.2 else 1]:  # a client retries
            replied.append((number, key))
            futures.append(pool.submit(send_reply, number, key, web))
    return futures


def _wait_until_settled(cluster: Cluster, killed: dict, started: float, timeout: float) -> float:
    """Until every event, mail and task is done: the sweeps re-queue what the killed worker
    lost, the abandoned-task sweep marks its row; then the scheduler stops and the queue
    drains. Returns the seconds from the start of the load."""
    deadline = time.monotonic() + timeout
    while True:
        cluster.assert_running(except_for=(killed.get("name", ""),))
        pending = cluster.query(
            "SELECT "
            "(SELECT count(*) FROM stripe_stripeevent WHERE status <> 'processed'),"
            "(SELECT count(*) FROM core_domainevent WHERE handled_at IS NULL),"
            "(SELECT count(*) FROM desk_message WHERE delivery IN ('queued')),"
            "(SELECT count(*) FROM django_tasks_database_dbtaskresult "
            " WHERE status = 'RUNNING' AND worker_ids ->> -1 = ANY(%s::text[]))",
            (killed.get("worker_ids", []),),
        )[0]
        if not any(pending):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"not settled (stripe, events, mail, abandoned): {pending}; "
                f"{describe_backlog(cluster)}\n{cluster.logs()}"
            )
        time.sleep(0.5)
    settled = time.monotonic() - started
    scheduler = cluster.processes["scheduler"]
    scheduler.terminate()
    scheduler.wait(timeout=30)
    while cluster.query(
        "SELECT count(*) FROM django_tasks_database_dbtaskresult "
        "WHERE status IN ('READY', 'RUNNING') "
        "AND coalesce(worker_ids ->> -1, '') <> ALL(%s::text[])",
        (killed.get("worker_ids", []),),
    )[0][0]:
        if time.monotonic() > deadline + 60:
            raise RuntimeError("the queue did not drain")
        time.sleep(0.3)
    return settled


def describe_backlog(cluster: Cluster) -> str:
    """What is still to do: pending domain events by name, tasks by status and path."""
    events = cluster.query(
        "SELECT name, count(*), max(attempts) FROM core_domainevent WHERE handled_at IS NULL "
        "GROUP BY name ORDER BY 2 DESC"
    )
    tasks = cluster.query(
        "SELECT status, task_path, count(*) FROM django_tasks_database_dbtaskresult "
        "GROUP BY 1, 2 ORDER BY 1, 3 DESC"
    )
    return f"pending events {events}; tasks {tasks}"


# --- the checks --------------------------------------------------------------------------------


@dataclass
class Outcome:
    counts: dict
    sent_per_message_id: Counter
    figures: dict


def sent_mail(directory: Path) -> Counter:
    """How many times each Message-ID was written by the file mail backend."""
    counted: Counter = Counter()
    for path in directory.iterdir():
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                counted[email.message_from_bytes(chunk.lstrip()).get("Message-ID", "")] += 1
    return counted


def check(cluster: Cluster, load: LoadResult) -> Outcome:
    """Counts of what the desk did, and the figures (rates from the rows' own timestamps)."""
    one = lambda sql, params=(): cluster.query(sql, params)[0][0]  # noqa: E731
    counts = {
        "stripe_events_stored": one("SELECT count(*) FROM stripe_stripeevent"),
        "stripe_events_processed": one(
            "SELECT count(*) FROM stripe_stripeevent WHERE status = 'processed'"
        ),
        "stripe_most_attempts": one("SELECT max(attempts) FROM stripe_stripeevent"),
        "disputes": one("SELECT count(*) FROM disputes_dispute"),
        "disputes_opened_audited": one(
            "SELECT count(*) FROM audit_auditentry WHERE action = 'dispute.opened'"
        ),
        "inbound_mail": one("SELECT count(*) FROM desk_message WHERE kind = 'inbound'"),
        "tickets": one("SELECT count(*) FROM desk_ticket"),
        "acknowledgements": one(
            "SELECT count(*) FROM desk_message WHERE automatic_reason = 'acknowledgement'"
        ),
        "tickets_acknowledged_twice": one(
            "SELECT count(*) FROM (SELECT ticket_id FROM desk_message "
            "WHERE automatic_reason = 'acknowledgement' GROUP BY ticket_id HAVING count(*) > 1) t"
        ),
        # An agent who answers before the acknowledgement went out makes it unneeded.
        "tickets_neither_acknowledged_nor_answered": one(
            "SELECT count(*) FROM desk_ticket t WHERE NOT EXISTS (SELECT 1 FROM desk_message m "
            "WHERE m.ticket_id = t.id AND m.kind = 'outbound')"
        ),
        "replies": one(
            "SELECT count(*) FROM desk_message WHERE kind = 'outbound' AND NOT is_automatic"
        ),
        "outbound_sent": one(
            "SELECT count(*) FROM desk_message WHERE kind = 'outbound' AND delivery = 'sent'"
        ),
        "outbound_not_sent": one(
            "SELECT count(*) FROM desk_message WHERE kind = 'outbound' AND delivery <> 'sent'"
        ),
        "events_pending": one("SELECT count(*) FROM core_domainevent WHERE handled_at IS NULL"),
        "tasks_left": one(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult "
            "WHERE status IN ('READY', 'RUNNING')"
        ),
        "tasks_failed": one(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult "
            "WHERE status = 'FAILED' AND exception_class_path <> %s",
            (WORKER_LOST_ERROR,),
        ),
        "tasks_abandoned": one(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult "
            "WHERE status = 'FAILED' AND exception_class_path = %s",
            (WORKER_LOST_ERROR,),
        ),
    }
    outbound_ids = {
        row[0]: row[1]
        for row in cluster.query(
            "SELECT message_id, delivery FROM desk_message WHERE kind = 'outbound'"
        )
    }
    sent = sent_mail(cluster.workdir / "mail")
    counts["mail_files_unknown"] = sum(n for mid, n in sent.items() if mid not in outbound_ids)
    # From the first request of the load to the last event applied / acknowledgement sent
    # (a mail's and a ticket's own created_at is the mail's Date header).
    last_applied = cluster.query(
        "SELECT extract(epoch FROM max(processed_at)) FROM stripe_stripeevent"
    )[0][0]
    last_acknowledged = cluster.query(
        "SELECT extract(epoch FROM max(sent_at)) FROM desk_message "
        "WHERE automatic_reason = 'acknowledgement'"
    )[0][0]
    stripe_span = float(last_applied or load.started_at) - load.started_at
    mail_span = float(last_acknowledged or load.started_at) - load.started_at
    figures = {
        "stripe_events_per_second": load.stripe_events / max(stripe_span, 0.001),
        "mail_per_second": load.mails / max(mail_span, 0.001),
        "inbox_p50_ms": statistics.median(load.inbox_ms) if load.inbox_ms else 0.0,
        "inbox_p95_ms": _p95(load.inbox_ms),
        "inbox_samples": len(load.inbox_ms),
        "sent_seconds": load.sent_seconds,
        "settled_seconds": load.settled_seconds,
        **cluster.timings,
    }
    return Outcome(counts=counts, sent_per_message_id=sent, figures=figures)


# --- the prepare step (its own process, Django set up on the cluster's settings) ---------------


def prepare(payments: int, agent_password: str) -> dict:
    import io
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from storedesk.accounts.roles import Role
    from storedesk.accounts.services import do_create_user
    from storedesk.commerce.ingest import CustomerIn, OrderIn, PaymentIn
    from storedesk.commerce.services import do_create_store, do_ingest_orders
    from storedesk.desk.mail_in import do_save_mailbox

    store = do_create_store(
        name="Tiny Pearl Jewelry", slug="tiny-pearl", domain="tinypearl.example",
        support_email=MAILBOX,
    )  # fmt: skip
    do_save_mailbox(address=MAILBOX, name="Care")
    created = datetime.now(tz=UTC) - timedelta(days=3)
    orders = [
        OrderIn(
            number=f"#TP{50000 + index}",
            created_at=created,
            currency="USD",
            subtotal_price=Decimal("10.00"),
            total_price=Decimal("10.00"),
            email=f"customer{index}@mail.example",
            customer=CustomerIn(email=f"customer{index}@mail.example", first_name="Casey"),
            financial_status="paid",
            payments=(
                PaymentIn(
                    gateway="stripe",
                    provider_id=CHARGE.format(index),
                    amount=Decimal("10.00"),
                    currency="USD",
                    status="succeeded",
                    created_at=created,
                    captured=True,
                ),
            ),
        )
        for index in range(payments)
    ]
    do_ingest_orders(store, orders)
    do_create_user(
        username=AGENT, email="agent@tinypearl.example", password=agent_password, roles=[Role.AGENT]
    )
    output = io.StringIO()
    call_command("create_api_token", AGENT, "--name", "scale-out", stdout=output)
    token = next(word for word in output.getvalue().split() if word.startswith("sdk_"))
    return {"token": token}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["prepare"])
    parser.add_argument("--payments", type=int, required=True)
    parser.add_argument("--agent-password", required=True)
    arguments = parser.parse_args()
    print(json.dumps(prepare(arguments.payments, arguments.agent_password)))
