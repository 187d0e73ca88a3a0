"""Best team days for given request values: the pricing step of the column generation.

Given a value for each request (its priority less what the master problem says it is worth
elsewhere), find for each kind of team the day of runs worth the most: runs in time order, each
reachable from the one before (or from base after the shift starts), the last one home by the end of
the shift, each carrying the `max_agents` most valuable requests its window covers, less a small
charge per team minute.

This is a longest path over windows ordered by start. All windows starting at the same minute are
independent of one another (a run takes time), so they are handled together, and all team kinds at
once, as array operations: one step per distinct start time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from escorts.planner.prepared import Prepared
from escorts.planner.windows import Windows

NONE = -1e18
EPS = 1e-9


@dataclass(frozen=True)
class TeamKind:
    """Teams that are interchangeable: same base, end of day, shift and size."""

    members: tuple[int, ...]
    max_agents: int


@dataclass(frozen=True)
class Column:
    """One team day: runs as (window, request indices), with its covered priority and minutes."""

    kind: int
    runs: tuple[tuple[int, tuple[int, ...]], ...]
    priority: int
    minutes: int

    @property
    def request_indices(self) -> list[int]:
        return [r for _, picks in self.runs for r in picks]


def team_kinds(prep: Prepared) -> list[TeamKind]:
    groups: dict[tuple[float, float, float, float, int, int, int], list[int]] = {}
    for i, t in enumerate(prep.instance.teams):
        if t.max_agents >= 1:
            key = (t.base_lat, t.base_lon, *t.home, t.shift_start, t.shift_end, t.max_agents)
            groups.setdefault(key, []).append(i)
    return [TeamKind(tuple(members), key[-1]) for key, members in groups.items()]


class Pricer:
    def __init__(
        self, prep: Prepared, windows: Windows, kinds: list[TeamKind], minute_cost: float
    ) -> None:
        self.w = windows
        self.kinds = kinds
        self.minute_cost = minute_cost
        self.n_areas = len(prep.instance.areas)
        reps = [kind.members[0] for kind in kinds]
        teams = [prep.instance.teams[i] for i in reps]
        self.caps = np.array([k.max_agents for k in kinds], dtype=np.int64)
        self.max_cap = int(self.caps.max()) if kinds else 0
        self.travel = np.array(prep.area_travel, dtype=np.float64).reshape(
            self.n_areas, self.n_areas
        )
        self.base_to = np.array([prep.base_to[i] for i in reps], dtype=np.float64)
        self.to_base = np.array([prep.to_base[i] for i in reps], dtype=np.float64)
        shift_start = np.array([t.shift_start for t in teams])
        shift_end = np.array([t.shift_end for t in teams])
        w = windows
        self.valid = (w.start[None, :] >= shift_start[:, None] + self.base_to[:, w.area]) & (
            w.end[None, :] + self.to_base[:, w.area] <= shift_end[:, None]
        )
        self.ends = np.unique(w.end)
        # Index 0 of the end axis stands for "no run ended yet", so lookups never go negative.
        self.end_slot = np.searchsorted(self.ends, w.end) + 1
        self.steps = []
        for s in np.unique(w.start):
            group = np.nonzero(w.start == s)[0]
            # For a run ending in area a to precede one starting at s in area b, it must end in a
            # slot at or before latest[a, b].
            latest = np.searchsorted(self.ends, s - self.travel, side="right")
            self.steps.append((group, latest))
        self.length = (w.end - w.start).astype(np.float64)
        # Cuts on the master (see `optimise`): triples of requests of one area that share an
        # instant, so a day carries two of them only in one run. Cuts may share requests.
        self.area_of = np.zeros(len(w.requests), dtype=np.int64)
        for a, group in enumerate(w.requests_of):
            self.area_of[group] = a
        self.cuts: list[tuple[int, ...]] = []
        # For each window, the cuts in force with at least two requests it covers.
        self._cuts_in: dict[int, list[int]] = {}
        # Riders of the windows whose best runs the cuts changed, by team size (last pricing).
        self._exact: dict[int, list[tuple[int, ...]]] = {}

    def add_cuts(self, cuts: list[tuple[int, ...]]) -> None:
        w = self.w
        for members in cuts:
            j = len(self.cuts)
            self.cuts.append(members)
            a = int(self.area_of[members[0]])
            columns = np.searchsorted(w.requests_of[a], members)
            inside = w.contains[a][:, columns].sum(axis=1) >= 2
            for window in w.in_area[a][inside]:
                self._cuts_in.setdefault(int(window), []).append(j)

    def drop_cuts(self, cuts: list[int]) -> None:
        """Cuts the master has lifted: no window pays for them any more."""
        lifted = set(cuts)
        for window in list(self._cuts_in):
            kept = [j for j in self._cuts_in[window] if j not in lifted]
            if kept:
                self._cuts_in[window] = kept
            else:
                del self._cuts_in[window]

    def _exact_run(
        self, window: int, positive: np.ndarray, cut_duals: np.ndarray
    ) -> tuple[np.ndarray, list[tuple[int, ...]]] | None:
        """The best riders of a window for each team size, when cuts cost it: None if none do.

        Taking two or three requests of a cut costs its dual once. Requests in no costly cut are
        taken by value; among the others (a handful), a depth-first search in order of value finds
        the best set of each size, cutting off a branch once even its most valuable requests could
        not beat what each size has.
        """
        w = self.w
        costly = [j for j in self._cuts_in.get(window, ()) if cut_duals[j] > EPS]
        if not costly:
            return None
        a = int(w.area[window])
        inside = w.requests_of[a][w.contains[a][w.row_of[window]]]
        candidates = {int(r) for r in inside[positive[inside] > EPS]}
        cuts_of: dict[int, list[int]] = {}
        for j in costly:
            members = [r for r in self.cuts[j] if r in candidates]
            if len(members) >= 2:
                for r in members:
                    cuts_of.setdefault(r, []).append(j)
        if not cuts_of:
            return None
        cap = self.max_cap
        # When the most valuable riders pay no cut, each size's best is its plain best.
        leaders = sorted(candidates, key=lambda r: -positive[r])[:cap]
        hits = [j for r in leaders for j in cuts_of.get(r, ())]
        if len(hits) == len(set(hits)):
            return None
        touched = sorted(cuts_of, key=lambda r: -positive[r])
        plain = sorted(candidates.difference(cuts_of), key=lambda r: -positive[r])
        value = [float(positive[r]) for r in touched]
        running = [0.0]
        for v in value:
            running.append(running[-1] + v)
        best = [0.0] + [NONE] * min(cap, len(touched))
        chosen: list[tuple[int, ...]] = [()] * len(best)
        counts = dict.fromkeys(costly, 0)
        picked: list[int] = []

        def grow(first: int, total: float) -> None:
            depth = len(picked)
            for i in range(first, len(touched)):
                # The most any set grown from here could reach, size by size: if none beats
                # what its size has, neither can a later (less valuable) start.
                if not any(
                    total + running[i + q + 1] - running[i] > best[depth + 1 + q] + EPS
                    for q in range(min(len(best) - 1 - depth, len(touched) - i))
                ):
                    return
                r = touched[i]
                here = total + value[i]
                for j in cuts_of[r]:
                    counts[j] += 1
                    if counts[j] == 2:
                        here -= cut_duals[j]
                picked.append(r)
                if here > best[depth + 1] + EPS:
                    best[depth + 1], chosen[depth + 1] = here, tuple(picked)
                if depth + 1 < len(best) - 1:
                    grow(i + 1, here)
                picked.pop()
                for j in cuts_of[r]:
                    counts[j] -= 1

        grow(0, 0.0)
        prefix = np.concatenate([[0.0], np.cumsum(positive[plain])])
        values = np.zeros(cap + 1)
        picks: list[tuple[int, ...]] = [()] * (cap + 1)
        for k in range(cap + 1):
            top = 0.0
            taken: tuple[int, ...] = ()
            for m in range(min(k, len(best) - 1) + 1):
                if best[m] <= NONE:
                    continue
                rest = min(k - m, len(plain))
                if best[m] + prefix[rest] > top + EPS:
                    top, taken = best[m] + prefix[rest], chosen[m] + tuple(plain[:rest])
            values[k], picks[k] = top, taken
        return values, picks

    def _run_values(self, positive: np.ndarray, cut_duals: np.ndarray | None) -> np.ndarray:
        """best[k, w]: the value of the k most valuable requests window w covers."""
        w = self.w
        best = np.zeros((self.max_cap + 1, w.count))
        for a in range(self.n_areas):
            rows = w.in_area[a]
            if len(rows) == 0:
                continue
            values = np.where(w.contains[a], positive[w.requests_of[a]][None, :], 0.0)
            k = min(self.max_cap, values.shape[1])
            top = -np.sort(-np.partition(values, values.shape[1] - k, axis=1)[:, -k:], axis=1)
            sums = np.cumsum(top, axis=1)
            best[1 : k + 1, rows] = sums.T
            best[k + 1 :, rows] = sums[:, -1]
        self._exact = {}
        if cut_duals is not None and len(cut_duals):
            for window in self._cuts_in:
                exact = self._exact_run(window, positive, cut_duals)
                if exact is not None:
                    best[:, window] = exact[0]
                    self._exact[window] = exact[1]
        return best

    def price(
        self, values: np.ndarray, per_kind: int, cut_duals: np.ndarray | None = None
    ) -> list[list[tuple[float, Column]]]:
        """For each team kind, up to `per_kind` good days (ending in different areas), best first.

        Each comes with its value under `values` (already less the minute charge, and less the
        `cut_duals` of the cuts it takes two requests of); days not worth more than nothing are
        left out.
        """
        w = self.w
        n_kinds, n_areas = len(self.kinds), self.n_areas
        positive = np.maximum(values, 0.0)
        run_value = (
            self._run_values(positive, cut_duals)[self.caps, :] - self.minute_cost * self.length
        )
        best = np.full((n_kinds, n_areas, len(self.ends) + 1), NONE)
        best_window = np.full(best.shape, -1, dtype=np.int64)
        # previous[k, w]: the window before w on kind k's best day through w (-1: w comes first).
        previous = np.full((n_kinds, w.count), -1, dtype=np.int64)
        areas = np.arange(n_areas)
        slots = np.arange(len(self.ends) + 1)
        kinds = np.arange(n_kinds)[:, None]
        for group, latest in self.steps:
            upto = np.maximum.accumulate(best, axis=2)
            # The slot holding each running maximum, to find the run that set it.
            upto_slot = np.maximum.accumulate(np.where(best >= upto, slots, 0), axis=2)
            b = w.area[group]
            after_run = upto[:, areas[:, None], latest[:, b]] - self.minute_cost * self.travel[:, b]
            came_from = after_run.argmax(axis=1)
            from_run = np.take_along_axis(after_run, came_from[:, None, :], axis=1)[:, 0, :]
            from_base = -self.minute_cost * self.base_to[:, b]
            slot = upto_slot[kinds, came_from, latest[came_from, b[None, :]]]
            previous[:, group] = np.where(
                from_run > from_base, best_window[kinds, came_from, slot], -1
            )
            start_value = np.maximum(from_run, from_base)
            value = np.where(self.valid[:, group], start_value + run_value[:, group], NONE)
            ends = self.end_slot[group]
            kinds_at, idx = np.nonzero(value > best[:, b, ends])
            best[kinds_at, b[idx], ends[idx]] = value[kinds_at, idx]
            best_window[kinds_at, b[idx], ends[idx]] = group[idx]
        home = best - self.minute_cost * self.to_base[:, :, None]
        found: list[list[tuple[float, Column]]] = []
        for kind in range(n_kinds):
            by_area = home[kind].max(axis=1)
            days = []
            for a in np.argsort(-by_area, kind="stable")[:per_kind]:
                if by_area[a] <= EPS:
                    break
                chain = [int(best_window[kind, a, int(np.argmax(home[kind, a]))])]
                while previous[kind, chain[-1]] >= 0:
                    chain.append(int(previous[kind, chain[-1]]))
                chain.reverse()
                days.append((float(by_area[a]), self._column(kind, chain, positive)))
            found.append(days)
        return found

    def _column(self, kind: int, chain: list[int], positive: np.ndarray) -> Column:
        w = self.w
        cap = self.kinds[kind].max_agents
        runs = []
        priority = minutes = 0
        here = -1
        for window in chain:
            a = int(w.area[window])
            if window in self._exact:
                picks = tuple(sorted(self._exact[window][cap]))
            else:
                candidates = w.requests_of[a][w.contains[a][w.row_of[window]]]
                order = np.argsort(-positive[candidates], kind="stable")[:cap]
                picks = tuple(int(r) for r in candidates[order] if positive[r] > EPS)
            if not picks:
                continue  # worth nothing now: the day is as good without this stop
            runs.append((int(window), picks))
            priority += int(w.priority[list(picks)].sum())
            span = int(w.req_end[list(picks)].max() - w.req_start[list(picks)].min())
            leg = self.base_to[kind, a] if here < 0 else self.travel[here, a]
            minutes += int(leg) + span
            here = a
        if here >= 0:
            minutes += int(self.to_base[kind, here])
        return Column(kind, tuple(runs), priority, minutes)
