"""Made-up roster entries for the benchmarks and tests that plan a busy day (load.faults, storm,
the rebuild-killed fault test)."""

from __future__ import annotations

import datetime
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lenders.models import CollectionArea, FieldAgent, Roster, RosterEntry
    from stations.models import User


def random_entry(
    rng: random.Random,
    roster: Roster,
    agent: FieldAgent,
    areas: list[CollectionArea],
    by: User | None,
    *,
    earliest: int,
    stop: int,
    depart: int | None = None,
) -> RosterEntry:
    """An unsaved trip of `agent` to one of `areas`, with any cash band, back one to three hours
    after it leaves: at `depart` when given, else every 15 minutes from `earliest` up to before
    `stop` (minutes after midnight, all of them)."""
    from lenders.models import CashBand, RosterEntry

    start = rng.randrange(earliest, stop, 15) if depart is None else depart
    end = start + rng.choice([60, 90, 120, 180])
    return RosterEntry(
        roster=roster,
        agent=agent,
        area=rng.choice(areas),
        depart_at=datetime.time(start // 60, start % 60),
        return_at=datetime.time(end // 60, end % 60),
        cash_band=rng.choice(CashBand.values),
        created_by=by,
    )
