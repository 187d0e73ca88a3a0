"""The roster API's shapes. They read and check input only; the rules are the service's.

Fields the rules require (agent, area, times, cash band) are optional here on purpose: when one
is missing the service says so, in the same words as the web form and the upload.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, cast

from django.db.models import CharField, Model, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import services
from .models import CashBand, CollectionArea, FieldAgent, RosterEntry

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S", "iso-8601"]


@extend_schema_field(OpenApiTypes.INT)
class _ById(serializers.Field):
    """An object of the station by id. An unknown id gets the same message as one the rules
    refuse, so ids of other branches' objects cannot be told from ids that do not exist."""

    def __init__(self, *, queryset: QuerySet, message: StrOrPromise, **kwargs: Any) -> None:
        self.queryset = queryset
        self.message = message
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> Model:
        if isinstance(data, bool) or not isinstance(data, int | str):
            raise serializers.ValidationError(self.message)
        try:
            return self.queryset.get(pk=int(data))
        except (ValueError, self.queryset.model.DoesNotExist) as exc:
            raise serializers.ValidationError(self.message) from exc

    def to_representation(self, value: Model) -> int:
        return value.pk


@extend_schema_field({"type": "string", "enum": CashBand.values})
class _CashBandField(serializers.CharField):
    pass


# The station's local time of day without a zone, answered as "09:30" ("09:30:00" is accepted
# too). Not OpenAPI's `format: time`: that is RFC 3339's, which requires a UTC offset.
@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        "example": "09:30",
    }
)
class _TimeField(serializers.TimeField):
    pass


class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = CollectionArea
        fields = ["id", "name", "name_bn", "locality", "latitude", "longitude", "risk"]


class AgentSerializer(serializers.ModelSerializer):
    class Meta:
        model = FieldAgent
        fields = ["id", "name", "employee_id", "active"]


def _text(name: str) -> serializers.CharField:
    field = cast(CharField, RosterEntry._meta.get_field(name))
    return serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=cast(int, field.max_length),
        help_text=str(field.verbose_name),
    )


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    agent = _ById(
        queryset=FieldAgent.objects.all(),
        # The service's words for an agent that is not the branch's.
        message=_("Choose an active field agent of this branch."),
        required=False,
        allow_null=True,
        help_text=_("Id of one of the branch's field agents (see the agents list)."),
    )
    agent_name = serializers.CharField(source="agent.name", read_only=True)
    area = _ById(
        queryset=CollectionArea.objects.all(),
        # The service's words for an area that is not one of the station's.
        message=_("Choose one of the station's areas."),
        required=False,
        allow_null=True,
        help_text=_("Id of one of the station's collection areas (see the areas list)."),
    )
    area_name = serializers.CharField(source="area.name", read_only=True)
    depart_at = _TimeField(
        format="%H:%M", input_formats=TIME_INPUT_FORMATS, required=False, allow_null=True
    )
    return_at = _TimeField(
        format="%H:%M", input_formats=TIME_INPUT_FORMATS, required=False, allow_null=True
    )
    cash_band = _CashBandField(required=False, allow_blank=True)
    centres = _text("centres")
    vehicle_registration = _text("vehicle_registration")
    deposit_point = _text("deposit_point")
    notes = _text("notes")
    is_late = serializers.BooleanField(read_only=True)


_BLANK: dict[str, Any] = {
    f.name: (None if f.name in ("agent", "area", "depart_at", "return_at") else "")
    for f in fields(services.EntryInput)
}


def entry_input(
    validated: dict[str, Any], *, base: RosterEntry | None = None
) -> services.EntryInput:
    """The service's input from checked data; with `base`, fields not given keep its values."""
    values = dict(_BLANK) if base is None else {name: getattr(base, name) for name in _BLANK}
    values.update({k: v for k, v in validated.items() if k in _BLANK})
    return services.EntryInput(**values)
