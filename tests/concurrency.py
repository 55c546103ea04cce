"""Race calls against each other on real database connections (PostgreSQL tests)."""

import threading
from collections.abc import Callable

from django.db import close_old_connections, connection


def run_at_once(*calls: Callable[[], object]) -> list:
    """Each call in its own thread, all released together, each on its own connection; what
    each returned, or the exception it raised, in the order given."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as error:  # handed to the test, which asserts on it
            outcomes[index] = error
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
