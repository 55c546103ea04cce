"""`storedesk web`: the desk over HTTP (waitress), in one process or several.

Each process serves `--threads` requests at once. With `--processes N` (N > 1) the command
forks N servers that share the port (SO_REUSEPORT: the kernel spreads the connections) and
replaces any that dies; SIGTERM or Ctrl-C stops them all. Python runs one thread at a time per
process, so more processes is what uses more cores: webhook bursts (a thousand deliveries a
second) want about one process per core. Signed webhook deliveries are answered by the lean
entry of `storedesk.wsgi` (no desk middleware); everything else by the desk.
"""

import os
import signal
import socket

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from waitress import serve

from storedesk.wsgi import application


def bound_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to host:port (IPv4 or IPv6), SO_REUSEPORT set when asked."""
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _stop_with_parent() -> None:
    """Linux: this child gets SIGTERM when its parent dies, even by SIGKILL (no orphans)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Command(BaseCommand):
    help = "Serve the desk over HTTP (a production WSGI server; put a TLS proxy in front)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8, help="per process")
        parser.add_argument(
            "--processes",
            type=int,
            default=int(os.environ.get("STOREDESK_WEB_PROCESSES", "1")),
            help="server processes sharing the port (default 1, or STOREDESK_WEB_PROCESSES)",
        )

    def handle(self, *args, host, port, threads, processes, **options):
        if processes < 1:
            raise CommandError("--processes must be at least 1.")
        self.stdout.write(f"Storedesk is serving on http://{host}:{port}/")
        if processes == 1:
            serve(application, host=host, port=port, threads=threads, ident="storedesk")
            return
        if not hasattr(socket, "SO_REUSEPORT"):
            raise CommandError("--processes needs SO_REUSEPORT (Linux, BSD, macOS).")
        # Checks the port is free before forking (and keeps it held while children start).
        holder = bound_socket(host, port, reuse_port=True)
        connections.close_all()  # no database connection is shared across a fork
        children: set[int] = set()
        stopping = False

        def spawn() -> None:
            pid = os.fork()
            if pid == 0:  # the child: a server of its own on the shared port
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _stop_with_parent()
                holder.close()
                sock = bound_socket(host, port, reuse_port=True)
                try:
                    serve(application, sockets=[sock], threads=threads, ident="storedesk")
                finally:
                    os._exit(0)
            children.add(pid)

        def stop(signum, frame) -> None:
            nonlocal stopping
            stopping = True
            for pid in list(children):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    children.discard(pid)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for _ in range(processes):
            spawn()
        holder.close()
        while children:
            try:
                pid, _status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            if not stopping:
                self.stderr.write(f"web process {pid} stopped; starting another")
                spawn()
