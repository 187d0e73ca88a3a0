from __future__ import annotations

import factory

from stations.models import StationRole, Subdivision, SubdivisionRole, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("pass-word-123")


class StationRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StationRole

    user = factory.SubFactory(UserFactory)
    role = StationRole.Role.DUTY_OFFICER


class SubdivisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subdivision

    name = factory.Sequence(lambda n: f"Subdivision {n}")
    district = "Purba Medinipur"


class SubdivisionRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubdivisionRole

    user = factory.SubFactory(UserFactory)
    subdivision = factory.SubFactory(SubdivisionFactory)
    role = SubdivisionRole.Role.SDPO
