from __future__ import annotations

import datetime

import factory
from django.db import connection

from lenders.models import (
    BranchMember,
    CashBand,
    CollectionArea,
    FieldAgent,
    LenderBranch,
    Roster,
    RosterEntry,
)
from stations.models import StationRole
from stations.tests.factories import UserFactory


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LenderBranch

    lender_name = factory.Sequence(lambda n: f"Lender {n}")
    kind = LenderBranch.Kind.MFI
    branch_name = factory.Sequence(lambda n: f"Branch {n}")
    address = "Main Road"
    manager_name = factory.Faker("name")
    manager_phone = "+919876543210"
    status = LenderBranch.Status.APPROVED


class MemberFactory(factory.django.DjangoModelFactory):
    """A branch login, with the station's lender role that lets it in."""

    class Meta:
        model = BranchMember
        skip_postgeneration_save = True

    branch = factory.SubFactory(BranchFactory)
    user = factory.SubFactory(UserFactory)
    role = BranchMember.Role.MANAGER

    @factory.post_generation
    def station_role(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            StationRole.objects.get_or_create(
                user=self.user, station=connection.tenant, defaults={"role": "lender"}
            )


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldAgent

    branch = factory.SubFactory(BranchFactory)
    name = factory.Faker("name")
    employee_id = factory.Sequence(lambda n: f"E{n:04d}")
    phone = factory.Sequence(lambda n: f"+9198300{n:05d}")


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CollectionArea

    name = factory.Sequence(lambda n: f"Village {n}")
    latitude = 22.35
    longitude = 87.5


class RosterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Roster
        django_get_or_create = ["branch", "date"]

    branch = factory.SubFactory(BranchFactory)
    date = factory.LazyFunction(datetime.date.today)


class EntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RosterEntry

    roster = factory.SubFactory(RosterFactory)
    agent = factory.SubFactory(AgentFactory, branch=factory.SelfAttribute("..roster.branch"))
    area = factory.SubFactory(AreaFactory)
    depart_at = datetime.time(10, 0)
    return_at = datetime.time(13, 0)
    cash_band = CashBand.FROM_50K_TO_1L
