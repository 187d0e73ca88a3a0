"""The escort's state in words on pages of other apps: a field agent's own trips."""

from __future__ import annotations

from django import template

from escorts.selectors import EscortWords, escort_words_for_entry
from lenders.models import RosterEntry

register = template.Library()


@register.simple_tag
def escort_words(entry: RosterEntry) -> EscortWords:
    """What the agent is told of the escort of one of today's trips: words, never a track.

    A tag rather than a view's context: the agent's page belongs to the lenders app, which
    never imports the escorts app."""
    return escort_words_for_entry(entry=entry)
