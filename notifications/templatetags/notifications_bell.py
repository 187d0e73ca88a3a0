from __future__ import annotations

from django import template

from notifications.selectors import message_unread_count

register = template.Library()


@register.inclusion_tag("notifications/_bell.html", takes_context=True)
def notifications_bell(context: template.Context) -> dict:
    """The navbar bell with the user's unread count in the current station."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"unread": message_unread_count(user=user) if user is not None else 0}
