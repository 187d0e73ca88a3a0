"""The roster API for lenders' own systems: a branch's key reads the station's areas and the
branch's agents, and reads and changes the branch's roster entries for a date.

Every change goes through `lenders.services`, so the rules and their messages are those of the
web form. A Django `ValidationError` from a service becomes a 400 with the fields' errors.
"""

from __future__ import annotations

import datetime
from typing import cast

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from stations.access import Perm, StationRequest, current_station, may
from stations.models import User

from . import selectors, services, upload
from .api_auth import BranchApiKeyAuthentication, StationMemberOrApiKey
from .models import BranchApiKey, CollectionArea, FieldAgent, LenderBranch, RosterEntry
from .roster_replace import RowInput, error_dict, roster_rows_replace
from .serializers import AgentSerializer, AreaSerializer, EntrySerializer, entry_input

DATE = OpenApiParameter(
    "date", OpenApiTypes.DATE, OpenApiParameter.PATH, description="The roster's date, YYYY-MM-DD."
)
BAD_REQUEST = OpenApiResponse(
    description=(
        "The rules refused the change: `{field: [messages]}`, with `non_field_errors` for "
        "the roster as a whole (locked at cut-off, branch not approved)."
    )
)
BAD_ROWS = OpenApiResponse(
    description=(
        "Nothing was saved. `rows` maps the index (from 0) of each bad entry in the request to "
        "`{field: [messages]}`; `non_field_errors` is for the roster as a whole."
    )
)


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    key = api_settings.NON_FIELD_ERRORS_KEY
    return {(key if k == NON_FIELD_ERRORS else k): v for k, v in error_dict(exc).items()}


def _bad_request(errors: dict) -> Response:
    return Response(errors, status=status.HTTP_400_BAD_REQUEST)


class _BranchRequest(Request):
    """An API request let in by a branch's key or a member's session: made by a real account."""

    user: User


class _StationScoped(APIView):
    """A browser signed in with no business in this station gets 404, as from every station
    page; the API's own 401 is for callers without a valid key."""

    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        user = getattr(request._request, "user", None)  # the session's, before DRF's own
        station = current_station(cast(StationRequest, request._request))
        if user is not None and user.is_authenticated and not may(user, station, Perm.ENTER):
            raise Http404
        super().initial(request, *args, **kwargs)


class _BranchView(_StationScoped, APIView):
    @property
    def branch(self) -> LenderBranch:
        return cast(BranchApiKey, self.request.auth).branch


class AreaList(generics.ListAPIView, _BranchView):
    """The station's collection areas a roster entry may name."""

    serializer_class = AreaSerializer

    def get_queryset(self) -> QuerySet[CollectionArea]:
        return selectors.area_list_active()


class AgentList(generics.ListAPIView, _BranchView):
    """The branch's field agents, active or not (only active ones can be put on a roster)."""

    serializer_class = AgentSerializer

    def get_queryset(self) -> QuerySet[FieldAgent]:
        return selectors.agent_list(branch=self.branch)


class RosterEntries(_BranchView):
    """All of the branch's roster entries for one date."""

    def _entries(self, date: datetime.date) -> QuerySet[RosterEntry]:
        return selectors.roster_entry_list(branch=self.branch, date=date)

    @extend_schema(
        operation_id="roster_entries_list",
        parameters=[DATE],
        responses=EntrySerializer(many=True),
    )
    def get(self, request: Request, date: datetime.date) -> Response:
        return Response(EntrySerializer(self._entries(date), many=True).data)

    @extend_schema(
        operation_id="roster_entries_create",
        parameters=[DATE],
        request=EntrySerializer,
        responses={201: EntrySerializer, 400: BAD_REQUEST},
    )
    def post(self, request: _BranchRequest, date: datetime.date) -> Response:
        serializer = EntrySerializer(data=request.data)
        if not serializer.is_valid():
            return _bad_request(serializer.errors)
        try:
            entry = services.roster_entry_add(
                branch=self.branch,
                date=date,
                data=entry_input(serializer.validated_data),
                by=request.user,
            )
        except ValidationError as exc:
            return _bad_request(_errors(exc))
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="roster_entries_replace",
        summary="Replace the whole roster for the date",
        description=(
            "The roster becomes exactly these entries, or, if any entry is refused, nothing "
            "changes and every refused entry is reported. An empty list clears the roster."
        ),
        parameters=[DATE],
        request=EntrySerializer(many=True),
        responses={200: EntrySerializer(many=True), 400: BAD_ROWS},
    )
    def put(self, request: _BranchRequest, date: datetime.date) -> Response:
        if not isinstance(request.data, list):
            return _bad_request(
                {api_settings.NON_FIELD_ERRORS_KEY: [_("Send a JSON list of entries.")]}
            )
        # The upload's limit, checked before any row is read: validating thousands of rows
        # would cost the server seconds for a roster no branch files.
        if len(request.data) > upload.MAX_ROWS:
            message = _("Send at most %(count)d entries for one roster.") % {
                "count": upload.MAX_ROWS
            }
            return _bad_request({api_settings.NON_FIELD_ERRORS_KEY: [message]})
        rows = []
        for item in request.data:
            serializer = EntrySerializer(data=item)
            if serializer.is_valid():
                rows.append(RowInput(data=entry_input(serializer.validated_data)))
            else:
                # Read what can be read, so the rules still check the rest of the row.
                good = {
                    name: value
                    for name, value in _readable(item).items()
                    if name not in serializer.errors
                }
                rows.append(RowInput(data=entry_input(good), errors=dict(serializer.errors)))
        try:
            entries = roster_rows_replace(branch=self.branch, date=date, rows=rows, by=request.user)
        except services.RosterRowsInvalid as exc:
            return _bad_request({"rows": {str(i): _errors(e) for i, e in sorted(exc.rows.items())}})
        except ValidationError as exc:
            return _bad_request(_errors(exc))
        return Response(EntrySerializer(entries, many=True).data)

    @extend_schema(
        operation_id="roster_entries_clear",
        summary="Delete every entry of the roster for the date",
        parameters=[DATE],
        responses={204: None, 400: BAD_REQUEST},
    )
    def delete(self, request: _BranchRequest, date: datetime.date) -> Response:
        try:
            roster_rows_replace(branch=self.branch, date=date, rows=[], by=request.user)
        except ValidationError as exc:
            return _bad_request(_errors(exc))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _readable(item: object) -> dict:
    """The fields of a refused row that are fine on their own."""
    if not isinstance(item, dict):
        return {}
    readable = {}
    for name, field in EntrySerializer().fields.items():
        if field.read_only or name not in item:
            continue
        try:
            readable[name] = field.run_validation(item[name])
        except serializers.ValidationError:
            continue  # reported already
    return readable


class RosterEntryDetail(_BranchView):
    """One of the branch's entries; another branch's entry answers 404."""

    def _entry(self, date: datetime.date, pk: int) -> RosterEntry:
        try:
            return selectors.roster_entry_list(branch=self.branch, date=date).get(pk=pk)
        except RosterEntry.DoesNotExist as exc:
            raise NotFound(_("No such roster entry on this date for this branch.")) from exc

    @extend_schema(operation_id="roster_entry_read", parameters=[DATE], responses=EntrySerializer)
    def get(self, request: Request, date: datetime.date, pk: int) -> Response:
        return Response(EntrySerializer(self._entry(date, pk)).data)

    def _update(
        self, request: _BranchRequest, date: datetime.date, pk: int, *, partial: bool
    ) -> Response:
        entry = self._entry(date, pk)
        serializer = EntrySerializer(data=request.data, partial=partial)
        if not serializer.is_valid():
            return _bad_request(serializer.errors)
        data = entry_input(serializer.validated_data, base=entry if partial else None)
        try:
            entry = services.roster_entry_update(entry=entry, data=data)
        except ValidationError as exc:
            return _bad_request(_errors(exc))
        return Response(EntrySerializer(entry).data)

    @extend_schema(
        operation_id="roster_entry_update",
        parameters=[DATE],
        request=EntrySerializer,
        responses={200: EntrySerializer, 400: BAD_REQUEST},
    )
    def put(self, request: _BranchRequest, date: datetime.date, pk: int) -> Response:
        return self._update(request, date, pk, partial=False)

    @extend_schema(
        operation_id="roster_entry_partial_update",
        parameters=[DATE],
        request=EntrySerializer,
        responses={200: EntrySerializer, 400: BAD_REQUEST},
    )
    def patch(self, request: _BranchRequest, date: datetime.date, pk: int) -> Response:
        return self._update(request, date, pk, partial=True)

    @extend_schema(
        operation_id="roster_entry_delete",
        parameters=[DATE],
        responses={204: None, 400: BAD_REQUEST},
    )
    def delete(self, request: _BranchRequest, date: datetime.date, pk: int) -> Response:
        entry = self._entry(date, pk)
        try:
            services.roster_entry_delete(entry=entry)
        except ValidationError as exc:
            return _bad_request(_errors(exc))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SchemaView(_StationScoped, SpectacularAPIView):
    """The OpenAPI schema, for a branch's key or a signed-in member of the station.

    Paths are the same at every station; the schema's server is this station's prefix.
    """

    authentication_classes = [BranchApiKeyAuthentication, SessionAuthentication]
    permission_classes = [StationMemberOrApiKey]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        station = current_station(cast(StationRequest, request._request))
        prefix = f"/{settings.TENANT_SUBFOLDER_PREFIX}/{station.slug}"
        self.custom_settings = {"SERVERS": [{"url": prefix, "description": station.name}]}
        return super().get(request, *args, **kwargs)

    def permission_denied(self, request: Request, message: object = None, code: object = None):
        # Like every page of a station: nothing here for outsiders, not even a "log in".
        raise Http404


@csrf_exempt  # It changes nothing; any method gets the same JSON 404.
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return JsonResponse({"detail": str(_("Not found."))}, status=404)
