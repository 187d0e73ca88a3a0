"""The optimiser: column generation over team days, a dive to a plan, then neighbourhood search.

1. Greedy gives a plan at once: the fallback, and the first columns. A re-plan starts instead from
   what still holds of the previous plan (`warm`).
2. Column generation solves the linear relaxation of "one day per team, each request at most once"
   over all team days, generating useful days on demand (`pricing.Pricer`, a longest path over
   candidate windows). Smoothed duals (Wentges) take about 40% off its time. Its Lagrangian value
   bounds what any plan can cover; the bound reported is the least of it and the priority some team
   could reach at all, and the relaxation stops once its bound is within 0.02% of its value or in
   the same whole point. On days up to `CUT_ENTRIES`, subset-row cuts (three requests of one area
   and one instant) then take out fractions no plan can match, and the relaxation is solved again
   with them, which lowers the bound by one to three points from 200 entries on.
3. A dive rounds the relaxation: it fixes the days the relaxation takes most of, prices again
   around them and repeats, until the relaxation is whole. Further dives, as many as the day's size
   allows (`Work`), take its days in a shaken order and the best is kept. SCIP then gets a look at
   the pool of days (it solves small pools outright), on days up to `PACK_ENTRIES`.
4. `polish` refills the chosen runs exactly, cuts gaps out of runs, and lets the greedy insert
   whatever still fits.
5. Large neighbourhood search spends the rest of the budget: a few related teams at a time are
   planned again, by steps 1-4 and from their current days, against their own and all unassigned
   requests; the neighbourhoods widen once the small ones stop paying.

A day too large to relax whole within its budget (from 1,500 entries) takes steps 2-4 in parts
(`split`): sectors of areas around the base with their share of the teams. The parts' plans
together are topped up across the parts, and subgradient steps on the whole day's duals, from the
parts' duals, give the bound for the rest of its share before the search.

From the default budget (`STAGE_SECONDS`) on, a day planned whole ends each phase before the search
by its work alone, fixed by the day's size (`Work`: the relaxation's rounds, the cuts' rounds, the
dives); only the end of the budget cuts one short, and the best plan so far is always kept. So every
such budget reaches the search with the same plan (SCIP's look at the pool, up to 600 entries, is
still timed, but from 200 entries on it found nothing past the dives), and the search draws from the
same seeded generator; a budget past the default first searches on the default budget's clock, then
goes on from its plan, so a longer budget only searches further. A shorter budget still ends the
phases at shares of its clock, so that the relaxation leaves time to round it. A day planned in
parts takes its whole budget for the parts, whose relaxation is what a longer budget buys there.
Pinned runs are planned around (`pinned`).

GLOP, SCIP and the pricing use one core each, one after the other. Work that only lowers the bound
uses a second core when there is one (`aside`): a day planned whole relaxes for `ASIDE_AFTER`
rounds, then dives and searches while a copy of its relaxation goes on, with its cuts, to the end of
the budget; a day planned in parts searches as soon as the parts are planned, while a copy takes
the subgradient steps. The search stops early if the plan meets a bound the copy sends, and the
outcome carries the best bound it proved.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from ortools.linear_solver import pywraplp

from escorts.planner import aside
from escorts.planner.check import InfeasiblePlan, check
from escorts.planner.greedy import greedy
from escorts.planner.model import Instance, Plan
from escorts.planner.pinned import around_pinned
from escorts.planner.polish import reassign, split_gaps
from escorts.planner.prepared import Prepared, prepare
from escorts.planner.pricing import Column, Pricer, TeamKind, team_kinds
from escorts.planner.schedule import DraftRun, days_to_plan, insert_requests
from escorts.planner.split import parts_of
from escorts.planner.warm import kept_days
from escorts.planner.windows import Windows, build_windows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shares:
    """Share of the budget after which each phase stops starting new work."""

    relaxation: float
    dive: float
    pack: float
    # A day planned in parts (`split`): the parts end by this share, then subgradient steps from
    # the parts' duals tighten the whole day's bound until `relaxation`.
    parts: float = 0.0
    # Dives after the first start only while they can end by this share.
    dive_again: float = 0.0
    # Rounds of cuts on a solved relaxation start only before this share.
    cuts: float = 0.0
    # SCIP's own memory for the packing, in MB (None: no limit); it stops there with the best
    # packing found.
    pack_megabytes: int | None = None


# Under the default budget, a day planned whole ends each phase by its work (`Work`) or its share,
# whichever comes first: the shares keep a slow relaxation from leaving no time to round it. The
# whole instance leaves the rest to the neighbourhood search, and gives SCIP only a quick look at
# its pool (it finds the optimum of a 120-entry pool in a fraction of a second, but does not
# improve on the dive at 400 entries in two seconds); a neighbourhood's own sub-problem is small
# and uses all of its budget.
WHOLE = Shares(relaxation=0.5, dive=0.8, pack=0.0, dive_again=0.35, cuts=0.12)
# From the default budget on, a day planned whole ends its phases by their work alone (`Work`):
# shares of the clock cut them at points that move with the machine's load, so two runs of one
# seed parted before the search (1,000 entries covered 1,529 to 1,550 in ten runs of 10 s, and 400
# entries 582 in 10 s but 581 in 30 s). Only the end of the budget stops a phase there.
WHOLE_BY_WORK = Shares(relaxation=1.0, dive=1.0, pack=0.0, dive_again=1.0, cuts=1.0)
PART = Shares(relaxation=0.6, dive=0.95, pack=1.0)
# Work done aside, in a second process (`aside`), for the bound alone: to the end of its clock.
ASIDE = Shares(relaxation=1.0, dive=0.0, pack=0.0, cuts=1.0)
# A neighbourhood of the search (see `_improve`), or a day too small to search: the widest
# neighbourhoods are the whole day, whose pool SCIP packed in 289 MB at 400 entries in 30 s; with
# 48 MB the peak was 118 to 123 MB, covering 581 to 583 (583 before). The parts of a very large
# day keep SCIP unlimited: their peak was no higher without it, and with 48 MB there 3,000 entries
# in 30 s covered 4,801 to 4,865 in three runs against 4,832 to 4,888 in four without.
NEIGHBOURHOOD_PART = replace(PART, pack_megabytes=48)
# A re-plan starts from a plan nearly as good as the last one, so the relaxation and the dive get
# less: on a small day they finish (and give the bound) well within it, and on a large one the
# search from the earlier plan has the most of a short budget.
REPLAN = Shares(relaxation=0.25, dive=0.45, pack=0.0)
# A day too large to relax whole (see `split`): the parts get a little over half of the budget, the
# whole day's bound most of the rest, and the search what is left.
IN_PARTS = Shares(relaxation=0.85, dive=0.0, pack=0.0, parts=0.55)
# With a second core the bound's steps run aside, so the parts get more and the search the rest:
# tuning seeds 1001 and 1002 at 3,000 entries in 30 s (CPU clock) covered 4,747 and 4,889 with
# 55%, 4,816 and 4,896 with 70% (1,500 entries: 2,454 / 2,417 and 2,446 / 2,425), and the bound's
# steps keep the 30% of the budget they had.
IN_PARTS_ASIDE = replace(IN_PARTS, parts=0.7)
# The relaxation counts as solved once its bound is within this share of its value, or once
# both are in the same whole point (`_ColumnGeneration.solved`): the last rounds of column
# generation move the bound little and cost as much as the first. At 1000 entries 0.003 took 61
# rounds (4.1 CPU s) to a bound of 1611, 0.001 73 rounds (4.7 s) to 1608; at 400 entries 0.001
# stopped a point above the whole point the relaxation converges to, which the second rule finds.
RELAXATION_GAP = 0.0002
# What a whole roster's minutes may cost in priority points in the relaxation (see
# `_ColumnGeneration`). At a whole point the bound on priority had to add one, which at 400
# entries was 590 where 588 holds; a twentieth still orders days of equal priority by minutes.
MINUTE_CHARGE = 0.05
# Subgradient steps on a day planned in parts (see `_subgradient`): the step's scale at first, and
# the steps without a better bound after which it is halved.
SUBGRADIENT_SCALE = 1.0
SUBGRADIENT_PATIENCE = 5
DAYS_PER_KIND = 3
# Weight of the best duals so far in the duals priced (Wentges smoothing). Measured at 1000 entries
# (CPU seconds to the relaxation's gap): 0.5 5.1 s, 0.7 4.5 s, 0.8 4.1 s, 0.85 4.3 s, 0.9 5.1 s.
SMOOTHING = 0.8
TOLERANCE = 1e-7
PACK_MIN_SECONDS = 0.01
# A day planned whole from the default budget on (`WHOLE_BY_WORK`) stops column generation after
# this many rounds even short of solved: at 1,000 entries (generator seed 7) the relaxation's share
# (50%) of a 10 s budget used to end it near 87 rounds and 4.8 s; 90 rounds end 4.8 to 5.0 s in,
# a bound of 1582.5 (proving 1,582 as before), and leave the dive and the search the rest.
RELAXATION_ROUNDS = 90
# With a second core, rounds of the relaxation before the dive (see `Work`); the bound's own
# rounds go on aside. Tuning seeds 1001-1004, 10 s on the CPU clock, covered with 30 / 45 / 60
# rounds: 400 entries 2,408 / 2,408 / 2,410 over the four days, 800 entries 4,980 / 4,999 / 5,000,
# 1,000 entries (1001, 1002) 1,557 / 1,556 / 1,474 and 1,558 / 1,561 / 1,554 (at 60 the dive no
# longer ended in time on the first). With 90 rounds in one process, as before, the same two days
# of 1,000 covered 1,456 and 1,550 on this machine.
ASIDE_AFTER = 45
# Cuts only on days up to this many entries: at 10 s the cuts' share (12%) used to leave them
# to 400 entries and none to 800, whose relaxation took 2.75 s.
CUT_ENTRIES = 600
# SCIP's look at the pool after the dives, on a day planned whole, only up to this many entries:
# on the tuning days 1001-1004 at 800 entries it took 0.6 to 0.7 of a 10 s budget and never beat
# the dive, and that time given to the search covered 5,046 to 5,048 over the four days at 800
# entries and 6,230 to 6,234 at 1,000, against 5,036 to 5,040 and 6,215 to 6,223 with it (three
# runs each, CPU clock); at 400 entries both covered 2,422.
PACK_ENTRIES = 600
# Dives on a day planned whole: MAX_DIVES at most and at least one, DIVE_WORK over the squared
# entries, as a dive's time grows about with that square (at 10 s, 0.07 s at 200 entries, 0.33 s at
# 400, 1.6 s at 800, 2.5 s at 1,000); this gives the dives their share (35%) used to allow.
DIVE_WORK = 1_000_000
# Pricing rounds between two dives, and the share of the teams whose days each dive fixes (as
# well as every day the relaxation takes more than half of). Measured at 1000 entries from a solved
# relaxation, covered after the finishing touches and CPU seconds of the dive: a tenth of the teams
# and three rounds 1566 in 12.1 s, a quarter and two rounds 1558 in 4.6 s, a quarter and one round
# 1517 in 3.1 s (bound 1612). Within a 10 s budget the dive must end for its plan to count: a
# quarter and two rounds took the whole run from 91.9% to 97.3% of the bound there.
DIVE_ROUNDS = 2
DIVE_FRACTION = 0.25
# With the relaxation's bound on a second core (`Work.aside_after`), a day planned whole has the
# time for a finer dive: tuning seeds 1001-1004 at 10 s (CPU clock) covered over the four days
# with a quarter / 15% / a tenth of the teams a step: 400 entries 2,408 / 2,419 / 2,421, 800
# entries 5,002 / 5,017 / 5,013, 1,000 entries 6,173 / 6,193 / 6,210 (and 6,191 / 6,197 / 6,216
# on the wall clock). The parts of a very large day keep a quarter: their dives end by a share of
# their clock, and a tenth took 3,000 entries in 30 s from 4,802 and 4,921 to 4,731 and 4,813.
ASIDE_DIVE_FRACTION = 0.1
# Dives from the same relaxation (see `_relax_and_round`), and how far later ones shake its order:
# at 400 entries (tuning seeds) single dives ended anywhere from 576 to 615 on one day.
MAX_DIVES = 8
DIVE_SHAKE = 0.5
# Requests a fixed day carries are priced this far below nothing: no other day can have them.
FIXED_PENALTY = 1e6
# Subset-row cuts (see `_ColumnGeneration.separate`): rounds of them, the most added per round, and
# by how much a cut must be broken to be added. Set on the tuning seeds; the scaling table's seed
# is not used to choose it (there four rounds happened to cover 582 at 400 entries, five 579).
CUT_ROUNDS = 5
CUTS_PER_ROUND = 100
CUT_VIOLATION = 0.02
# How many cuts a request may be in at once. Cuts sharing requests take the bound lower than
# disjoint ones (tuning seed, 400 entries: 562 without cuts, 561 with disjoint ones, 560 with up to
# six a request), at the price of a longer search for each window's riders in the pricing; in 10 s
# the three tuning days of 400 entries covered 550, 659, 613 with one, 554, 658, 614 with three and
# 554, 660, 617 with six.
CUTS_PER_REQUEST = 6
# Teams in a neighbourhood at first, and by how many it grows once about a round of the teams in
# neighbourhoods (at least GROW_AFTER) brought nothing. At 400 entries most neighbourhoods of four
# teams already held the best their own bound allowed; wider ones took 400 entries from 98.6% to
# 99.1% of the bound (tuning seeds, 10 s).
NEIGHBOURHOOD = 4
NEIGHBOURHOOD_STEP = 2
GROW_AFTER = 3
LNS_STEP_SECONDS = 0.6
# The default budget (`solve`): a longer one first takes its path (`optimise`).
STAGE_SECONDS = 10.0
# Below this a neighbourhood cannot even be set up, let alone improved.
LNS_STEP_MIN_SECONDS = 0.1


@dataclass(frozen=True)
class Work:
    """How much a relaxation and its rounding may do, whatever the clock says: rounds of column
    generation (None: until solved), rounds of cuts, and dives.

    With `aside_after` and a second core (`aside`), the relaxation stops after that many rounds and
    dives from there, while a copy of it goes on in a second process for the bound alone: until
    solved, with its cuts, to the end of the budget.
    """

    rounds: int | None = None
    cut_rounds: int = CUT_ROUNDS
    dives: int = MAX_DIVES
    aside_after: int | None = None
    # The share of the teams each step of a dive fixes once the relaxation goes on aside.
    aside_dive_fraction: float = DIVE_FRACTION
    # Whether SCIP gets its look at the pool of days after the dives (`_pack`).
    pack: bool = True


def _work_of(entries: int) -> Work:
    """What a day planned whole does before the search, fixed by its size."""
    return Work(
        rounds=RELAXATION_ROUNDS,
        cut_rounds=CUT_ROUNDS if entries <= CUT_ENTRIES else 0,
        dives=max(1, min(MAX_DIVES, DIVE_WORK // max(1, entries) ** 2)),
        aside_after=ASIDE_AFTER,
        aside_dive_fraction=ASIDE_DIVE_FRACTION,
        pack=entries <= PACK_ENTRIES,
    )


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    covered: int
    team_minutes: int
    # No plan covers more than this: the least of the bounds known (see `_coverable`).
    upper_bound: int


class _Clock:
    def __init__(
        self,
        seconds: float,
        reserve: float,
        shares: Shares,
        timer: Callable[[], float],
        started: float | None = None,
    ) -> None:
        self.timer = timer
        self.started = timer() if started is None else started
        self.shares = shares
        # Kept back for turning the answer into a plan and checking it.
        self.end = self.started + max(0.0, seconds - reserve)

    def left(self) -> float:
        return self.end - self.timer()

    def out(self) -> bool:
        return self.left() <= 0

    def elapsed(self) -> float:
        return self.timer() - self.started

    def until(self, share: float) -> float:
        return self.started + share * (self.end - self.started) - self.timer()

    def past(self, share: float) -> bool:
        return self.until(share) <= 0


class _Master:
    """The restricted master LP: one row per request (<= 1), one per team kind (<= its size)."""

    def __init__(self, n_requests: int, kinds: list[TeamKind], minute_cost: float) -> None:
        self.lp = pywraplp.Solver.CreateSolver("GLOP")
        # Presolve rebuilds the problem on every solve: without it a re-solve after adding days
        # takes about a third of the pivots and half the time (measured at 1000 entries).
        self.lp.SetSolverSpecificParametersAsString("use_preprocessing: false")
        self.minute_cost = minute_cost
        inf = self.lp.infinity()
        self.request_rows = [self.lp.Constraint(-inf, 1.0) for _ in range(n_requests)]
        self.kind_rows = [self.lp.Constraint(-inf, float(len(k.members))) for k in kinds]
        # Subset-row cuts (see `_ColumnGeneration.separate`): no two days share two of a cut's
        # requests. `cuts_by_request` lists the cuts in force each request is in.
        self.cut_rows: list[pywraplp.Constraint] = []
        self.cut_members: list[tuple[int, ...]] = []
        self.cuts_by_request: list[list[int]] = [[] for _ in range(n_requests)]
        self.objective = self.lp.Objective()
        self.objective.SetMaximization()
        self.columns: list[Column] = []
        self.variables: list[pywraplp.Variable] = []
        self._seen: set[tuple[int, tuple[tuple[int, tuple[int, ...]], ...]]] = set()
        self._solution = np.zeros(0)
        self.cut_duals = np.zeros(0)
        self.value = math.inf

    def value_of(self, column: Column) -> float:
        return column.priority - self.minute_cost * column.minutes

    def cuts_of(self, column: Column) -> list[int]:
        """The cuts the day takes two or more requests of."""
        counts: dict[int, int] = {}
        for r in column.request_indices:
            for j in self.cuts_by_request[r]:
                counts[j] = counts.get(j, 0) + 1
        return sorted(j for j, count in counts.items() if count >= 2)

    def active_cuts(self) -> list[int]:
        return sorted({j for cuts in self.cuts_by_request for j in cuts})

    def drop_cuts(self, cuts: list[int]) -> None:
        """Lift cuts (a row cannot be removed; without a bound it is free, and its dual nothing)."""
        lifted = set(cuts)
        for j in lifted:
            self.cut_rows[j].SetUb(self.lp.infinity())
            for r in self.cut_members[j]:
                self.cuts_by_request[r].remove(j)

    def add_cuts(self, cuts: list[tuple[int, ...]]) -> None:
        first = len(self.cut_rows)
        for members in cuts:
            for r in members:
                self.cuts_by_request[r].append(len(self.cut_rows))
            self.cut_members.append(members)
            self.cut_rows.append(self.lp.Constraint(-self.lp.infinity(), 1.0))
        for column, x in zip(self.columns, self.variables, strict=True):
            for j in self.cuts_of(column):
                if j >= first:
                    self.cut_rows[j].SetCoefficient(x, 1.0)

    def add(self, column: Column) -> bool:
        key = (column.kind, column.runs)
        if key in self._seen or not column.runs:
            return False
        self._seen.add(key)
        x = self.lp.NumVar(0.0, self.lp.infinity(), "")
        self.objective.SetCoefficient(x, self.value_of(column))
        self.kind_rows[column.kind].SetCoefficient(x, 1.0)
        for r in column.request_indices:
            self.request_rows[r].SetCoefficient(x, 1.0)
        for j in self.cuts_of(column):
            self.cut_rows[j].SetCoefficient(x, 1.0)
        self.columns.append(column)
        self.variables.append(x)
        return True

    def solve(self, seconds: float) -> bool:
        if seconds <= 0:
            return False
        self.lp.SetTimeLimit(max(1, int(seconds * 1000)))
        if self.lp.Solve() != pywraplp.Solver.OPTIMAL:
            return False
        self._solution = np.array([x.solution_value() for x in self.variables])
        self.value = self.objective.Value()
        # Read now: adding a day or a cut discards the solution's duals.
        self.cut_duals = np.array([row.dual_value() for row in self.cut_rows])
        return True

    def duals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.array([row.dual_value() for row in self.request_rows]),
            np.array([row.dual_value() for row in self.kind_rows]),
            np.array([row.dual_value() for row in self.cut_rows]),
        )

    def values(self) -> np.ndarray:
        """The last relaxation's values; columns added since then count as zero."""
        return np.pad(self._solution, (0, len(self.columns) - len(self._solution)))


class _ColumnGeneration:
    def __init__(
        self, prep: Prepared, windows: Windows, kinds: list[TeamKind], cutting: bool = False
    ) -> None:
        shift_total = sum(t.shift_end - t.shift_start for t in prep.instance.teams)
        # Minutes only break ties: a whole roster's minutes are charged at most MINUTE_CHARGE
        # of a priority point, so the bound on priority alone is the relaxation's plus that.
        self.minute_cost = MINUTE_CHARGE / (shift_total + 1)
        self.most_charged = self.minute_cost * shift_total
        self.windows = windows
        self.kinds = kinds
        self.sizes = np.array([len(k.members) for k in kinds], dtype=np.float64)
        self.pricer = Pricer(prep, windows, kinds, self.minute_cost)
        self.master = _Master(len(windows.requests), kinds, self.minute_cost)
        self.cutting = cutting
        self.bound = math.inf
        self._centre: np.ndarray | None = None
        # Diving: days fixed into the plan, and the requests they carry (priced as worth nothing).
        self.fixed: list[int] = []
        self._taken = np.zeros(len(windows.requests))
        # Days the fixed ones leave no room for (see `_shut_out`).
        self._shut: set[int] = set()

    def step(self, clock: _Clock) -> int | None:
        """Solve the master, price, add improving days; the number added, or None if out of time."""
        if not self.master.solve(clock.left()):
            return None
        duals, kind_duals, cut_duals = self.master.duals()
        # The requests' duals, then the cuts': smoothed and bounded together.
        both = np.concatenate([duals, cut_duals])
        n = len(duals)
        diving = bool(self.fixed)
        weight = SMOOTHING if self._centre is not None and not diving else 0.0
        while True:
            centre = both if self._centre is None else self._centre
            # Cuts added since the centre was set enter it at nothing.
            centre = np.pad(centre, (0, len(both) - len(centre)))
            probe = weight * centre + (1 - weight) * both
            probe[n:] = np.maximum(probe[n:], 0.0)
            values = self.windows.priority - probe[:n] - FIXED_PENALTY * self._taken
            found = self.pricer.price(values, DAYS_PER_KIND, probe[n:])
            # With days fixed the relaxation is no longer the whole problem's: no bound from it.
            if not diving:
                bound = probe.sum() + sum(
                    size * max([0.0] + [value for value, _ in days])
                    for size, days in zip(self.sizes, found, strict=True)
                )
                if bound < self.bound:
                    self.bound, self._centre = bound, probe
            added = 0
            for k, days in enumerate(found):
                for _, column in days:
                    reduced = (
                        self.master.value_of(column)
                        - duals[column.request_indices].sum()
                        - kind_duals[k]
                        - cut_duals[self.master.cuts_of(column)].sum()
                    )
                    if reduced > TOLERANCE:
                        added += self.master.add(column)
            # A smoothed probe may miss (find nothing the true duals would take); then the
            # true duals decide whether the relaxation is solved.
            if added or weight == 0.0:
                return added
            weight = 0.0

    def duals_by_request(self) -> dict[str, float]:
        """The best duals found (those of the best bound), by request id."""
        if self._centre is None:
            return {}
        centre = self._centre[: len(self.windows.requests)]
        return {r.id: float(v) for r, v in zip(self.windows.requests, centre, strict=True)}

    def priority_bound(self) -> float:
        """The bound at the best duals found, on covered priority alone.

        The relaxation values a day at its priority less a charge for its minutes, so its own bound
        holds for priority only once a point is added for the charge. Priced again at the same
        duals without the charge, the bound needs no such point (any duals of at least zero give a
        bound this way), which takes about a point off it.
        """
        if self._centre is None:
            return math.inf
        n = len(self.windows.requests)
        probe = np.maximum(self._centre, 0.0)
        # Cuts added after the best duals were found enter at nothing.
        probe = np.pad(probe, (0, n + len(self.master.cut_rows) - len(probe)))
        charge = self.pricer.minute_cost
        self.pricer.minute_cost = 0.0
        try:
            found = self.pricer.price(self.windows.priority - probe[:n], 1, probe[n:])
        finally:
            self.pricer.minute_cost = charge
        return float(probe.sum()) + sum(
            size * max([0.0] + [value for value, _ in days])
            for size, days in zip(self.sizes, found, strict=True)
        )

    def solved(self) -> bool:
        """Is the relaxation solved near enough: its bound within RELAXATION_GAP of its value, or
        both in the same whole point once the minutes' charge is added (the bound on priority is
        whole, so no further round could lower it)?"""
        value, bound = self.master.value, self.bound
        if bound <= value + RELAXATION_GAP * abs(value):
            return True
        return math.floor(bound + self.most_charged + 1e-6) <= math.floor(
            value + self.most_charged + 1e-6
        )

    def relax(
        self,
        clock: _Clock,
        work: Work = Work(),
        each_round: Callable[[], None] = lambda: None,
    ) -> int:
        """Generate days until the relaxation is solved (near enough), its rounds are done or its
        share is spent; `each_round` is called after every round.

        With `cutting`, a solved relaxation gets cuts (`separate`) and is solved again, for a few
        rounds or until none is found.
        """
        rounds = cut_rounds = 0
        while not clock.past(clock.shares.relaxation) and (
            work.rounds is None or rounds < work.rounds
        ):
            rounds += 1
            added = self.step(clock)
            if added is None:
                break
            each_round()
            if added and not self.solved():
                continue
            if clock.past(clock.shares.cuts) or not (
                self.cutting and cut_rounds < work.cut_rounds and self.separate()
            ):
                break
            cut_rounds += 1
        return rounds

    def lift_cuts(self) -> None:
        cuts = self.master.active_cuts()
        self.master.drop_cuts(cuts)
        self.pricer.drop_cuts(cuts)
        if self._centre is not None:
            self._centre[len(self.windows.requests) :] = 0.0

    def separate(self) -> int:
        """Add the subset-row cuts the relaxation breaks most; the number added.

        A cut is three requests of one area that share an instant, so a day carries two of them
        only in one run (a team is in one place at a time, and a run holds its riders' whole
        windows). No plan has two days that each carry two of the three, since one of the three
        would ride twice: the days carrying two or more of them add up to at most one. The
        relaxation breaks this when fractions of days each pair up different two of the three,
        which is how it covers more than any plan can. The pricing values such a day less the
        cut's dual, exactly (`Pricer._exact_run`), so the bound stays a bound. Cuts may share
        requests, up to CUTS_PER_REQUEST cuts a request, which keeps that search small.
        """
        w, master = self.windows, self.master
        x = master.values()
        # Cuts the relaxation no longer presses on are lifted, to keep the pricing's work small.
        slack = [
            j
            for j in master.active_cuts()
            if j >= len(master.cut_duals) or abs(master.cut_duals[j]) <= TOLERANCE
        ]
        master.drop_cuts(slack)
        self.pricer.drop_cuts(slack)
        if self._centre is not None:
            self._centre[
                [len(w.requests) + j for j in slack if len(w.requests) + j < len(self._centre)]
            ] = 0.0
        pairs: dict[tuple[int, int], float] = {}
        triples: dict[tuple[int, int, int], float] = {}
        for column, value in zip(master.columns, x, strict=True):
            if value <= TOLERANCE:
                continue
            for _, picks in column.runs:
                riders = sorted(picks)
                for pair in itertools.combinations(riders, 2):
                    pairs[pair] = pairs.get(pair, 0.0) + value
                for triple in itertools.combinations(riders, 3):
                    triples[triple] = triples.get(triple, 0.0) + value
        partners: dict[int, set[int]] = {}
        for a, b in pairs:
            partners.setdefault(a, set()).add(b)
            partners.setdefault(b, set()).add(a)
        in_force = {master.cut_members[j] for j in master.active_cuts()}
        broken = []
        for (a, b), ab in pairs.items():
            for c in partners[a] & partners[b]:
                if c <= b or (a, b, c) in in_force:
                    continue
                if max(w.req_start[[a, b, c]]) >= min(w.req_end[[a, b, c]]):
                    continue
                load = ab + pairs.get((a, c), 0.0) + pairs[(b, c)] - 2 * triples.get((a, b, c), 0.0)
                if load > 1 + CUT_VIOLATION:
                    broken.append((load, (a, b, c)))
        broken.sort(reverse=True)
        chosen: list[tuple[int, ...]] = []
        uses = [len(cuts) for cuts in master.cuts_by_request]
        for _, members in broken:
            if all(uses[r] < CUTS_PER_REQUEST for r in members):
                chosen.append(members)
                for r in members:
                    uses[r] += 1
                if len(chosen) >= CUTS_PER_ROUND:
                    break
        master.add_cuts(chosen)
        self.pricer.add_cuts(chosen)
        return len(chosen)

    def undive(self) -> None:
        """Free the days the last dive fixed, for another dive from the same relaxation."""
        for i in self.fixed:
            self.master.variables[i].SetLb(0.0)
        for i in self._shut:
            self.master.variables[i].SetUb(self.master.lp.infinity())
        self.fixed = []
        self._shut = set()
        self._taken[:] = 0.0

    def dive(
        self, clock: _Clock, rng: random.Random | None = None, fraction: float = DIVE_FRACTION
    ) -> list[int]:
        """Round the relaxation by diving: fix its surest days, solve again, price again, repeat.

        Each step fixes the days the relaxation takes most of, so the requests those days carry are
        settled and the rest of the relaxation, priced again around them, plans what is left.
        Stops when the relaxation with its fixed days is whole, or when its share of the clock is
        spent; the days fixed by then always fit together. Each step fixes a `fraction` of the
        teams' days, or more where the steps left would not end within its share.
        """
        columns, sizes = self.master.columns, self.sizes
        began = clock.timer()
        # With every team's day fixed there is nothing left to round.
        while not clock.past(clock.shares.dive) and len(self.fixed) < sizes.sum():
            for _ in range(DIVE_ROUNDS):
                if not self.step(clock):
                    break
            x = self.master.values()
            if rng is not None:
                # Later dives take the relaxation's days in a shaken order, to round it otherwise.
                x = x * np.array([rng.uniform(1 - DIVE_SHAKE, 1.0) for _ in range(len(x))])
            fixed = set(self.fixed)
            free = [i for i in np.argsort(-x, kind="stable") if i not in fixed and x[i] > TOLERANCE]
            if not free:
                break
            # Days the relaxation takes more than half of never share a request, and beyond
            # those, a few of the largest.
            sure = [i for i in free if x[i] > 0.5]
            step = max(1, math.ceil(fraction * sizes.sum()))
            # A step takes about as long as the last one. Where the steps left at this size, and
            # the one that finds the relaxation whole, would not end within the dive's share (a
            # slow or busy machine), each fixes more, so that the dive still ends: cut short, it
            # would leave days for the greedy to fill.
            spent, began = clock.timer() - began, clock.timer()
            unfixed = int(sizes.sum()) - len(self.fixed)
            fits = int(clock.until(clock.shares.dive) / spent) - 1 if spent > 0 else unfixed
            if math.ceil(unfixed / step) > fits:
                step = max(step, math.ceil(unfixed / max(1, fits)))
            picks = _compatible(columns, self.fixed + sure + free[:step], sizes)[len(self.fixed) :]
            if not picks:
                break
            for i in picks:
                self.master.variables[i].SetLb(1.0)
                self._taken[columns[i].request_indices] = 1.0
            self.fixed.extend(int(i) for i in picks)
            self._shut_out()
        return list(self.fixed)

    def _shut_out(self) -> None:
        """Bound to nothing the days the fixed ones leave no room for: those sharing a request
        with a fixed day, and those of a kind whose teams all have fixed days.

        The relaxation is the same either way, as its rows already hold them at nothing, but the
        simplex no longer has to find that out: at 1,000 entries the solve after a step took 150 to
        500 ms with them free, 10 to 100 ms with them bounded, and a dive's solves 3.5 s in all
        against 0.6 s."""
        columns, variables = self.master.columns, self.master.variables
        fixed = set(self.fixed)
        used = np.bincount([columns[i].kind for i in fixed], minlength=len(self.sizes))
        full = used >= self.sizes
        for i, column in enumerate(columns):
            if i in fixed or i in self._shut:
                continue
            if full[column.kind] or self._taken[column.request_indices].any():
                variables[i].SetUb(0.0)
                self._shut.add(i)


def _compatible(columns: list[Column], chosen: list[int], sizes: np.ndarray) -> list[int]:
    """Keep chosen columns in order while they share no request and fit their kind's team count."""
    taken: set[int] = set()
    used = np.zeros(len(sizes))
    kept = []
    for i in chosen:
        column = columns[i]
        riders = column.request_indices
        if used[column.kind] >= sizes[column.kind] or taken.intersection(riders):
            continue
        taken.update(riders)
        used[column.kind] += 1
        kept.append(i)
    return kept


def _rounded(cg: _ColumnGeneration) -> list[int]:
    """A whole plan from the relaxation: its days by decreasing value, while they fit together."""
    x = cg.master.values()
    return _compatible(cg.master.columns, [int(i) for i in np.argsort(-x, kind="stable")], cg.sizes)


def _pack(cg: _ColumnGeneration, start: list[int], clock: _Clock, seed: int) -> list[int]:
    """Best set of generated days by covered priority then minutes, searched from `start`."""
    master = cg.master
    columns = master.columns
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None or _pack_seconds(clock) < PACK_MIN_SECONDS:
        return start
    memory = clock.shares.pack_megabytes
    solver.SetSolverSpecificParametersAsString(
        f"randomization/randomseedshift = {seed}\n"
        + ("" if memory is None else f"limits/memory = {memory}\n")
    )
    scale = 1 / master.minute_cost
    xs = [solver.BoolVar("") for _ in columns]
    by_kind: list[list[pywraplp.Variable]] = [[] for _ in cg.kinds]
    by_request: list[list[pywraplp.Variable]] = [[] for _ in cg.windows.requests]
    for x, column in zip(xs, columns, strict=True):
        by_kind[column.kind].append(x)
        for r in column.request_indices:
            by_request[r].append(x)
    for size, group in zip(cg.sizes, by_kind, strict=True):
        if len(group) > size:
            solver.Add(solver.Sum(group) <= size)
    for group in by_request:
        if len(group) > 1:
            solver.Add(solver.Sum(group) <= 1)
    solver.Maximize(
        solver.Sum([(c.priority * scale - c.minutes) * x for x, c in zip(xs, columns, strict=True)])
    )
    chosen = set(start)
    solver.SetHint(xs, [1.0 if i in chosen else 0.0 for i in range(len(xs))])
    seconds = _pack_seconds(clock)  # again: building the model took some of it
    if seconds < PACK_MIN_SECONDS:
        return start
    solver.SetTimeLimit(int(seconds * 1000))
    if solver.Solve() not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return start
    found = [i for i, x in enumerate(xs) if x.solution_value() > 0.5]
    if _score(columns, found) >= _score(columns, start):
        return found
    return start


def _pack_seconds(clock: _Clock) -> float:
    # Even past its share the packing gets a quick look: small pools are solved in milliseconds.
    return max(clock.until(clock.shares.pack), min(1.0, 0.1 * clock.left()))


def _score(columns: list[Column], chosen: list[int]) -> tuple[int, int]:
    return (sum(columns[i].priority for i in chosen), -sum(columns[i].minutes for i in chosen))


def _days_from_columns(
    prep: Prepared, windows: Windows, kinds: list[TeamKind], columns: list[Column]
) -> list[list[DraftRun]]:
    days: list[list[DraftRun]] = [[] for _ in prep.instance.teams]
    free = {k: list(kind.members) for k, kind in enumerate(kinds)}
    for column in columns:
        team = free[column.kind].pop(0)
        for window, picks in column.runs:
            riders = [windows.requests[r] for r in picks]
            days[team].append(
                DraftRun(
                    min(r.start for r in riders),
                    max(r.end for r in riders),
                    int(windows.area[window]),
                    riders,
                )
            )
    return days


def _days_from_plan(prep: Prepared, plan: Plan) -> list[list[DraftRun]]:
    team_index = {t.id: i for i, t in enumerate(prep.instance.teams)}
    requests = {r.id: r for r in prep.instance.requests}
    days: list[list[DraftRun]] = [[] for _ in prep.instance.teams]
    for run in sorted(plan.runs, key=lambda run: run.start):
        days[team_index[run.team]].append(
            DraftRun(
                run.start,
                run.end,
                prep.area_index[run.area],
                [requests[rid] for rid in run.requests],
            )
        )
    return days


def _seed_columns(
    prep: Prepared, windows: Windows, kinds: list[TeamKind], days: list[list[DraftRun]]
) -> list[Column]:
    """Days already planned as columns (runs must be gap-free, or their windows do not exist)."""
    index = {(int(a), int(s), int(e)): i for i, (a, s, e) in enumerate(
        zip(windows.area, windows.start, windows.end, strict=True)
    )}  # fmt: skip
    request_index = {r.id: i for i, r in enumerate(windows.requests)}
    kind_of = {team: k for k, kind in enumerate(kinds) for team in kind.members}
    columns = []
    for team, day in enumerate(days):
        if not day or team not in kind_of:
            continue
        runs = []
        for run in day:
            window = index.get((run.area, run.start, run.end))
            if window is None:
                break
            runs.append((window, tuple(sorted(request_index[r.id] for r in run.requests))))
        else:
            columns.append(
                Column(
                    kind_of[team],
                    tuple(runs),
                    sum(r.priority for run in day for r in run.requests),
                    _day_minutes(prep, team, day),
                )
            )
    return columns


def _day_minutes(prep: Prepared, team: int, day: list[DraftRun]) -> int:
    minutes, here = 0, None
    for run in day:
        minutes += run.end - run.start
        minutes += (
            prep.base_to[team][run.area] if here is None else prep.area_travel[here][run.area]
        )
        here = run.area
    if here is not None:
        minutes += prep.to_base[team][here]
    return minutes


def _finish(prep: Prepared, days: list[list[DraftRun]], clock: _Clock) -> Plan:
    reassign(prep, days)
    split_gaps(days)
    placed = {r.id for day in days for run in day for r in run.requests}
    left = sorted(
        (r for r in prep.instance.requests if r.id not in placed),
        key=lambda r: (-r.priority, r.start, r.id),
    )
    insert_requests(prep, days, left, out_of_time=clock.out)
    split_gaps(days)
    return days_to_plan(prep, days)


def optimise(
    instance: Instance,
    *,
    seconds: float = STAGE_SECONDS,
    seed: int = 0,
    improve: bool = True,
    previous: Plan | None = None,
    timer: Callable[[], float] = time.monotonic,
) -> Outcome:
    """The best plan found within `seconds` of wall time, with a bound on what any plan covers.

    With a `previous` plan (of this instance before a few edits), what still holds of it is the
    starting point, and the budget goes to improving it rather than to planning from nothing.
    `timer` is what the budget is counted in: wall time, unless a benchmark on a busy machine
    counts the process's CPU time (`time.process_time`) to see what a quiet machine would do.
    """
    if instance.pinned_runs:
        return _around_pinned(
            instance, seconds=seconds, seed=seed, improve=improve, previous=previous, timer=timer
        )
    searching = improve and len(instance.teams) > NEIGHBOURHOOD
    # A very large day is planned in parts (a re-plan keeps most of its previous plan instead).
    parts = parts_of(instance) if searching and previous is None else [instance]
    work = Work()
    if len(parts) > 1:
        shares = IN_PARTS_ASIDE if aside.can_fork() else IN_PARTS
    elif searching:
        shares = REPLAN if previous is not None else WHOLE
        if previous is None:
            work = _work_of(len(instance.requests))
            # A shorter budget keeps the shares, so that its relaxation leaves time to round it.
            if seconds >= STAGE_SECONDS:
                shares = WHOLE_BY_WORK
    else:
        shares = NEIGHBOURHOOD_PART

    def reserve(budget: float) -> float:
        return min(0.1 * budget, 0.05 + 0.02 * budget + 0.0002 * len(instance.requests))

    clock = _Clock(seconds, reserve=reserve(seconds), shares=shares, timer=timer)
    # Past the default budget a day planned whole first takes exactly the default budget's path
    # (its phases end by the same clock), then searches on from that plan: the phases' shares
    # would otherwise end them at other points, and a longer budget could end worse.
    stage = clock
    if searching and len(parts) == 1 and seconds > STAGE_SECONDS:
        stage = _Clock(
            STAGE_SECONDS,
            reserve=reserve(STAGE_SECONDS),
            shares=shares,
            timer=timer,
            started=clock.started,
        )
    prep = prepare(instance)
    if previous is not None:
        baseline = _finish(prep, kept_days(prep, previous), stage)
    else:
        baseline = greedy(instance, out_of_time=stage.out)
    scored = _checked(instance, baseline)
    if scored is None:
        baseline, scored = Plan([], [r.id for r in instance.requests]), (0, 0)
    best = (baseline, *scored)
    upper = _coverable(prep)
    kinds = team_kinds(prep)
    windows = build_windows(prep)
    tightening: aside.Bound | None = None
    if len(parts) > 1:
        plan, bound, tightening = _in_parts(prep, windows, kinds, parts, clock, seed)
        upper = min(upper, bound)
        scored = _checked(instance, plan)
        if scored is not None and (scored[0], -scored[1]) > (best[1], -best[2]):
            best = (plan, *scored)
    elif kinds and windows.count and stage.left() > 0:
        found, bound, _, tightening = _relax_and_round(
            prep,
            windows,
            kinds,
            baseline,
            stage,
            seed,
            cutting=improve,
            work=work,
            bound_clock=clock,
        )
        upper = min(upper, bound)
        scored = None if found is None else _checked(instance, found)
        if (
            found is not None
            and scored is not None
            and (scored[0], -scored[1]) > (best[1], -best[2])
        ):
            best = (found, *scored)
    outcome = Outcome(best[0], best[1], best[2], upper)
    try:
        if searching:
            # Seeded so a run can be replayed; nothing here needs unpredictability.
            rng = random.Random(seed)  # noqa: S311
            outcome = _improve(instance, outcome, [stage, clock], rng, tightening)
    finally:
        # What the copy proved so far: a plan done early is not held back for a better bound.
        if tightening is not None:
            outcome = replace(outcome, upper_bound=min(outcome.upper_bound, tightening.close()))
    return outcome


def _relax_and_round(
    prep: Prepared,
    windows: Windows,
    kinds: list[TeamKind],
    baseline: Plan,
    clock: _Clock,
    seed: int,
    cutting: bool = False,
    work: Work = Work(),
    bound_clock: _Clock | None = None,
) -> tuple[Plan | None, int, dict[str, float], aside.Bound | None]:
    """Relax, dive, pack and finish: a plan (None if there was no time to make one), the bound the
    relaxation proves (or the total priority), its best duals by request id, and the relaxation
    going on aside for a better bound until `bound_clock` ends (see `Work`), if it does."""
    upper = sum(r.priority for r in prep.instance.requests)
    if not (kinds and windows.count and clock.left() > 0):
        return None, upper, {}, None
    cg = _ColumnGeneration(prep, windows, kinds, cutting)
    seed_days = _days_from_plan(prep, baseline)
    split_gaps(seed_days)
    for column in _seed_columns(prep, windows, kinds, seed_days):
        cg.master.add(column)
    bound: aside.Bound | None = None
    fraction = DIVE_FRACTION
    if work.aside_after is not None and bound_clock is not None and aside.can_fork():
        rounds = cg.relax(clock, replace(work, rounds=work.aside_after, cut_rounds=0))
        bound = aside.Bound(_tightening(cg, bound_clock.left(), clock.timer))
        fraction = work.aside_dive_fraction
    else:
        rounds = cg.relax(clock, work)
    upper = min(upper, _proven(cg))
    # The cuts have given the bound; the dive rounds the relaxation without them, with the days
    # they brought in (measured on the tuning seeds at 400 entries: 99.1% of the bound against
    # 98.9% with the cuts kept).
    cg.lift_cuts()
    logger.debug(
        "relaxation: %d rounds, %d days, %d cuts, bound %.2f, %.2fs",
        rounds,
        len(cg.master.columns),
        len(cg.master.cut_rows),
        cg.bound,
        clock.elapsed(),
    )
    duals = cg.duals_by_request()
    rounded = _rounded(cg)
    # Seeded so a run can be replayed; nothing here needs unpredictability.
    rng = random.Random(seed)  # noqa: S311
    dives = 0
    while True:
        started = clock.elapsed()
        dived = cg.dive(clock, None if dives == 0 else rng, fraction)
        dives += 1
        logger.debug(
            "dive %d: %d covered by %d days, %.2fs",
            dives,
            _score(cg.master.columns, dived)[0],
            len(dived),
            clock.elapsed(),
        )
        if _score(cg.master.columns, dived) > _score(cg.master.columns, rounded):
            rounded = dived
        # Another dive only while one more of the same length ends within its share.
        if dives >= work.dives or clock.until(clock.shares.dive_again) < clock.elapsed() - started:
            break
        cg.undive()
    chosen = _pack(cg, rounded, clock, seed) if work.pack else rounded
    logger.debug(
        "packing: %d covered, %.2fs",
        _score(cg.master.columns, chosen)[0],
        clock.elapsed(),
    )
    columns = [cg.master.columns[i] for i in chosen]
    plan = _finish(prep, _days_from_columns(prep, windows, kinds, columns), clock)
    logger.debug("polished: %.2fs", clock.elapsed())
    return plan, upper, duals, bound


def _tightening(
    cg: _ColumnGeneration, seconds: float, timer: Callable[[], float]
) -> Callable[[Callable[[int], None]], None]:
    """The relaxation's rounds for the bound alone, as run in a second process (`aside`): until
    solved, then with its cuts if it has them, for `seconds`, sending each better bound proved."""

    def work(post: Callable[[int], None]) -> None:
        # The copy's own clock: a CPU clock starts again from nothing in a new process.
        clock = _Clock(seconds, reserve=0.0, shares=ASIDE, timer=timer)
        checked, sent = math.inf, sys.maxsize

        def prove() -> None:
            nonlocal checked, sent
            checked = math.floor(cg.bound + cg.most_charged + 1e-6)
            proven = _proven(cg)
            if proven < sent:
                post(proven)
                sent = proven

        def each_round() -> None:
            # Proving costs a pricing: only once the relaxation's own bound has gone a point down.
            if math.floor(cg.bound + cg.most_charged + 1e-6) < checked:
                prove()

        cg.relax(clock, Work(rounds=None, cut_rounds=CUT_ROUNDS), each_round)
        prove()

    return work


def _proven(cg: _ColumnGeneration) -> int:
    """The bound the relaxation proves on covered priority (none while it has none)."""
    if not (math.isfinite(cg.bound) and cg.windows.complete):
        return sys.maxsize
    # The relaxation values a plan at its priority less its minutes' charge.
    return min(
        math.floor(cg.bound + cg.most_charged + 1e-6), math.floor(cg.priority_bound() + 1e-6)
    )


def _in_parts(
    prep: Prepared,
    windows: Windows,
    kinds: list[TeamKind],
    parts: list[Instance],
    clock: _Clock,
    seed: int,
) -> tuple[Plan, int, aside.Bound | None]:
    """Plan each part within its share of the parts' time, put the plans together and top them up
    across the parts; then bound the whole day from the parts' duals (`_subgradient`), in a
    second process if there is a core for it (the bound it proves comes with the plan)."""
    instance = prep.instance
    runs = []
    duals: dict[str, float] = {}
    sizes = [len(part.requests) for part in parts]
    for n, part in enumerate(parts):
        seconds = clock.until(clock.shares.parts) * sizes[n] / max(1, sum(sizes[n:]))
        part_clock = _Clock(seconds, reserve=0.0, shares=PART, timer=clock.timer)
        part_prep = prepare(part)
        part_baseline = greedy(part, out_of_time=part_clock.out)
        found, _, part_duals, _ = _relax_and_round(
            part_prep,
            build_windows(part_prep),
            team_kinds(part_prep),
            part_baseline,
            part_clock,
            seed,
        )
        runs.extend((found or part_baseline).runs)
        duals.update(part_duals)
        logger.debug(
            "part %d of %d: %d entries, %.2fs", n + 1, len(parts), sizes[n], clock.elapsed()
        )
    placed = {rid for run in runs for rid in run.requests}
    merged = Plan(runs, [r.id for r in instance.requests if r.id not in placed])
    plan = _finish(prep, _days_from_plan(prep, merged), clock)
    upper = sum(r.priority for r in instance.requests)
    scored = _checked(instance, plan)
    tightening = None
    if kinds and windows.count and windows.complete and clock.left() > 0:
        pricer = Pricer(prep, windows, kinds, minute_cost=0.0)
        start = np.array([duals.get(r.id, 0.0) for r in windows.requests])
        covered = 0 if scored is None else scored[0]
        if aside.can_fork():
            # The search starts now; the bound is tightened aside until the budget ends. The bound
            # at the parts' own duals is proved here first: on a busy machine the copy, at the
            # lowest priority, may prove nothing before the plan is done.
            bound, _ = _dual_bound(pricer, windows, kinds, start)
            upper = min(upper, math.floor(bound + 1e-6))
            tightening = aside.Bound(_stepping(pricer, windows, kinds, start, covered, clock))
        else:
            bound = _subgradient(pricer, windows, kinds, start, covered, clock)
            logger.debug("whole day's bound from the parts' duals: %.2f", bound)
            upper = min(upper, math.floor(bound + 1e-6))
    return plan, upper, tightening


def _stepping(
    pricer: Pricer,
    windows: Windows,
    kinds: list[TeamKind],
    start: np.ndarray,
    covered: int,
    clock: _Clock,
) -> Callable[[Callable[[int], None]], None]:
    """`_subgradient` as run in a second process (`aside`) to the end of `clock`'s budget, sending
    each better bound."""
    seconds, timer = clock.left(), clock.timer

    def work(post: Callable[[int], None]) -> None:
        # The copy's own clock: a CPU clock starts again from nothing in a new process.
        own = _Clock(seconds, reserve=0.0, shares=ASIDE, timer=timer)
        sent = sys.maxsize

        def each_better(bound: float) -> None:
            nonlocal sent
            if math.floor(bound + 1e-6) < sent:
                sent = math.floor(bound + 1e-6)
                post(sent)

        _subgradient(pricer, windows, kinds, start, covered, own, each_better)

    return work


def _subgradient(
    pricer: Pricer,
    windows: Windows,
    kinds: list[TeamKind],
    start: np.ndarray,
    covered: int,
    clock: _Clock,
    each_better: Callable[[float], None] = lambda _: None,
) -> float:
    """The least bound on covered priority found by subgradient steps on the duals from `start`;
    `each_better` is called with each better one.

    Any duals of at least zero give a bound (Lagrangian): their sum, plus for each kind of team its
    number of teams times its best day's priority less the duals of the requests on it. Each step
    prices the whole day once, with no master problem to solve (at 3,000 entries the master costs
    most of a column generation round), then lowers the duals of requests the kinds' best days
    cover more than once and raises those they leave out, by Polyak's step towards the best plan
    (`covered`), its scale halved whenever a few steps bring no better bound. From the parts' duals
    at 3,000 entries, 9 CPU seconds of it gave 5,356 where column generation gave 6,662.
    """
    sizes = np.array([len(k.members) for k in kinds], dtype=np.float64)
    duals = np.maximum(start, 0.0)
    best, scale, idle = math.inf, SUBGRADIENT_SCALE, 0
    while not clock.past(clock.shares.relaxation):
        bound, found = _dual_bound(pricer, windows, kinds, duals)
        if bound < best - TOLERANCE:
            best, idle = bound, 0
            each_better(best)
        else:
            idle += 1
            if idle >= SUBGRADIENT_PATIENCE:
                scale, idle = scale / 2, 0
        # Each kind's teams spread over its good days: how often each request would be covered.
        cover = np.zeros(len(duals))
        for size, days in zip(sizes, found, strict=True):
            good = [column for value, column in days if value > 0]
            for column in good:
                cover[column.request_indices] += size / len(good)
        direction = 1.0 - cover
        direction[(duals <= 0) & (direction > 0)] = 0.0
        norm = float(direction @ direction)
        if norm == 0.0 or bound <= covered:
            break
        duals = np.maximum(0.0, duals - scale * (bound - covered) / norm * direction)
    return best


def _dual_bound(
    pricer: Pricer, windows: Windows, kinds: list[TeamKind], duals: np.ndarray
) -> tuple[float, list[list[tuple[float, Column]]]]:
    """The bound on covered priority that `duals` (at least zero) give, and each kind's best days
    priced at them (see `_subgradient`)."""
    duals = np.maximum(duals, 0.0)
    found = pricer.price(windows.priority - duals, DAYS_PER_KIND)
    bound = float(duals.sum()) + sum(
        len(kind.members) * max([0.0] + [value for value, _ in days])
        for kind, days in zip(kinds, found, strict=True)
    )
    return bound, found


def _coverable(prep: Prepared) -> int:
    """The priority of every request some team could reach, wait out and come home from.

    A bound on any plan that needs no relaxation, and the one that holds while the relaxation's
    own is still above it (its first rounds price against duals that are far off).
    """
    total = 0
    for a, group in enumerate(prep.by_area):
        for request in group:
            if any(
                t.max_agents >= 1
                and t.shift_start + prep.base_to[i][a] <= request.start
                and request.end + prep.to_base[i][a] <= t.shift_end
                for i, t in enumerate(prep.instance.teams)
            ):
                total += request.priority
    return total


def _around_pinned(
    instance: Instance,
    *,
    seconds: float,
    seed: int,
    improve: bool,
    previous: Plan | None,
    timer: Callable[[], float],
) -> Outcome:
    """Plan what the pinned runs leave, then put them back (see `pinned`)."""
    rest, restore, carry = around_pinned(instance)
    found = optimise(
        rest,
        seconds=seconds,
        seed=seed,
        improve=improve,
        previous=None if previous is None else carry(previous),
        timer=timer,
    )
    plan = restore(found.plan)
    covered, team_minutes = check(instance, plan)
    pinned = covered - found.covered
    upper = found.upper_bound + pinned
    return Outcome(plan, covered, team_minutes, upper)


def _improve(
    instance: Instance,
    outcome: Outcome,
    clocks: list[_Clock],
    rng: random.Random,
    tightening: aside.Bound | None = None,
) -> Outcome:
    """Large neighbourhood search: re-plan a few related teams' days against every free request.

    The teams are one drawn at random and those whose days share the most areas with it, since they
    are the ones that can trade requests. Their days are planned again by the same optimiser,
    starting from their current days (so it never returns less), against their own requests plus
    all unassigned ones; the new days are kept when the whole plan gets better. Most small
    neighbourhoods already hold the best their own bound allows, so once a round of them brings
    nothing the next ones are wider, up to all the teams; the search ends when even those bring
    nothing a few times, or the plan meets the bound, as tightened aside meanwhile. The search
    runs to the end of each clock in turn, the same search throughout: a longer budget's goes on
    where the default budget's ended.
    """
    size, idle = NEIGHBOURHOOD, 0
    for clock in clocks:
        outcome, size, idle = _search(instance, outcome, clock, rng, size, idle, tightening)
        logger.debug("search to %.2fs: %d covered", clock.elapsed(), outcome.covered)
    return outcome


def _search(
    instance: Instance,
    outcome: Outcome,
    clock: _Clock,
    rng: random.Random,
    size: int,
    idle: int,
    tightening: aside.Bound | None,
) -> tuple[Outcome, int, int]:
    """`_improve` until `clock` ends: the plan, the neighbourhoods' size and the steps since the
    last gain."""
    teams = instance.teams
    while clock.left() > LNS_STEP_MIN_SECONDS:
        if tightening is not None:
            outcome = replace(outcome, upper_bound=min(outcome.upper_bound, tightening.poll()))
        if outcome.covered >= outcome.upper_bound:
            break
        if idle >= max(GROW_AFTER, len(teams) // size):
            if size >= len(teams):
                break
            size, idle = min(len(teams), size + NEIGHBOURHOOD_STEP), 0
        plan = outcome.plan
        areas_of = {t.id: {run.area for run in plan.runs if run.team == t.id} for t in teams}
        first = rng.choice(teams).id
        others = sorted(
            (t.id for t in teams if t.id != first),
            key=lambda tid: (-len(areas_of[tid] & areas_of[first]), rng.random()),
        )
        chosen = {first, *others[: size - 1]}
        kept = [run for run in plan.runs if run.team not in chosen]
        taken = {rid for run in kept for rid in run.requests}
        sub = replace(
            instance,
            teams=tuple(t for t in teams if t.id in chosen),
            requests=tuple(r for r in instance.requests if r.id not in taken),
        )
        # A wider neighbourhood has more to plan: its time grows with it.
        seconds = min(LNS_STEP_SECONDS * size / NEIGHBOURHOOD, clock.left())
        current = Plan([run for run in plan.runs if run.team in chosen], [])
        found = optimise(
            sub,
            seconds=seconds,
            seed=rng.randrange(1 << 30),
            improve=False,
            previous=current,
            timer=clock.timer,
        )
        runs = kept + found.plan.runs
        covered_ids = {rid for run in runs for rid in run.requests}
        candidate = Plan(runs, [r.id for r in instance.requests if r.id not in covered_ids])
        scored = _checked(instance, candidate)
        idle += 1
        if scored is not None and (scored[0], -scored[1]) > (
            outcome.covered,
            -outcome.team_minutes,
        ):
            outcome = Outcome(candidate, *scored, outcome.upper_bound)
            idle = 0
    return outcome, size, idle


def _checked(instance: Instance, plan: Plan) -> tuple[int, int] | None:
    """The plan's score, or None if it breaks a rule: a bug may cost quality, never the sheet."""
    try:
        return check(instance, plan)
    except InfeasiblePlan as exc:
        logger.error("optimiser produced an infeasible plan, discarded: %s", exc)
        return None


def solve(
    instance: Instance,
    *,
    seconds: float = STAGE_SECONDS,
    seed: int = 0,
    previous: Plan | None = None,
) -> Plan:
    """A feasible plan covering as much priority as possible, then using fewest team minutes.

    Returns within `seconds` of wall time, except that the greedy plan is always made first (a few
    tenths of a second at 1000 requests). The same seed gives the same plan unless the budget is
    what stopped the search; on busy instances it usually is, and a faster or idler machine then
    finds more. A `previous` plan of the same day is kept wherever it still holds and improved.
    """
    return optimise(instance, seconds=seconds, seed=seed, previous=previous).plan
