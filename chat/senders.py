"""Who is writing: a number is somebody only when its owner linked it from that phone, the
account is active, and it still holds a role. What they may do in each station is not decided
here: every handler asks the access layers (stations.access, lenders.access), which answer
from the permission table, exactly as the pages do.
"""

from __future__ import annotations

from dataclasses import dataclass

from stations.models import ChatContact, Station, StationRole, SubdivisionRole, User


@dataclass(frozen=True)
class Sender:
    user: User
    contact: ChatContact
    # The live stations where the person holds a role, by name. The SDPO's office reads
    # stations without a role in them; the chat offers them nothing to change.
    stations: tuple[Station, ...]

    @property
    def language(self) -> str:
        return self.user.language


def contact_for(phone: str) -> ChatContact | None:
    return ChatContact.objects.select_related("user").filter(phone=phone).first()


def sender_for(contact: ChatContact | None) -> Sender | None:
    """The person behind a linked number, or None: unknown, disabled, or without any role."""
    if contact is None or not contact.user.is_active:
        return None
    user = contact.user
    stations = tuple(
        role.station
        for role in StationRole.objects.filter(user=user, station__in=Station.objects.live())
        .select_related("station")
        .order_by("station__name")
    )
    if not stations and not SubdivisionRole.objects.filter(user=user).exists():
        return None
    return Sender(user=user, contact=contact, stations=stations)
