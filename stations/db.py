"""Django's database connection, typed with what django-tenants' backend adds to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db import connection as _connection

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from .models import Station

    class TenantDatabaseWrapper(BaseDatabaseWrapper):
        schema_name: str
        # The station the connection is set to; the public tenant on the public schema.
        tenant: Station

        def set_tenant(self, tenant: Station) -> None: ...
        def set_schema_to_public(self) -> None: ...


# The same proxy object as `django.db.connection`, only typed.
connection = cast("TenantDatabaseWrapper", _connection)
