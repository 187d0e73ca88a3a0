"""Replacing a whole roster from rows read elsewhere (an uploaded file, an API PUT).

The rules are `services.roster_entries_replace`'s; this only adds what reading rows needs: a
row may have fields that could not be read at all (an unknown agent, a time written as
"half past ten"), and the branch should still hear about every other problem in the file at
once rather than one fix and one upload at a time.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from stations.models import User

from . import services
from .models import LenderBranch, RosterEntry


@dataclass
class RowInput:
    """One row as read: the entry, with None or blank where a field could not be read, and why."""

    data: services.EntryInput
    errors: dict[str, list[str] | list[ValidationError]] = field(default_factory=dict)


class _Undo(Exception):
    pass


def error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"__all__": exc.messages}


def roster_rows_replace(
    *, branch: LenderBranch, date: datetime.date, rows: list[RowInput], by: User
) -> list[RosterEntry]:
    """Make `date`'s roster exactly `rows`, all or nothing.

    Raises `services.RosterRowsInvalid` with every bad row (by index into `rows`), or a plain
    `ValidationError` when the roster cannot be changed at all (locked, branch suspended).
    """
    if not any(row.errors for row in rows):
        return services.roster_entries_replace(
            branch=branch, date=date, rows=[row.data for row in rows], by=by
        )
    # Some rows could not be read, so nothing will be saved. Run the rules over every row all
    # the same, inside a transaction that is always rolled back, to report all problems at once.
    rule_errors: dict[int, dict[str, list[ValidationError]]] = {}
    try:
        with transaction.atomic():
            services.roster_entries_replace(
                branch=branch, date=date, rows=[row.data for row in rows], by=by
            )
            raise _Undo
    except _Undo:
        pass
    except services.RosterRowsInvalid as exc:
        # The errors themselves, not their text: a page writes their params (times) in its
        # reader's numerals.
        rule_errors = {index: error.update_error_dict({}) for index, error in exc.rows.items()}
    bad: dict[int, ValidationError] = {}
    for index, row in enumerate(rows):
        # A field that could not be read is blank for the rules, which would only add "give the
        # time" to "this is not a time": keep the reading error alone for that field.
        errors: dict[str, list[str] | list[ValidationError]] = {**row.errors}
        errors.update((k, v) for k, v in rule_errors.get(index, {}).items() if k not in row.errors)
        if errors:
            bad[index] = ValidationError(errors)
    raise services.RosterRowsInvalid(bad)
