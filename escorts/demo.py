"""Demo escort teams for a station: plausible West Bengal Police officers, and a login for each
team leader (`<station-slug>-escort<N>`). Running it again changes nothing: rows are found by
their natural keys and passwords are set only on accounts it creates."""

from __future__ import annotations

import datetime
import zlib

from django.db import transaction
from django_tenants.utils import tenant_context

from stations import services as station_services
from stations.demo import demo_user
from stations.models import Station, StationRole

from .models import EscortTeam, Officer

_SURNAMES = [
    "Mondal", "Das", "Ghosh", "Pal", "Maity", "Jana", "Bera", "Sahoo", "Mahato", "Hembram",
    "Giri", "Samanta", "Bhunia", "Dolui", "Manna", "Pradhan", "Bag", "Khan", "Sheikh", "Murmu",
]  # fmt: skip
_MEN = [
    "Subrata", "Tapas", "Arup", "Sanjib", "Prasanta", "Biswajit", "Amit", "Sk. Rahim", "Debashis",
    "Kartik", "Gopal", "Sujit", "Anup", "Mithun", "Raju", "Sourav", "Tarun", "Asim",
]  # fmt: skip
_WOMEN = ["Mousumi", "Rina", "Sabita", "Tanushree", "Papia", "Shampa", "Jhuma", "Mita"]

# (leader rank, member ranks) per team; the third member of some teams is a lady constable.
_TEAMS = [
    (Officer.Rank.SI, [Officer.Rank.CONSTABLE, Officer.Rank.HOME_GUARD]),
    (Officer.Rank.ASI, [Officer.Rank.CONSTABLE, Officer.Rank.LADY_CONSTABLE]),
    (Officer.Rank.ASI, [Officer.Rank.HOME_GUARD, Officer.Rank.CIVIC_VOLUNTEER]),
    (Officer.Rank.SI, [Officer.Rank.LADY_CONSTABLE, Officer.Rank.CIVIC_VOLUNTEER]),
    (Officer.Rank.ASI, [Officer.Rank.CONSTABLE, Officer.Rank.CIVIC_VOLUNTEER]),
]
_SHIFTS = [(7, 0, 15, 0), (8, 0, 16, 0), (9, 0, 17, 0), (7, 30, 15, 30), (10, 0, 18, 0)]
_VEHICLES = ["Bolero WB-33-{n}", "Mahindra Scorpio WB-33-{n}", "Motorcycle WB-34-{n}"]


def _officer_name(number: int, rank: str) -> str:
    surname = _SURNAMES[number % len(_SURNAMES)]
    if rank == Officer.Rank.LADY_CONSTABLE:
        return f"{_WOMEN[number % len(_WOMEN)]} {surname}"
    return f"{_MEN[number % len(_MEN)]} {surname}"


def _team_count(station: Station) -> int:
    # 3 to 5 teams, the same for a station on every run.
    return 3 + zlib.crc32(station.slug.encode()) % 3


def seed(*, station: Station, password: str) -> list[tuple[str, str]]:
    """Create the station's demo teams, officers and leader logins; return (username, what)."""
    logins: list[tuple[str, str]] = []
    code = station.slug[:3].upper()
    offset = zlib.crc32(station.slug.encode()) % 97
    with tenant_context(station), transaction.atomic():
        for n, (leader_rank, member_ranks) in enumerate(_TEAMS[: _team_count(station)], start=1):
            username = f"{station.slug}-escort{n}"
            leader_name = _officer_name(offset + n * 7, leader_rank)
            user = demo_user(username, password=password, first_name=leader_name)
            station_services.station_role_grant(
                user=user, station=station, role=StationRole.Role.ESCORT_OFFICER
            )
            leader, _ = Officer.objects.get_or_create(
                badge_no=f"{code}/{leader_rank.upper()}/{100 + n}",
                defaults={
                    "name": leader_name,
                    "rank": leader_rank,
                    "phone": f"+91943400{offset:02d}{n:02d}",
                    "user": user,
                },
            )
            members = []
            for m, rank in enumerate(member_ranks, start=1):
                member, _ = Officer.objects.get_or_create(
                    badge_no=f"{code}/{rank.upper()}/{200 + n * 10 + m}",
                    defaults={
                        "name": _officer_name(offset + n * 7 + m * 3, rank),
                        "rank": rank,
                        "phone": f"+91943401{offset:02d}{n}{m}",
                    },
                )
                members.append(member)
            h1, m1, h2, m2 = _SHIFTS[(n - 1) % len(_SHIFTS)]
            team, created = EscortTeam.objects.get_or_create(
                name=f"Mobile {n}",
                defaults={
                    "leader": leader,
                    "vehicle": _VEHICLES[n % len(_VEHICLES)].format(n=f"{offset:02d}{n:02d}"),
                    "shift_start": datetime.time(h1, m1),
                    "shift_end": datetime.time(h2, m2),
                    "capacity": 4 if n % 2 else 3,
                    "base_latitude": station.latitude,
                    "base_longitude": station.longitude,
                },
            )
            if created:
                team.members.set(members)
            logins.append((username, f"Escort team leader, {team.name}, {station.name} ({leader})"))
    return logins
