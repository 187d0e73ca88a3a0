from __future__ import annotations

from django_tenants.utils import tenant_context

from stations.tenancy import schema_station


def test_the_station_of_the_schema_is_the_one_entered(debra, pingla):
    with tenant_context(debra):
        assert schema_station() == debra
        with tenant_context(pingla):
            assert schema_station() == pingla
        assert schema_station() == debra
