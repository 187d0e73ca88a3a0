from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Channel

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class PreferenceForm(forms.Form):
    """The channels a user wants besides the portal. A channel the portal cannot use now, or
    that the user has no address for, is shown switched off and cannot be changed."""

    email = forms.BooleanField(label=_("Email"), required=False)
    sms = forms.BooleanField(label=_("SMS"), required=False)
    whatsapp = forms.BooleanField(
        label=_("WhatsApp"),
        required=False,
        help_text=_("Escort details and alerts as WhatsApp messages from the portal's number."),
    )

    def __init__(self, *args: Any, usable: dict[str, StrOrPromise], **kwargs: Any) -> None:
        # usable: channel -> "" when the user can receive it, else why not.
        super().__init__(*args, **kwargs)
        for channel in (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP):
            reason = usable.get(channel, "")
            if reason:
                field = self.fields[channel]
                field.disabled = True
                field.help_text = reason
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Save")))
