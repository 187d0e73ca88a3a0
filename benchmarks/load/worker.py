"""The fault run's Celery worker: the project's worker with a short broker visibility timeout.

    python -m benchmarks.load.worker --pool=prefork --concurrency=2 ...

A task whose worker died before acknowledging it (`acks_late`) is handed out again once its
visibility timeout has passed: an hour in the project's settings, `BENCH_VISIBILITY_TIMEOUT`
seconds here. A live worker looks for such tasks every `unacked_restore_interval` x
`unacked_restore_throttle` seconds (kombu's default: 10 x 10); here every second, so the fault
run sees the redelivery within its time limit.
"""

from __future__ import annotations

import os
import sys

from escort_portal.celery import app

if __name__ == "__main__":
    timeout = os.environ.get("BENCH_VISIBILITY_TIMEOUT")
    if timeout:
        app.conf.broker_transport_options = {
            **(app.conf.broker_transport_options or {}),
            "visibility_timeout": int(timeout),
            "unacked_restore_interval": 1,
            "unacked_restore_throttle": 1,
        }
    app.worker_main(["worker", *sys.argv[1:]])
