"""The benchmark's Celery worker: the project's worker, optionally keeping database connections
across tasks (CELERY_DB_REUSE_MAX) to measure what that setting would change.

    python -m benchmarks.notifications.worker --pool=prefork --concurrency=4 ...
"""

from __future__ import annotations

import os
import sys

from escort_portal.celery import app

if __name__ == "__main__":
    reuse = os.environ.get("BENCH_DB_REUSE_MAX")
    if reuse:
        app.conf.update(CELERY_DB_REUSE_MAX=int(reuse))
    app.worker_main(["worker", *sys.argv[1:]])
