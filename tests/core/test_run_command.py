"""`storedesk run` really serves the desk in one process (migrate, web, worker, scheduler)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_serves_the_login_page_on_a_fresh_database(tmp_path: Path):
    port = _free_port()
    env = {
        **os.environ,
        "STOREDESK_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "storedesk.settings.prod",
    }
    env.pop("DATABASE_URL", None)
    log = tmp_path / "run.log"
    # Output to a file, not a pipe: a full pipe would block the server's logging.
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "storedesk", "run", "--port", str(port)],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 240  # a fresh migrate on a busy machine is slow
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/accounts/login/", timeout=10
                ) as reply:
                    body = reply.read().decode()
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(f"storedesk run did not serve: {log.read_text()}")
                time.sleep(0.3)
        assert reply.status == 200
        assert "content-security-policy" in {key.lower() for key in reply.headers}
        assert "<form" in body
        assert (tmp_path / "storedesk.sqlite3").exists()
    finally:
        process.terminate()
        process.wait(timeout=20)
