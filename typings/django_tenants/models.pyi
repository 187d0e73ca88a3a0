# The parts of django-tenants' models this project uses; the library ships no types.
from typing import Any, ClassVar, Self

from django.db import models

class TenantMixin(models.Model):
    auto_drop_schema: ClassVar[bool]
    auto_create_schema: ClassVar[bool]
    schema_name = models.CharField(max_length=63, unique=True)
    # Set by the routing middleware on the instance it routes to, never stored.
    domain_url: str | None
    domain_subfolder: str | None
    class Meta:
        abstract = True

    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...
    def save(self, verbosity: int = ..., *args: Any, **kwargs: Any) -> None: ...
    def activate(self) -> None: ...
    @classmethod
    def deactivate(cls) -> None: ...
    def create_schema(
        self, check_if_exists: bool = ..., sync_schema: bool = ..., verbosity: int = ...
    ) -> bool: ...
    def get_primary_domain(self) -> DomainMixin | None: ...

class DomainMixin(models.Model):
    domain = models.CharField(max_length=253, unique=True)
    is_primary = models.BooleanField(default=True)
    # A foreign key to settings.TENANT_MODEL, which a stub cannot name.
    tenant: Any
    tenant_id: Any
    class Meta:
        abstract = True
