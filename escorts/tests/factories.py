from __future__ import annotations

import datetime

import factory

from escorts.models import EscortTeam, Officer


class OfficerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Officer

    name = factory.Faker("name")
    rank = Officer.Rank.ASI
    badge_no = factory.Sequence(lambda n: f"B/{n:04d}")
    phone = factory.Sequence(lambda n: f"+9194340{n:05d}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EscortTeam

    name = factory.Sequence(lambda n: f"Mobile {n}")
    leader = factory.SubFactory(OfficerFactory)
    vehicle = "Bolero WB-33-1234"
    shift_start = datetime.time(7, 0)
    shift_end = datetime.time(17, 0)
    capacity = 2
    base_latitude = 22.3
    base_longitude = 87.5
