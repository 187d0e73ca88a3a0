"""`{% csrf_token %}` that also gives the form a one-time submission token (stations.replay).

Registered as a template builtin after Django's own, so every POST form of the portal carries
the token without each template having to remember it.
"""

from __future__ import annotations

import uuid

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import format_html

from stations.replay import FIELD

register = template.Library()


class CsrfAndSubmissionTokenNode(CsrfTokenNode):
    def render(self, context: template.Context) -> str:
        csrf = super().render(context)
        token = format_html('<input type="hidden" name="{}" value="{}">', FIELD, uuid.uuid4())
        return csrf + token if csrf else csrf


@register.tag
def csrf_token(parser: template.base.Parser, token: template.base.Token) -> template.Node:
    return CsrfAndSubmissionTokenNode()
