"""The audit trail.

django-pghistory keeps it: a PostgreSQL trigger on each tracked table copies every inserted,
changed or deleted row into an event table beside it, inside the same statement. So a change
made by a queryset update, a bulk insert or plain SQL is recorded like a save, and the event
tables refuse updates and deletes (append-only triggers); only the retention job, which must
clear old personal details, passes them. The person and the page behind a change come from the
request (pghistory's middleware) and are stored in each event row, so the record stays in the
schema of the station it belongs to. `benchmarks/audit` measured this against django-auditlog.

This module says how models are tracked and reads the event tables as one trail.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import pghistory
from django.apps import apps
from django.db import models
from django.db.models import Q, Value
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .formats import native_digits, page_date
from .stamps import STAMP_FIELDS


def track(
    *, exclude: Sequence[str] = (), event_table: str | None = None
) -> Callable[[type[models.Model]], type[models.Model]]:
    """Record every insert, update (of a tracked field) and delete of the decorated model.

    `event_table` names the event table of a model that moved to another app and kept its
    tables (`incidents`): otherwise it is `<app>_<model>event`.
    """

    def decorate(model: type[models.Model]) -> type[models.Model]:
        indexes = [
            # The trail is read newest first; the index keeps a page's cost flat as years of
            # events pile up (retention clears their details, never the events).
            models.Index(fields=["pgh_created_at", "pgh_id"]),
            # The trail filtered by person: the person is inside the JSON context.
            models.Index(
                models.F("pgh_context__user"), name=f"pgh_who_{(model._meta.model_name or '')[:20]}"
            ),
        ]
        return pghistory.track(
            pghistory.InsertEvent(),
            pghistory.UpdateEvent(),
            pghistory.DeleteEvent(),
            exclude=list(exclude) or None,
            context_field=pghistory.ContextJSONField(),
            append_only=True,
            meta={"indexes": indexes, **({"db_table": event_table} if event_table else {})},
        )(model)

    return decorate


def event_models(*, app_labels: Iterable[str]) -> list[type[models.Model]]:
    """The event tables of the tracked models of these apps, in a stable order."""
    found: list[type[models.Model]] = []
    for label in app_labels:
        for model in apps.get_app_config(label).get_models():
            if issubclass(model, pghistory.models.Event) and model.pgh_tracked_model:
                found.append(model)
    return sorted(found, key=lambda model: model._meta.label)


def event_model_of(model: type[models.Model]) -> type[models.Model]:
    """The event table of a tracked model."""
    # pghistory adds `pgh_event_model` to the model it tracks when it makes the event model.
    return model.pgh_event_model  # type: ignore[attr-defined]


def kind_of(event_model: type[models.Model]) -> str:
    # pghistory sets `pgh_tracked_model` on each event model; its base class declares None.
    return event_model.pgh_tracked_model._meta.label_lower  # type: ignore[attr-defined]


def _text_fields(event_model: type[models.Model]) -> list[str]:
    return [
        f.name
        for f in event_model._meta.fields
        if isinstance(f, (models.CharField, models.TextField)) and not f.name.startswith("pgh_")
    ]


NEWEST_FIRST = ("-pgh_created_at", "-pgh_id")
# Where the columns are in a row of `trail()`.
_ID, _AT, _OBJECT, _KIND = 0, 1, 3, 5


def trail(
    event_models: Mapping[type[models.Model], Q],
    *,
    user_ids: Iterable[int] | None = None,
    search: str = "",
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    limit: int,
) -> list[tuple]:
    """The newest `limit` events of these tables, newest first, as tuples: the event's id,
    time, label (insert, update, delete), object id, context (the person and page, or the
    scheduled job, behind the change) and kind (app_label.model_name of the object).

    Each table gives its own newest `limit` through its time index, then those are merged: the
    cost follows `limit`, not the size of the trail.

    `event_models` maps each table to the part of it to read (`Q()` for all of it). `search`
    finds the text in any text field of the recorded row, `user_ids` the changes made by these
    people, `since`/`until` bound the time (until excluded).
    """
    parts = []
    for event_model, scope in event_models.items():
        events = event_model._default_manager.filter(scope)
        if user_ids is not None:
            events = events.filter(pgh_context__user__in=list(user_ids))
        if search:
            found = Q()
            for name in _text_fields(event_model):
                found |= Q(**{f"{name}__icontains": search})
            if search.isdecimal():
                found |= Q(pgh_obj_id=int(search))
            events = events.filter(found) if found else events.none()
        if since:
            events = events.filter(pgh_created_at__gte=since)
        if until:
            events = events.filter(pgh_created_at__lt=until)
        parts.append(
            events.values_list("pgh_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "pgh_context")
            .annotate(kind=Value(kind_of(event_model)))
            .order_by(*NEWEST_FIRST)[:limit]
        )
    if not parts:
        raise ValueError("no event tables to read")
    first, *others = parts
    # At most `limit` rows from each table: merging them here is cheaper than another sort
    # in PostgreSQL, and Django cannot order a union of sliced parts.
    merged = first.union(*others, all=True)
    return sorted(merged, key=lambda row: (row[_AT], row[_ID]), reverse=True)[:limit]


ACTIONS = {
    "insert": gettext_lazy("Created"),
    "update": gettext_lazy("Changed"),
    "delete": gettext_lazy("Removed"),
}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass
class TrailRow:
    """One event of the trail, with what changed against the object's previous event."""

    id: int
    at: datetime.datetime
    label: str
    kind: str
    kind_name: str
    object_id: int
    object_label: str
    user_id: int | None
    job: str
    api_key: str
    url: str
    changes: list[Change] = field(default_factory=list)
    # "whatsapp" or "sms" when the person did it from a chat message (chat.conversation).
    chat: str = ""
    who: str = ""

    @property
    def action(self) -> str:
        return str(ACTIONS.get(self.label, self.label))

    @property
    def job_name(self) -> str:
        """The scheduled job behind the change, as people say it: `rosters lock station`."""
        return self.job.rpartition(".")[2].replace("_", " ")


def _shown(model_field: models.Field, event: models.Model, labels: dict) -> str:
    value = getattr(event, model_field.attname)
    if value is None or value == "":
        return ""
    if isinstance(value, datetime.datetime):
        return native_digits(date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT"))
    if model_field.is_relation:
        return labels.get((model_field.related_model, value), f"#{value}")
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    # Dates, times and counts as the page writes them; text (phones, vehicle numbers) and
    # coordinates stay as they were typed.
    if isinstance(value, datetime.date):
        return page_date(value)
    if isinstance(value, datetime.time):
        return native_digits(f"{value:%H:%M}")
    if isinstance(value, int):
        return native_digits(value)
    return str(value)


def _stamps_itself(model_field: models.Field) -> bool:
    return getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False)


def rows(page: Iterable[tuple]) -> list[TrailRow]:
    """The trail rows of one page of `trail()`: each event beside its object's previous one,
    related objects by name. A few queries per kind of object on the page, not per row."""
    page = list(page)
    by_kind: dict[str, list[tuple]] = {}
    for event in page:
        by_kind.setdefault(event[_KIND], []).append(event)
    built: dict[tuple[str, int], TrailRow] = {}
    for kind, events in by_kind.items():
        tracked = apps.get_model(kind)
        event_model = tracked.pgh_event_model
        shown_fields = [
            f
            for f in event_model._meta.fields
            if not f.name.startswith("pgh_")
            and f.name != tracked._meta.pk.name
            # The row's own clock says nothing the event's time does not.
            and not _stamps_itself(tracked._meta.get_field(f.name))
        ]
        shown_fields.sort(key=lambda f: f.name in STAMP_FIELDS)
        object_ids = {event[_OBJECT] for event in events}
        history = event_model.objects.filter(
            pgh_obj_id__in=object_ids, pgh_id__lte=max(event[_ID] for event in events)
        ).order_by("pgh_obj_id", "pgh_id")
        labels = _labels(tracked, shown_fields, history, object_ids)
        wanted = {event[_ID] for event in events}
        for _obj, snapshots in itertools.groupby(history, key=lambda e: e.pgh_obj_id):
            previous = None
            for snapshot in snapshots:
                if snapshot.pgh_id in wanted:
                    built[kind, snapshot.pgh_id] = _row(
                        tracked, snapshot, previous, shown_fields, labels
                    )
                previous = snapshot
    return [built[event[_KIND], event[_ID]] for event in page]


def _labels(tracked, shown_fields, history, object_ids) -> dict:
    """(model, pk) -> str(object) for the objects the page names, in one query per model."""
    wanted: dict[type[models.Model], set] = {tracked: set(object_ids)}
    for event in history:
        for model_field in shown_fields:
            value = getattr(event, model_field.attname)
            if model_field.is_relation and value is not None:
                wanted.setdefault(model_field.related_model, set()).add(value)
    labels = {}
    for model, pks in wanted.items():
        # Two steps out: an entry on a run is named by the run's team and area, an SOS by its
        # entry's agent; one step would read those a row at a time.
        related = [
            path
            for first in model._meta.fields
            if first.many_to_one
            for path in [
                first.name,
                *(
                    f"{first.name}__{second.name}"
                    for second in cast(type[models.Model], first.related_model)._meta.fields
                    if second.many_to_one
                ),
            ]
        ]
        for pk, obj in model._default_manager.select_related(*related).in_bulk(pks).items():
            # A model's `label` names it as a page does (a run's hours in the reader's
            # numerals); its `__str__` stays ASCII for the records and the chat replies.
            labels[model, pk] = str(getattr(obj, "label", obj))
    return labels


def _row(tracked, snapshot, previous, shown_fields, labels) -> TrailRow:
    changes = []
    if snapshot.pgh_label != "delete":
        for model_field in shown_fields:
            after = _shown(model_field, snapshot, labels)
            before = _shown(model_field, previous, labels) if previous else ""
            if after != before:
                changes.append(Change(str(model_field.verbose_name), before, after))
    context = snapshot.pgh_context or {}
    return TrailRow(
        id=snapshot.pgh_id,
        at=snapshot.pgh_created_at,
        label=snapshot.pgh_label,
        kind=tracked._meta.label_lower,
        kind_name=capfirst(str(tracked._meta.verbose_name)),
        object_id=snapshot.pgh_obj_id,
        object_label=labels.get((tracked, snapshot.pgh_obj_id), f"#{snapshot.pgh_obj_id}"),
        user_id=context.get("user"),
        job=context.get("job", ""),
        api_key=context.get("api_key", ""),
        url=context.get("url", ""),
        changes=changes,
        chat=context.get("chat", ""),
    )
