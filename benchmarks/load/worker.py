"""The fault run's Celery worker: the project's worker with a short broker visibility timeout.

    python -m benchmarks.load.worker --pool=prefork --concurrency=2 ...

A task whose worker died before acknowledging it (`acks_late`) is handed out again once its
visibility timeout has passed: an hour in the project's settings, `BENCH_VISIBILITY_TIMEOUT`
seconds here, so the fault run sees the broker's redelivery within its time limit.
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
        }
    app.worker_main(["worker", *sys.argv[1:]])
