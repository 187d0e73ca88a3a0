from __future__ import annotations

import pytest

from stations.models import Station
from stations.selectors import user_list_overseers

from .factories import SubdivisionRoleFactory, UserFactory


@pytest.mark.django_db
def test_the_overseers_of_a_station_are_the_staff_of_its_subdivision(debra: Station) -> None:
    sdpo = SubdivisionRoleFactory(subdivision=debra.subdivision).user
    UserFactory()
    assert list(user_list_overseers(station=debra)) == [sdpo]


@pytest.mark.django_db
def test_a_station_outside_any_subdivision_has_no_overseers() -> None:
    UserFactory()
    assert not user_list_overseers(station=Station(slug="outside", subdivision=None)).exists()
