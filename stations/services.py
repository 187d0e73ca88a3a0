"""Changes to stations, users and roles."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from decimal import Decimal

from axes.utils import reset as axes_reset
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_exists

from .db import connection
from .models import (
    Domain,
    EnrolmentCode,
    Station,
    StationRole,
    Subdivision,
    SubdivisionRole,
    User,
    WorkerHeartbeat,
)


def station_template_ensure() -> Station:
    """Make sure the schema new stations are cloned from exists (migrated in full once)."""
    template = Station.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).first()
    if template is None:
        template = Station(
            schema_name=settings.TENANT_BASE_SCHEMA, slug="template", name="Template"
        )
        template.save(verbosity=0)
    elif not schema_exists(template.schema_name):
        template.create_schema(check_if_exists=True, verbosity=0)
    return template


def _coordinate(value: float | Decimal | None) -> Decimal | None:
    return None if value is None else round(Decimal(str(value)), 5)


def station_create(
    *,
    slug: str,
    name: str,
    name_bn: str = "",
    subdivision: Subdivision,
    address: str = "",
    phone: str = "",
    latitude: float | Decimal | None = None,
    longitude: float | Decimal | None = None,
    roster_cutoff: datetime.time | None = None,
) -> Station:
    """Create a station with its schema (a copy of the template's, see `stations.schemas`) and
    its subfolder route.

    Not atomic as a whole: django-tenants saves the row, then the schema is made in a
    transaction of its own; django-tenants drops the row again when the schema cannot be made.
    """
    station_template_ensure()
    station = Station(
        schema_name=slug.replace("-", "_"),
        slug=slug,
        name=name,
        name_bn=name_bn,
        subdivision=subdivision,
        address=address,
        phone=phone,
        latitude=_coordinate(latitude),
        longitude=_coordinate(longitude),
    )
    if roster_cutoff is not None:
        station.roster_cutoff = roster_cutoff
    station.full_clean()
    station.save(verbosity=0)
    Domain.objects.create(domain=slug, tenant=station, is_primary=True)
    if settings.DATABASE_APP_ROLE:
        from .db_roles import app_role_grant

        # The template too: the first station makes it, and a station that does not exist is
        # answered from its (empty) tables (`stations.middleware.nowhere_station`).
        app_role_grant(
            role=settings.DATABASE_APP_ROLE,
            schemas=[settings.TENANT_BASE_SCHEMA, station.schema_name],
        )
    return station


@transaction.atomic
def station_role_grant(*, user: User, station: Station, role: str) -> StationRole:
    """Give the user this role in the station, replacing any role they had there."""
    station_role, _ = StationRole.objects.update_or_create(
        user=user, station=station, defaults={"role": role}
    )
    return station_role


@transaction.atomic
def subdivision_role_grant(*, user: User, subdivision: Subdivision, role: str) -> SubdivisionRole:
    subdivision_role, _ = SubdivisionRole.objects.update_or_create(
        user=user, subdivision=subdivision, defaults={"role": role}
    )
    return subdivision_role


def user_sessions_end(*, user: User) -> None:
    """Sign the user out everywhere: every session of theirs is refused from its next request.

    For a change that takes powers away (an agent deactivated, a user disabled, a role
    removed), so that a phone left signed in does not keep a page with yesterday's powers.
    """
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    user.refresh_from_db(fields=["session_generation"])


def user_set_language(*, user: User, language: str) -> None:
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def heartbeat_record() -> WorkerHeartbeat:
    """Record that a worker ran a task in the current schema just now."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        schema_name=connection.schema_name, defaults={"seen_at": timezone.now()}
    )
    return heartbeat


def user_unlock(*, station: Station, username: str) -> int:
    """An officer-in-charge lifts a sign-in lockout of someone with a role in their station.
    Returns how many lockout records were cleared."""
    if not StationRole.objects.filter(station=station, user__username=username).exists():
        raise ValidationError(_("This person has no role at your station."))
    return axes_reset(username=username)


def totp_device_for_setup(*, user: User) -> TOTPDevice:
    """The authenticator the user is setting up: unconfirmed until a code from it checks out."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_verify(*, user: User, token: str) -> TOTPDevice | None:
    """The user's device that accepts `token`, confirming a new one on its first good code."""
    for device in TOTPDevice.objects.select_for_update().filter(user=user).order_by("-confirmed"):
        if device.verify_token(token):
            if not device.confirmed:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                # One authenticator per person: a confirmed new one replaces the old.
                TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            return device
    return None


# Letters and digits that cannot be mistaken for one another when read out or copied by hand.
_ENROLMENT_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _enrolment_hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


@transaction.atomic
def enrolment_code_issue(*, user: User, by: User | None) -> str:
    """A new enrolment code for `user`, returned once and kept only as a hash; any earlier
    code of theirs stops working."""
    raw = "".join(secrets.choice(_ENROLMENT_ALPHABET) for _ in range(12))
    EnrolmentCode.objects.update_or_create(
        user=user,
        defaults={
            "code_hash": _enrolment_hash(raw),
            "issued_by": by,
            "expires_at": timezone.now()
            + datetime.timedelta(hours=settings.OTP_ENROLMENT_CODE_HOURS),
        },
    )
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


@transaction.atomic
def enrolment_code_redeem(*, user: User, code: str) -> bool:
    """Use up the user's enrolment code if `code` is it and it has not expired."""
    issued = EnrolmentCode.objects.select_for_update().filter(user=user).first()
    if issued is None or issued.expires_at <= timezone.now():
        return False
    if not secrets.compare_digest(issued.code_hash, _enrolment_hash(code)):
        return False
    issued.delete()
    return True


@transaction.atomic
def second_factor_reset(*, user: User, by: User | None) -> str:
    """A lost phone: the user's authenticator and recovery codes stop working, every session of
    theirs ends, and they enrol again with the enrolment code returned here."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user_sessions_end(user=user)
    return enrolment_code_issue(user=user, by=by)


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """Fresh recovery codes for the user, each good for one sign-in; the old ones stop working."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="recovery", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.OTP_RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def recovery_code_verify(*, user: User, token: str) -> StaticDevice | None:
    """The user's recovery device if `token` is one of its unused codes, which it uses up.
    The lock makes a double tap of one code sign in once."""
    for device in StaticDevice.objects.select_for_update().filter(user=user, confirmed=True):
        if device.verify_token(token.strip().lower()):
            return device
    return None


def officer_second_factor_reset(*, station: Station, username: str, by: User) -> str:
    """The officer-in-charge gives an officer of their station an enrolment code: for a first
    set-up, or for a lost phone (which ends the officer's sessions and old codes). An
    officer-in-charge gets theirs from the platform admin, and so does anyone whose second
    factor also guards a police role at another station, a subdivision post or the admin: one
    station's officer-in-charge must not take over that."""
    role = StationRole.objects.filter(
        station=station, user__username=username, user__is_active=True
    ).first()
    if (
        role is None
        or role.role in (StationRole.Role.LENDER, StationRole.Role.OFFICER_IN_CHARGE)
        or role.user.is_staff
        or role.user.is_superuser
        or SubdivisionRole.objects.filter(user=role.user).exists()
        or StationRole.objects.filter(user=role.user)
        .exclude(station=station)
        .exclude(role=StationRole.Role.LENDER)
        .exists()
    ):
        raise ValidationError(_("You can give enrolment codes to the officers of your station."))
    return second_factor_reset(user=role.user, by=by)
