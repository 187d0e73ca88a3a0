"""Who made or last changed a row, and when: the stamp fields the apps' models share.

The abstract models add columns only; each model keeps its own table, and the audit trail
(`escort_portal.audit`) still records the full history of every change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The stamp fields' names. Django puts an abstract model's fields before the model's own, so
# the audit trail orders by these to list what changed before who stamped it.
STAMP_FIELDS = frozenset({"created_by", "created_at", "updated_by", "updated_at"})


class CreatedStamp(models.Model):
    """Who made the row and when. The row outlives its maker's account: a removed user leaves
    the person blank, not the row gone."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        abstract = True


class UpdatedStamp(models.Model):
    """Who changed the row last and when."""

    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        abstract = True


class Stamped(CreatedStamp, UpdatedStamp):
    """Both stamps."""

    class Meta:
        abstract = True


class FiledStamp(models.Model):
    """Who filed a lender's record and when. Unlike `CreatedStamp` the filer's account cannot
    be removed while their records stand: a branch's filings must keep a name behind them."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_constraint=False,  # users live in public: see stations.schemas
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        abstract = True
