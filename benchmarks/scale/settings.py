"""The development settings with one more station app, `benchmarks.scale.column`, whose only
migration adds a column to every station's roster entries (`python -m benchmarks.scale.column`)."""

from escort_portal.settings.local import *  # noqa: F403

COLUMN_APP = "benchmarks.scale.column"
TENANT_APPS = [*TENANT_APPS, COLUMN_APP]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, COLUMN_APP]  # noqa: F405
