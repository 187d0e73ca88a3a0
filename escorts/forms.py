from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Fieldset, Layout, Submit
from django import forms
from django.utils.translation import gettext_lazy as _

from escort_portal.formats import native_digits
from lenders.models import CashBand, CollectionArea, FieldAgent, LenderBranch, RosterEntry
from stations.models import MIN_RETENTION_DAYS, Stage, Station, User

from .models import DutySheet, EscortRun, EscortTeam, Officer

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django_stubs_ext import StrOrPromise


def _helper(label: StrOrPromise) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label, css_class="w-100 w-md-auto"))
    return helper


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class OfficerForm(forms.ModelForm):
    username = forms.CharField(
        label=_("Login (username)"),
        required=False,
        help_text=_("An existing login with a role in this station, for the escort's phone page."),
    )

    class Meta:
        model = Officer
        fields = ["name", "rank", "badge_no", "phone", "active"]

    def __init__(self, *args: Any, station: Station, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.station = station
        if self.instance.user_id:
            self.fields["username"].initial = self.instance.user.username
        self.helper = _helper(_("Save"))

    def clean_username(self) -> User | None:
        username = self.cleaned_data["username"].strip()
        if not username:
            return None
        user = User.objects.filter(
            username__iexact=username, station_roles__station=self.station
        ).first()
        if user is None:
            raise forms.ValidationError(_("No login of this station has that username."))
        return user

    def save(self, commit: bool = False) -> Officer:
        officer = super().save(commit=False)
        officer.user = self.cleaned_data.get("username")
        return officer


class TeamForm(forms.ModelForm):
    class Meta:
        model = EscortTeam
        fields = [
            "name",
            "leader",
            "members",
            "vehicle",
            "shift_start",
            "shift_end",
            "capacity",
            "base_latitude",
            "base_longitude",
            "active",
        ]
        widgets = {
            "shift_start": TimeInput(),
            "shift_end": TimeInput(),
            "members": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        officers = Officer.objects.filter(active=True)
        cast(forms.ModelChoiceField, self.fields["leader"]).queryset = officers
        cast(forms.ModelChoiceField, self.fields["members"]).queryset = officers
        self.fields["base_latitude"].help_text = _("Blank: the station's location.")
        self.helper = _helper(_("Save"))

    def clean_capacity(self) -> int:
        # Said here in words; the table's own check would otherwise answer with its name.
        capacity = self.cleaned_data["capacity"]
        if capacity < 1:
            raise forms.ValidationError(_("A team escorts at least one agent at a time."))
        return capacity

    def clean(self) -> dict:
        data = cast("dict[str, Any]", super().clean())
        start, end = data.get("shift_start"), data.get("shift_end")
        if start and end and end <= start:
            self.add_error("shift_end", _("The shift must end after it starts, on the same day."))
        return data


class OffDutyForm(forms.Form):
    team = forms.ModelChoiceField(queryset=EscortTeam.objects.filter(active=True))
    off = forms.BooleanField(required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class MoveEntryForm(forms.Form):
    run = forms.ModelChoiceField(
        label=_("To run"), queryset=EscortRun.objects.none(), required=False
    )
    team = forms.ModelChoiceField(
        label=_("Or to a new run of team"), queryset=EscortTeam.objects.none(), required=False
    )

    def __init__(self, *args: Any, sheet: DutySheet, entry: RosterEntry, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["run"]).queryset = EscortRun.objects.filter(
            sheet=sheet, area=entry.area
        ).select_related("team", "area")
        # The runs as the sheet's advice names them, their times in the page's numerals.
        self.fields["run"].label_from_instance = lambda run: run.label  # type: ignore[attr-defined]
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = EscortTeam.objects.filter(
            active=True
        )
        self.helper = _helper(_("Move"))

    def clean(self) -> dict:
        data = cast("dict[str, Any]", super().clean())
        if bool(data.get("run")) == bool(data.get("team")):
            raise forms.ValidationError(_("Choose a run or a team."))
        return data


class RunCreateForm(forms.Form):
    team = forms.ModelChoiceField(label=_("Team"), queryset=EscortTeam.objects.none())
    entries = forms.ModelMultipleChoiceField(
        label=_("Entries"), queryset=RosterEntry.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    start = forms.TimeField(label=_("Start"), required=False, widget=TimeInput())
    end = forms.TimeField(label=_("End"), required=False, widget=TimeInput())
    meeting_point = forms.CharField(label=_("Meeting point"), max_length=200, required=False)

    def __init__(self, *args: Any, entries: QuerySet[RosterEntry], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = EscortTeam.objects.filter(
            active=True
        )
        cast(forms.ModelChoiceField, self.fields["entries"]).queryset = entries
        # The label of this form's own copy of the field, set on the instance.
        self.fields["entries"].label_from_instance = lambda e: (  # type: ignore[attr-defined]
            f"{e.agent.name} · {e.roster.branch} · {e.area.display_name} · "
            + native_digits(f"{e.depart_at:%H:%M}-{e.return_at:%H:%M}")
        )
        self.helper = _helper(_("Create run"))


class RunEditForm(forms.Form):
    meeting_point = forms.CharField(label=_("Meeting point"), max_length=200, required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=EscortTeam.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = EscortTeam.objects.filter(
            active=True
        )
        self.helper = _helper(_("Save"))


class LateEntryBranchForm(forms.Form):
    """The first step of a late entry: the branch, so the next step lists only its agents."""

    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=LenderBranch.objects.filter(status=LenderBranch.Status.APPROVED)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Next"))
        self.helper.form_method = "get"


class LateEntryForm(forms.Form):
    agent = forms.ModelChoiceField(label=_("Field agent"), queryset=FieldAgent.objects.none())
    area = forms.ModelChoiceField(
        label=_("Area"), queryset=CollectionArea.objects.filter(status=CollectionArea.Status.ACTIVE)
    )
    depart_at = forms.TimeField(label=_("Departure time"), widget=TimeInput())
    return_at = forms.TimeField(label=_("Expected return time"), widget=TimeInput())
    cash_band = forms.ChoiceField(label=_("Cash band"), choices=CashBand.choices)
    centres = forms.CharField(label=_("Centre or group names"), max_length=255, required=False)

    def __init__(self, *args: Any, branch: LenderBranch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["agent"]).queryset = FieldAgent.objects.filter(
            branch=branch, active=True
        )
        self.helper = _helper(_("Add late entry"))


class StationSettingsForm(forms.Form):
    """A plain form: the station row is the tenant of the request and must not be changed
    in memory by validation."""

    roster_cutoff = forms.TimeField(
        label=_("Roster cut-off time"),
        widget=TimeInput(),
        help_text=Station._meta.get_field("roster_cutoff").help_text,
    )
    planner_seconds = forms.IntegerField(
        label=_("Planner time budget (seconds)"), min_value=1, max_value=120
    )
    default_speed_kmph = forms.IntegerField(
        label=_("Default travel speed (km/h)"), min_value=5, max_value=80
    )
    reminder_lead_minutes = forms.IntegerField(
        label=_("Remind branches this many minutes before the cut-off"),
        min_value=0,
        max_value=720,
    )
    retention_days = forms.IntegerField(
        label=_("Keep trips' personal details for (days)"),
        min_value=MIN_RETENTION_DAYS,
        max_value=3650,
        help_text=_("Older trips' personal details are cleared every night; at least 30 days."),
    )

    check_in_minutes = forms.IntegerField(
        label=_("Check-in every (minutes)"),
        min_value=5,
        max_value=240,
        help_text=Station._meta.get_field("check_in_minutes").help_text,
    )
    amber_to_red_minutes = forms.IntegerField(
        label=_("Amber turns red after (minutes)"),
        min_value=1,
        max_value=240,
        help_text=Station._meta.get_field("amber_to_red_minutes").help_text,
    )
    acknowledge_lead_minutes = forms.IntegerField(
        label=_("Runs acknowledged by (minutes before the start)"),
        min_value=0,
        max_value=720,
        help_text=_("A run not acknowledged by then turns amber."),
    )
    start_grace_minutes = forms.IntegerField(
        label=_("Runs started by (minutes after the start)"),
        min_value=0,
        max_value=240,
        help_text=_("A run not started by then turns red and is shown as overdue."),
    )
    ladder_leader_app = forms.ChoiceField(
        label=_("Team leader, in the portal"), choices=Stage.choices
    )
    ladder_leader_phone = forms.ChoiceField(
        label=_("Team leader, by SMS or WhatsApp"), choices=Stage.choices
    )
    ladder_duty_officer = forms.ChoiceField(label=_("Duty officers"), choices=Stage.choices)
    ladder_oc = forms.ChoiceField(label=_("Officer-in-charge"), choices=Stage.choices)
    ladder_sdpo = forms.ChoiceField(label=_("SDPO's office"), choices=Stage.choices)
    sos_sms_number = forms.CharField(
        label=_("SOS number for SMS"),
        max_length=20,
        required=False,
        help_text=Station._meta.get_field("sos_sms_number").help_text,
    )
    map_tile_url = forms.CharField(
        label=_("Base map tile URL"),
        max_length=300,
        required=False,
        help_text=_(
            "Optional. The live board draws its map without internet; a deployment with a "
            "tile server of its own may put its address here, such as "
            "https://tiles.example.org/{z}/{x}/{y}.png"
        ),
    )

    def __init__(self, *args: Any, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = _helper(_("Save"))
        self.helper.layout = Layout(
            Fieldset(
                _("The morning"),
                "roster_cutoff",
                "reminder_lead_minutes",
                "planner_seconds",
                "default_speed_kmph",
                "retention_days",
            ),
            Fieldset(
                _("Watching the runs"),
                "check_in_minutes",
                "amber_to_red_minutes",
                "acknowledge_lead_minutes",
                "start_grace_minutes",
            ),
            Fieldset(
                _("Who is told, and at which stage (lowest rung first)"),
                "ladder_leader_app",
                "ladder_leader_phone",
                "ladder_duty_officer",
                "ladder_oc",
                "ladder_sdpo",
            ),
            Fieldset(_("Phones and map"), "sos_sms_number", "map_tile_url"),
        )
        if read_only:
            for field in self.fields.values():
                field.disabled = True
            self.helper.inputs = []
