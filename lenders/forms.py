from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from escort_portal.formats import native_digits
from stations.models import Station, User

from . import services
from .models import CashBand, CollectionArea, FieldAgent, LenderBranch

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django_stubs_ext import StrOrPromise


def _helper(label: StrOrPromise) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label, css_class="w-100 w-md-auto"))
    return helper


class SignupForm(UserCreationForm):
    """A lender manager's own account; the branch is registered next."""

    first_name = forms.CharField(label=_("Your name"), max_length=150)
    phone = PhoneNumberField(label=_("Mobile number"), region="IN")
    email = forms.EmailField(label=_("Email"))

    # The stubs leave out the Meta that Django gives UserCreationForm.
    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        model = User
        fields = ["first_name", "username", "phone", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Create account"))


class StationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Station) -> str:
        return f"{obj.name} / {obj.name_bn}" if obj.name_bn else obj.name


class BranchRegistrationForm(forms.ModelForm):
    station = StationChoiceField(
        label=_("Police station whose area the branch works in"), queryset=Station.objects.none()
    )

    class Meta:
        model = LenderBranch
        fields = [
            "lender_name",
            "kind",
            "branch_name",
            "address",
            "registration_number",
            "manager_name",
            "manager_phone",
        ]

    def __init__(self, *args: Any, stations: QuerySet[Station], user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["station"]).queryset = stations
        self.order_fields(["station"])
        # The manager gave their name and phone when signing up; asking again invites typos.
        self.manager_from_account = {"manager_name": user.first_name, "manager_phone": user.phone}
        if all(self.manager_from_account.values()):
            del self.fields["manager_name"], self.fields["manager_phone"]
        else:
            self.manager_from_account = {}
        self.helper = _helper(_("Send registration"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned.update(self.manager_from_account)
        return cleaned


class DecisionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


# A phone camera's photo fits well within this; a larger file is no photo of a face, only disk
# filled (an image's header followed by anything passes Pillow's check).
MAX_PHOTO_BYTES = 5 * 1024 * 1024


class FieldAgentForm(forms.ModelForm):
    class Meta:
        model = FieldAgent
        fields = ["name", "employee_id", "phone", "id_reference", "photo"]
        help_texts = {"phone": _("An Indian mobile number, e.g. 98765 43210.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Save agent"))

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        # Only a new upload: the photo already kept was checked when it came.
        if isinstance(photo, UploadedFile) and (photo.size or 0) > MAX_PHOTO_BYTES:
            raise forms.ValidationError(
                _("The photo is larger than %(size)s.")
                % {"size": native_digits(f"{MAX_PHOTO_BYTES // (1024 * 1024)} MB")}
            )
        return photo

    def clean_phone(self):
        phone = self.cleaned_data["phone"]
        # Landlines cannot take the SMS that carry escort details.
        if phone and str(phone.national_number)[:1] not in "6789":
            raise forms.ValidationError(_("Give a mobile number (starting 6, 7, 8 or 9)."))
        return phone


class StaffLoginForm(forms.Form):
    first_name = forms.CharField(label=_("Name"), max_length=150)
    username = forms.CharField(label=_("Username"), max_length=150)
    phone = PhoneNumberField(label=_("Mobile number"), region="IN", required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    language = forms.ChoiceField(
        label=_("Pages in"), choices=User.Language.choices, initial=User.Language.ENGLISH
    )
    agent = forms.ModelChoiceField(
        label=_("This login is for field agent"),
        queryset=FieldAgent.objects.none(),
        required=False,
        help_text=_("Leave empty for office staff who file rosters."),
    )

    def __init__(self, *args: Any, agents: QuerySet[FieldAgent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["agent"]).queryset = agents
        self.helper = _helper(_("Create login"))


class CollectionAreaForm(forms.ModelForm):
    class Meta:
        model = CollectionArea
        fields = ["name", "name_bn", "locality", "latitude", "longitude", "risk"]
        help_texts = {"latitude": _("Needed for planning escorts, e.g. 22.34600.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Save area"))

    def clean(self):
        cleaned = cast("dict[str, Any]", super().clean())
        if (cleaned.get("latitude") is None) != (cleaned.get("longitude") is None):
            raise forms.ValidationError(_("Give both latitude and longitude, or neither."))
        return cleaned


class AreaProposalForm(forms.Form):
    name = forms.CharField(label=_("Area name"), max_length=120)
    locality = forms.CharField(label=_("Locality"), max_length=120, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Propose area"))


class AreaMergeForm(forms.Form):
    into = forms.ModelChoiceField(label=_("Same place as"), queryset=CollectionArea.objects.none())

    def __init__(self, *args: Any, areas: QuerySet[CollectionArea], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["into"]).queryset = areas


class RosterEntryForm(forms.Form):
    agent = forms.ModelChoiceField(label=_("Field agent"), queryset=FieldAgent.objects.none())
    area = forms.ModelChoiceField(label=_("Area"), queryset=CollectionArea.objects.none())
    centres = forms.CharField(label=_("Centre or group names"), max_length=255, required=False)
    depart_at = forms.TimeField(
        label=_("Departure"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    return_at = forms.TimeField(
        label=_("Expected return"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    # No band is chosen for the branch: a wrong default would understate the risk.
    cash_band = forms.ChoiceField(
        label=_("Cash band"), choices=[("", _("Choose the cash band")), *CashBand.choices]
    )
    vehicle_registration = forms.CharField(
        label=_("Vehicle registration"), max_length=20, required=False
    )
    deposit_point = forms.CharField(label=_("Deposit point"), max_length=120, required=False)
    notes = forms.CharField(label=_("Notes"), max_length=500, required=False)

    def __init__(
        self,
        *args: Any,
        agents: QuerySet[FieldAgent],
        areas: QuerySet[CollectionArea],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["agent"]).queryset = agents
        cast(forms.ModelChoiceField, self.fields["area"]).queryset = areas
        self.helper = _helper(_("Save entry"))

    def clean(self) -> dict[str, Any]:
        cleaned = cast("dict[str, Any]", super().clean())
        # Said with the form's other errors (a band not chosen, say), not on the next try, when
        # the service sees the entry.
        hours = services.entry_hours_error(cleaned.get("depart_at"), cleaned.get("return_at"))
        if hours and "return_at" not in self.errors:
            self.add_error("return_at", hours)
        return cleaned
