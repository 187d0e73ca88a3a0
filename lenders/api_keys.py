"""A branch's API keys: made and revoked by its manager, checked on every API call."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from stations.models import User
from stations.permissions import BranchCap

from .access import may_in_branch
from .models import BranchApiKey, LenderBranch

# Recording every use would write a row on every call; once a minute is enough to tell an
# unused key from one in service.
_LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewApiKey:
    record: BranchApiKey
    key: str  # the only time the whole key exists outside the caller's systems


@transaction.atomic
def api_key_create(*, branch: LenderBranch, name: str, by: User) -> NewApiKey:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": _("Name the key after the system that will use it.")})
    prefix = secrets.token_hex(4)
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    record = BranchApiKey(
        branch=branch, name=name, prefix=prefix, hashed_key=_digest(key), created_by=by
    )
    record.full_clean()
    record.save()
    return NewApiKey(record=record, key=key)


@transaction.atomic
def api_key_revoke(*, api_key: BranchApiKey, by: User) -> BranchApiKey:
    """Revoking is final and takes effect on the next call; the row stays as a record."""
    api_key = BranchApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.revoked_by = by
        api_key.save(update_fields=["revoked_at", "revoked_by"])
    return api_key


def api_key_check(*, key: str) -> BranchApiKey | None:
    """The active key of the current station matching `key`, or None.

    Keys live in the station's schema, so a key of another station is simply not found here.
    A key acts for the person who made it, and only while the permission table still lets them
    manage the branch's keys: once they leave, lose the manager's role or are disabled, or the
    branch is suspended, the key stops working.
    """
    api_key = (
        BranchApiKey.objects.select_related("branch", "created_by")
        .filter(hashed_key=_digest(key.strip()), revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not may_in_branch(api_key.created_by, api_key.branch, BranchCap.KEYS):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_RESOLUTION:
        BranchApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
