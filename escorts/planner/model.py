"""The planner's data: an instance in, a plan out, and their JSON forms (docs: specs/planner.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Area:
    id: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Team:
    """A team on duty; times are minutes from midnight."""

    id: str
    base_lat: float
    base_lon: float
    shift_start: int
    shift_end: int
    max_agents: int
    # Where the day must end, when not back at base: the planner gives a pinned team's free time
    # between two pinned runs to a team of its own that starts at one run's area and ends at the
    # next's. Instances read from JSON never set it.
    end_lat: float | None = None
    end_lon: float | None = None

    @property
    def home(self) -> tuple[float, float]:
        if self.end_lat is None or self.end_lon is None:
            return self.base_lat, self.base_lon
        return self.end_lat, self.end_lon


@dataclass(frozen=True)
class Request:
    """One agent collecting in one area from `start` to `end` (minutes from midnight)."""

    id: str
    area: str
    start: int
    end: int
    priority: int

    def __post_init__(self) -> None:
        # A run must satisfy start < end, so a request without length could never be covered.
        if not self.start < self.end:
            raise ValueError(f"request {self.id!r} does not end after it starts")
        if self.priority < 1:
            raise ValueError(f"request {self.id!r} has a priority below 1")


@dataclass(frozen=True)
class Instance:
    speed_kmph: float
    areas: tuple[Area, ...]
    teams: tuple[Team, ...]
    requests: tuple[Request, ...]
    # Runs fixed beforehand (a duty officer's hand, or yesterday's sheet): every plan carries them
    # unchanged, and the rest is planned around them.
    pinned_runs: tuple[Run, ...] = ()

    def __post_init__(self) -> None:
        if self.speed_kmph <= 0:
            raise ValueError("speed_kmph must be positive")
        for kind, items in (("area", self.areas), ("team", self.teams), ("request", self.requests)):
            ids = [item.id for item in items]
            if len(set(ids)) != len(ids):
                raise ValueError(f"duplicate {kind} id")
        self._check_pinned_runs()

    def _check_pinned_runs(self) -> None:
        """Each pinned run on its own obeys the rules (whether its team can drive them is checked
        when planning around them)."""
        teams = {t.id: t for t in self.teams}
        areas = {a.id for a in self.areas}
        requests = {r.id: r for r in self.requests}
        seen: set[str] = set()
        for i, run in enumerate(self.pinned_runs):
            team = teams.get(run.team)
            if team is None:
                raise ValueError(f"pinned run {i}: unknown team {run.team!r}")
            if run.area not in areas:
                raise ValueError(f"pinned run {i}: unknown area {run.area!r}")
            if not run.start < run.end:
                raise ValueError(f"pinned run {i}: does not end after it starts")
            if not 1 <= len(run.requests) <= team.max_agents:
                raise ValueError(f"pinned run {i}: {len(run.requests)} requests for {team.id!r}")
            for rid in run.requests:
                request = requests.get(rid)
                if request is None:
                    raise ValueError(f"pinned run {i}: unknown request {rid!r}")
                if rid in seen:
                    raise ValueError(f"pinned run {i}: request {rid!r} is pinned twice")
                seen.add(rid)
                covers = run.start <= request.start and request.end <= run.end
                if request.area != run.area or not covers:
                    raise ValueError(f"pinned run {i}: does not cover request {rid!r}")


@dataclass(frozen=True)
class Run:
    """One team escorting a group of requests of one area from `start` to `end`."""

    team: str
    area: str
    start: int
    end: int
    requests: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    runs: list[Run]
    unassigned: list[str]


def travel_minutes(lat1: float, lon1: float, lat2: float, lon2: float, speed_kmph: float) -> int:
    """Whole minutes to drive between two points, exactly as the reference checker counts them."""
    if (lat1, lon1) == (lat2, lon2):
        return 0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
    return math.ceil(km / speed_kmph * 60)


def parse_hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"time {text!r} is not within one day")
    return value


def format_hhmm(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


def _run_from_json(run: dict[str, Any]) -> Run:
    return Run(
        team=str(run["team"]),
        area=str(run["area"]),
        start=parse_hhmm(run["start"]),
        end=parse_hhmm(run["end"]),
        requests=tuple(str(rid) for rid in run["requests"]),
    )


def _run_to_json(run: Run) -> dict[str, Any]:
    return {
        "team": run.team,
        "area": run.area,
        "start": format_hhmm(run.start),
        "end": format_hhmm(run.end),
        "requests": list(run.requests),
    }


def instance_from_json(data: dict[str, Any]) -> Instance:
    """Build an instance from the spec's JSON form; raise ValueError or KeyError if malformed."""
    return Instance(
        speed_kmph=float(data["speed_kmph"]),
        areas=tuple(
            Area(id=str(a["id"]), lat=float(a["lat"]), lon=float(a["lon"])) for a in data["areas"]
        ),
        teams=tuple(
            Team(
                id=str(t["id"]),
                base_lat=float(t["base"]["lat"]),
                base_lon=float(t["base"]["lon"]),
                shift_start=parse_hhmm(t["shift_start"]),
                shift_end=parse_hhmm(t["shift_end"]),
                max_agents=int(t["max_agents"]),
            )
            for t in data["teams"]
        ),
        requests=tuple(
            Request(
                id=str(r["id"]),
                area=str(r["area"]),
                start=parse_hhmm(r["start"]),
                end=parse_hhmm(r["end"]),
                priority=int(r["priority"]),
            )
            for r in data["requests"]
        ),
        pinned_runs=tuple(_run_from_json(run) for run in data.get("pinned_runs", [])),
    )


def instance_to_json(instance: Instance) -> dict[str, Any]:
    data = {
        "speed_kmph": instance.speed_kmph,
        "areas": [{"id": a.id, "lat": a.lat, "lon": a.lon} for a in instance.areas],
        "teams": [
            {
                "id": t.id,
                "base": {"lat": t.base_lat, "lon": t.base_lon},
                "shift_start": format_hhmm(t.shift_start),
                "shift_end": format_hhmm(t.shift_end),
                "max_agents": t.max_agents,
            }
            for t in instance.teams
        ],
        "requests": [
            {
                "id": r.id,
                "area": r.area,
                "start": format_hhmm(r.start),
                "end": format_hhmm(r.end),
                "priority": r.priority,
            }
            for r in instance.requests
        ],
    }
    if instance.pinned_runs:
        data["pinned_runs"] = [_run_to_json(run) for run in instance.pinned_runs]
    return data


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "runs": [_run_to_json(run) for run in plan.runs],
        "unassigned": list(plan.unassigned),
    }


def plan_from_json(data: dict[str, Any]) -> Plan:
    return Plan(
        runs=[_run_from_json(run) for run in data.get("runs", [])],
        unassigned=[str(rid) for rid in data.get("unassigned", [])],
    )
