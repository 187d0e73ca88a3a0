"""The open-loop HTTP client of the load and watch benchmarks.

Requests are sent on a fixed schedule whatever the server's answers, and each one's latency
runs from its scheduled time to the last byte of its answer, so time spent waiting for a free
worker (queueing) counts. A closed loop (a thread per user waiting for each answer before the
next) slows down with the server and hides that.
"""

from __future__ import annotations

import http.client
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Enough connections that the client never holds a request back: a late answer delays only the
# requests behind it at the server, as with real browsers.
CONNECTIONS = 64


@dataclass
class Outcome:
    """The answers to one kind of request: latencies of the successes, and the failures."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    def cells(self) -> str:
        """The table cells sent, errors, achieved /s, p50, p95 and p99 ms."""
        values = self.latencies
        return (
            f"{len(values) + self.errors} | {self.errors} | {len(values) / self.elapsed:.1f} | "
            f"{percentile(values, 0.5):.1f} | {percentile(values, 0.95):.1f} | "
            f"{percentile(values, 0.99):.1f}"
        )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def open_loop(
    port: int,
    schedule: Sequence[tuple[float, str]],
    send: Callable[[http.client.HTTPConnection, int], bool],
    *,
    timeout: float,
) -> dict[str, Outcome]:
    """Request n of `schedule`, (seconds from the start, kind), sent by `send(connection, n)`
    at its time to 127.0.0.1:`port`; `send` says whether it was answered as a success. Returns
    an outcome per kind, in the order the kinds first stand in the schedule."""
    began = time.perf_counter() + 0.2
    jobs: queue.Queue[int | None] = queue.Queue()
    outcomes = {kind: Outcome() for _, kind in schedule}
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        while (n := jobs.get()) is not None:
            offset, kind = schedule[n]
            try:
                ok = send(connection, n)
            except (OSError, http.client.HTTPException):
                connection.close()
                ok = False
            took = (time.perf_counter() - (began + offset)) * 1000
            with lock:
                if ok:
                    outcomes[kind].latencies.append(took)
                else:
                    outcomes[kind].errors += 1

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for n, (offset, _kind) in enumerate(schedule):
        pause = began + offset - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        jobs.put(n)
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for outcome in outcomes.values():
        outcome.elapsed = elapsed
    return outcomes
