"""Shared set-up of the escorts tests: a frozen morning after the cut-off, and rows committed
from another thread for the tests that need other connections (a worker, concurrent builds)."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from django.db import connection
from django_tenants.utils import tenant_context

from lenders.models import CashBand
from lenders.tests.factories import AgentFactory, AreaFactory, BranchFactory, EntryFactory
from stations.models import Station

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
# 09:00 in Kharagpur on 1 December 2026: after the 08:30 cut-off.
MORNING = datetime.datetime(2026, 12, 1, 9, 0, tzinfo=IST)
TODAY = MORNING.date()


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def station(in_debra: Station) -> Station:
    # The planner's budget, for this test's in-memory tenant only.
    in_debra.planner_seconds = 1
    return in_debra


def entry(*, branch=None, area=None, start="10:00", end="12:00", date=TODAY, **extra):
    branch = branch or BranchFactory()
    return EntryFactory(
        roster__branch=branch,
        roster__date=date,
        roster__status="filed",
        agent=AgentFactory(branch=branch),
        area=area or AreaFactory(),
        depart_at=datetime.time.fromisoformat(start),
        return_at=datetime.time.fromisoformat(end),
        cash_band=extra.pop("cash_band", CashBand.FROM_50K_TO_1L),
        **extra,
    )


def in_other_connection(station: Station, work: Callable[[], Any]) -> Any:
    """Run `work` in the station on a thread of its own: its own connection, autocommit, so
    what it writes is committed and visible to other processes."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            with tenant_context(station):
                result["value"] = work()
        except BaseException as exc:  # noqa: BLE001  (handed back to the test thread)
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=120)
    if "error" in result:
        raise result["error"]
    return result.get("value")
