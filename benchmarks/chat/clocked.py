"""Run a program of the portal with its clock starting at a given moment and running on at
the real pace, so a whole morning can be tried at any hour.

    python -m benchmarks.chat.clocked 2026-12-01T07:15:00+05:30 celery -A escort_portal worker

time-machine moves the process's clock (Python's time and datetime) before the program starts;
processes it forks (gunicorn's and Celery's workers) keep the moved clock. PostgreSQL's own
NOW(), used only for the audit trail's timestamps, keeps the real time.
"""

from __future__ import annotations

import datetime
import runpy
import sys

import time_machine


def main() -> None:
    start, module, *args = sys.argv[1:]
    time_machine.travel(datetime.datetime.fromisoformat(start), tick=True).start()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
