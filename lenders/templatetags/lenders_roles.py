"""What the lender side tells pages of other apps about a login, such as the station's page."""

from __future__ import annotations

from django import template

from lenders.selectors import user_is_field_agent_only

register = template.Library()


@register.simple_tag(takes_context=True)
def field_agent_only(context: template.Context) -> bool:
    """Whether the signed-in login is a field agent in every branch it belongs to: its page
    offers its trips, not the branch's roster and agents.

    A tag rather than a view's context: the station's page belongs to the base app, which
    imports no other app."""
    return user_is_field_agent_only(user=context["request"].user)
