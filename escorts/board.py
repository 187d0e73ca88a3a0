"""The duty officer's live board as text: each watched run's line, worked out in Python.

A busy station has hundreds of active runs; the template language spends most of a board's
time resolving and localising values one by one, so the rows reach the template as finished,
translated strings (escaped by the template as any other), their times and counts in the
reader's numerals; a position's coordinates stay as maps and phones read them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from escort_portal.formats import native_digits

from . import watch
from .models import EscortRun, RunEscalation
from .notify import run_reference
from .selectors import WatchedRun


@dataclass(frozen=True)
class BoardRow:
    pk: int
    stage: str
    title: str
    status: str
    team: str
    phone: str
    timer: str
    position: str
    osm: str
    geo: str
    told: str


class _Text:
    """The board's sentences in the reader's language, looked up once per board, and clock
    times in the station's time zone."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.silent = _("No sign of life for %(minutes)s min (since %(since)s).")
        self.red_at = _("Red at %(time)s.")
        self.not_acknowledged = _("Not acknowledged; due by %(time)s.")
        self.not_started = _("Not started; it was due at %(time)s.")
        self.check_in = _("Last sign of life %(since)s; next check-in due by %(time)s.")
        self.acknowledge_by = _("Acknowledge by %(time)s.")
        self.start_by = _("Start by %(time)s.")
        self.position = _(
            "Last position %(lat)s, %(lon)s (within %(metres)s m), %(minutes)s min ago."
        )

    def clock(self, moment: datetime.datetime | None) -> str:
        return native_digits(f"{moment.astimezone(self.zone):%H:%M}") if moment else ""


def _timer(row: WatchedRun, text: _Text) -> str:
    state, run = row.state, row.run
    if state.reason == "silent":
        line = text.silent % {
            "minutes": native_digits(row.silent_minutes),
            "since": text.clock(state.since),
        }
        if state.stage == watch.AMBER:
            line += " " + text.red_at % {"time": text.clock(state.next_at)}
        return line
    if state.reason == "not_acknowledged":
        return text.not_acknowledged % {"time": text.clock(state.since)}
    if state.reason == "not_started":
        return text.not_started % {"time": text.clock(state.since)}
    if state.check_in_by:
        return text.check_in % {
            "since": text.clock(state.last_sign_at),
            "time": text.clock(state.check_in_by),
        }
    if run.status == run.Status.PLANNED:
        return text.acknowledge_by % {"time": text.clock(state.next_at)}
    return text.start_by % {"time": text.clock(state.next_at)}


def rows(watched: list[WatchedRun]) -> list[BoardRow]:
    text = _Text()
    now = timezone.now()
    leaders: dict[int, tuple[str, str]] = {}
    statuses = dict(EscortRun.Status.choices)
    rungs = dict(RunEscalation.Rung.choices)
    made = []
    for row in watched:
        run, kept = row.run, row.watch
        leader = run.team.leader
        if leader.pk not in leaders:
            leaders[leader.pk] = (f"{run.team.name} · {leader}", str(leader.phone))
        team, phone = leaders[leader.pk]
        position = osm = geo = ""
        if kept is not None and kept.latitude is not None and kept.longitude is not None:
            lat, lon = f"{kept.latitude}", f"{kept.longitude}"
            age = watch.minutes_between(kept.located_at, now) if kept.located_at else "?"
            position = text.position % {
                "lat": lat,
                "lon": lon,
                "metres": native_digits(kept.accuracy_m if kept.accuracy_m is not None else "?"),
                "minutes": native_digits(age),
            }
            osm = f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
            geo = f"geo:{lat},{lon}"
        hours = native_digits(f"{run.start:%H:%M}-{run.end:%H:%M}")
        made.append(
            BoardRow(
                pk=run.pk,
                stage=row.state.stage,
                title=f"{run_reference(run)} · {hours} · {run.area.display_name}",
                status=str(statuses[run.status]),
                team=team,
                phone=phone,
                timer=_timer(row, text),
                position=position,
                osm=osm,
                geo=geo,
                told="; ".join(f"{rungs[item.rung]} {text.clock(item.at)}" for item in row.told),
            )
        )
    return made
