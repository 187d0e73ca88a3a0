"""One roster entry's shape three times: untracked, recorded by django-auditlog (Python
signals), and recorded by django-pghistory (PostgreSQL triggers) as the portal tracks its models."""

from django.conf import settings
from django.db import models

from escort_portal import audit


class Area(models.Model):
    name = models.CharField(max_length=80)

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    name = models.CharField(max_length=80)

    def __str__(self) -> str:
        return self.name


class Entry(models.Model):
    """The fields of lenders.RosterEntry, with the same kinds of keys and indexes."""

    roster_day = models.IntegerField(db_index=True)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    centres = models.CharField(max_length=255, blank=True)
    depart_at = models.TimeField()
    return_at = models.TimeField()
    cash_band = models.CharField(max_length=10)
    vehicle_registration = models.CharField(max_length=20, blank=True)
    deposit_point = models.CharField(max_length=120, blank=True)
    notes = models.CharField(max_length=500, blank=True)
    is_late = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.agent_id} · {self.area_id} · {self.depart_at:%H:%M}"


class PlainEntry(Entry):
    pass


class LoggedEntry(Entry):
    pass


# Both libraries record inserts, updates and deletes of the same fields, leaving out the row's
# own timestamps.
UNTRACKED = ["created_at", "updated_at"]


@audit.track(exclude=UNTRACKED)
class TrackedEntry(Entry):
    pass


# The portal records sixteen kinds of object; its audit page reads them all at once.
OTHER_KINDS = [
    audit.track(exclude=UNTRACKED)(type(f"TrackedKind{n}", (Entry,), {"__module__": __name__}))
    for n in range(15)
]
