"""Demo data: Kharagpur subdivision, its five police stations and their officers' logins.

Run again, it changes nothing: rows are looked up by their natural keys and passwords are set
only on accounts it creates.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction

from . import services
from .models import Station, StationRole, Subdivision, SubdivisionRole, User


@dataclass(frozen=True)
class DemoStation:
    slug: str
    name: str
    name_bn: str
    address: str
    latitude: float
    longitude: float


SUBDIVISION = {"name": "Kharagpur", "name_bn": "খড়্গপুর", "district": "Paschim Medinipur"}

STATIONS = [
    DemoStation(
        "kharagpur-town",
        "Kharagpur Town",
        "খড়্গপুর টাউন",
        "Kharagpur Town Police Station, Inda, Kharagpur 721305",
        22.3302,
        87.3237,
    ),
    DemoStation(
        "kharagpur-rural",
        "Kharagpur Rural (Local)",
        "খড়্গপুর গ্রামীণ",
        "Kharagpur Local Police Station, Kharagpur 721301",
        22.3700,
        87.2600,
    ),
    DemoStation(
        "narayangarh",
        "Narayangarh",
        "নারায়ণগড়",
        "Narayangarh Police Station, Narayangarh 721437",
        22.1800,
        87.3300,
    ),
    DemoStation(
        "debra",
        "Debra",
        "ডেবরা",
        "Debra Police Station, Debra 721126",
        22.3700,
        87.5500,
    ),
    DemoStation(
        "pingla",
        "Pingla",
        "পিংলা",
        "Pingla Police Station, Pingla 721140",
        22.2500,
        87.6300,
    ),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    what: str


@functools.cache
def password_hash(password: str) -> str:
    """One hash for every demo account: hashing is slow on purpose, and these are demo logins."""
    return make_password(password)


def demo_user(username: str, *, password: str, first_name: str, **extra: object) -> User:
    """The demo account `username`, created with the demo password if missing."""
    user, _ = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first_name, "password": password_hash(password), **extra},
    )
    return user


def _station(subdivision: Subdivision, demo: DemoStation) -> Station:
    station = Station.objects.filter(slug=demo.slug).first()
    if station is not None:
        return station
    return services.station_create(
        slug=demo.slug,
        name=demo.name,
        name_bn=demo.name_bn,
        subdivision=subdivision,
        address=demo.address,
        latitude=demo.latitude,
        longitude=demo.longitude,
        roster_cutoff=datetime.time(8, 30),
    )


def seed(*, password: str) -> list[DemoLogin]:
    """Create the subdivision, stations and officers; return the demo logins."""
    subdivision, _ = Subdivision.objects.get_or_create(
        name=SUBDIVISION["name"],
        defaults={"name_bn": SUBDIVISION["name_bn"], "district": SUBDIVISION["district"]},
    )
    stations = [_station(subdivision, demo) for demo in STATIONS]
    logins = [DemoLogin("admin", "platform admin (/admin/)")]
    with transaction.atomic():
        demo_user("admin", password=password, first_name="Admin", is_staff=True, is_superuser=True)
        sdpo = demo_user("sdpo", password=password, first_name="SDPO Kharagpur")
        services.subdivision_role_grant(
            user=sdpo, subdivision=subdivision, role=SubdivisionRole.Role.SDPO
        )
        logins.append(DemoLogin("sdpo", "SDPO, every station of Kharagpur subdivision"))
        for station in stations:
            for suffix, role, title in [
                ("oc", StationRole.Role.OFFICER_IN_CHARGE, "OC"),
                ("duty", StationRole.Role.DUTY_OFFICER, "Duty officer"),
            ]:
                user = demo_user(
                    f"{station.slug}-{suffix}",
                    password=password,
                    first_name=f"{title} {station.name}",
                )
                services.station_role_grant(user=user, station=station, role=role)
                logins.append(DemoLogin(user.username, f"{title}, {station.name}"))
    return logins


# Each station app's demo data, `seed(*, station, password) -> [(login, who)]`, registered in
# its AppConfig.ready() and so run in the order of INSTALLED_APPS (escort teams after lenders).
StationSeed = Callable[..., list[tuple[str, str]]]
station_seeds: list[StationSeed] = []


def register(seed: StationSeed) -> StationSeed:
    if seed not in station_seeds:
        station_seeds.append(seed)
    return seed


def demo_stations() -> list[Station]:
    return list(Station.objects.filter(slug__in=[demo.slug for demo in STATIONS]))
