"""Notices of the escorts app that pages of other apps show, such as the station's page."""

from __future__ import annotations

from django import template
from django.utils import timezone

from escorts.selectors import LateBuild, sheet_build_late

register = template.Library()


@register.simple_tag
def sheet_late_today() -> LateBuild | None:
    """Why today's sheet is missing although its cut-off has passed; None when it is not late.

    A tag rather than a view's context: the station's page belongs to the base app, which
    imports no other app."""
    return sheet_build_late(date=timezone.localdate())
