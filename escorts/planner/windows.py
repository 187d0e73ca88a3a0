"""Candidate run windows: the (area, start, end) a run could be given.

A run never needs to be longer than the requests it carries, so its start is some request's start
and its end some request's end. And if the windows of its requests leave a gap (or only touch), two
runs of the same team on either side of the gap carry the same requests for fewer minutes and less
crowding, since staying in an area costs no travel. So the only windows worth offering are those
whose contained requests reach from the start to the end without a gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from escorts.planner.model import Request
from escorts.planner.prepared import Prepared

# The optimiser's work per round grows with the windows; rosters on a quarter-hour grid give a few
# hundred per busy area, but times to the minute could give tens of thousands. Past this many the
# longest go first: long windows carry the most waiting per request.
MAX_WINDOWS = 20_000


@dataclass(frozen=True)
class Windows:
    """Requests that some window can hold, numbered, and the windows over them.

    `contains[a]` is a boolean matrix: row i for window `in_area[a][i]`, column j for request
    `requests_of[a][j]` (both global indices).
    """

    requests: list[Request]
    priority: np.ndarray
    req_start: np.ndarray
    req_end: np.ndarray
    area: np.ndarray
    start: np.ndarray
    end: np.ndarray
    in_area: list[np.ndarray]
    requests_of: list[np.ndarray]
    contains: list[np.ndarray]
    row_of: np.ndarray
    # False when some windows were left out (see MAX_WINDOWS).
    complete: bool

    @property
    def count(self) -> int:
        return len(self.area)


def _area_windows(starts: np.ndarray, ends: np.ndarray) -> list[tuple[int, int]]:
    """Gap-free, tight windows over one area's requests, given sorted by start."""
    found: list[tuple[int, int]] = []
    distinct_ends = np.unique(ends)
    for s in np.unique(starts):
        first = int(np.searchsorted(starts, s))
        cs, ce = starts[first:], ends[first:]
        inside = ce[None, :] <= distinct_ends[:, None]  # one row per candidate end
        reach = np.maximum.accumulate(np.where(inside, ce[None, :], -1), axis=1)
        before = np.concatenate([np.full((len(distinct_ends), 1), -1), reach[:, :-1]], axis=1)
        gap = (inside & (before >= 0) & (cs[None, :] >= before)).any(axis=1)
        # Requests are sorted by start, so the first one inside starts at s exactly when the
        # window is tight on the left.
        tight_start = (inside & (cs[None, :] == s)).any(axis=1)
        tight_end = (inside & (ce[None, :] == distinct_ends[:, None])).any(axis=1)
        for e in distinct_ends[tight_start & tight_end & ~gap]:
            found.append((int(s), int(e)))
    return found


def build_windows(prep: Prepared) -> Windows:
    """Every useful window that at least one team could drive to, staff and get home from."""
    teams = prep.instance.teams
    requests: list[Request] = []
    req_area: list[int] = []
    raw: list[tuple[int, int, int]] = []
    for a, group in enumerate(prep.by_area):
        group = sorted(group, key=lambda r: (r.start, r.end, r.id))
        if not group:
            continue
        starts = np.array([r.start for r in group])
        ends = np.array([r.end for r in group])
        for s, e in _area_windows(starts, ends):
            if any(
                t.max_agents >= 1
                and t.shift_start + prep.base_to[i][a] <= s
                and e + prep.to_base[i][a] <= t.shift_end
                for i, t in enumerate(teams)
            ):
                raw.append((a, s, e))
        requests.extend(group)
        req_area.extend([a] * len(group))
    complete = len(raw) <= MAX_WINDOWS
    if not complete:
        raw = sorted(raw, key=lambda w: (w[2] - w[1], w))[:MAX_WINDOWS]
        raw.sort()
    area = np.array([w[0] for w in raw], dtype=np.int64)
    start = np.array([w[1] for w in raw], dtype=np.int64)
    end = np.array([w[2] for w in raw], dtype=np.int64)
    req_start = np.array([r.start for r in requests], dtype=np.int64)
    req_end = np.array([r.end for r in requests], dtype=np.int64)
    areas_of_req = np.array(req_area, dtype=np.int64)
    in_area, requests_of, contains = [], [], []
    row_of = np.zeros(len(raw), dtype=np.int64)
    for a in range(len(prep.by_area)):
        wi = np.nonzero(area == a)[0]
        ri = np.nonzero(areas_of_req == a)[0]
        row_of[wi] = np.arange(len(wi))
        in_area.append(wi)
        requests_of.append(ri)
        contains.append(
            (req_start[ri][None, :] >= start[wi][:, None])
            & (req_end[ri][None, :] <= end[wi][:, None])
        )
    return Windows(
        requests=requests,
        priority=np.array([r.priority for r in requests], dtype=np.float64),
        req_start=req_start,
        req_end=req_end,
        area=area,
        start=start,
        end=end,
        in_area=in_area,
        requests_of=requests_of,
        contains=contains,
        row_of=row_of,
        complete=complete,
    )
