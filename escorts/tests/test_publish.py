"""Publishing, versions and what a later publish reports as changed."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from escorts import services
from escorts.models import DutySheet, EscortRun, RunEntry
from escorts.tests.building import build_due
from escorts.tests.conftest import TODAY, entry
from escorts.tests.factories import TeamFactory
from lenders.tests.factories import AreaFactory
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(station, clock):
    one, two = TeamFactory(name="Alpha"), TeamFactory(name="Bravo")
    area = AreaFactory()
    entries = [entry(area=area), entry(area=area, start="10:30", end="11:30")]
    sheet = build_due()
    return sheet, (one, two), entries


def test_publish_freezes_the_version(built):
    sheet, _, _ = built
    officer = UserFactory()
    published = services.duty_sheet_publish(date=TODAY, by=officer)
    assert published.pk == sheet.pk
    assert published.status == DutySheet.Status.PUBLISHED
    assert published.published_by == officer and published.published_at
    assert published.changes == []
    with pytest.raises(ValidationError, match="no draft to publish"):
        services.duty_sheet_publish(date=TODAY, by=officer)


def test_a_change_after_publish_starts_a_new_version_and_the_next_publish_reports_it(built):
    sheet, (_alpha, _bravo), (first, second) = built
    officer = UserFactory()
    services.duty_sheet_publish(date=TODAY, by=officer)
    run = EscortRun.objects.get(sheet=sheet)
    services.run_set_meeting_point(date=TODAY, run=run, meeting_point="Hat tala", by=officer)
    draft = DutySheet.objects.get(date=TODAY, status=DutySheet.Status.DRAFT)
    assert draft.version == 2 and draft.origin == DutySheet.Origin.CHANGE
    assert draft.updated_by == officer
    # The published version is untouched.
    run.refresh_from_db()
    assert run.meeting_point == ""
    # A second change goes to the same draft, not a third version.
    services.run_remove_entry(date=TODAY, entry=second, by=officer)
    assert DutySheet.objects.filter(date=TODAY).count() == 2
    republished = services.duty_sheet_publish(date=TODAY, by=officer)
    sheet.refresh_from_db()
    assert sheet.status == DutySheet.Status.SUPERSEDED
    assert republished.status == DutySheet.Status.PUBLISHED
    changes = {c["entry"]: c for c in republished.changes}
    assert set(changes) == {first.pk, second.pk}
    assert changes[first.pk]["after"]["meeting_point"] == "Hat tala"
    assert changes[second.pk]["after"] == {"uncovered": "removed"}


def test_what_escorts_did_on_the_published_version_carries_over(built):
    sheet, _, (first, _) = built
    officer = UserFactory()
    services.duty_sheet_publish(date=TODAY, by=officer)
    run = EscortRun.objects.get(sheet=sheet)
    services.run_set_meeting_point(date=TODAY, run=run, meeting_point="School gate", by=officer)
    services.run_set_status(run=run, status=EscortRun.Status.ACKNOWLEDGED, by=officer)
    services.duty_sheet_publish(date=TODAY, by=officer)
    current = EscortRun.objects.get(sheet__status=DutySheet.Status.PUBLISHED)
    assert current.status == EscortRun.Status.ACKNOWLEDGED
    assert current.meeting_point == "School gate"
    assert RunEntry.objects.filter(run=current, entry=first).exists()


def test_what_escorts_did_carries_over_through_a_change_and_a_rebuild_before_the_publish(
    built,
):
    sheet, _, (first, _) = built
    officer = UserFactory()
    services.duty_sheet_publish(date=TODAY, by=officer)
    run = EscortRun.objects.get(sheet=sheet)
    services.run_set_status(run=run, status=EscortRun.Status.ACKNOWLEDGED, by=officer)
    # A meeting point makes a draft (and pins the run); a rebuild then makes another version
    # that keeps the pinned run, before the officer publishes.
    services.run_set_meeting_point(date=TODAY, run=run, meeting_point="School gate", by=officer)
    rebuilt = services.duty_sheet_rebuild(date=TODAY, by=officer)
    services.duty_sheet_build_run(sheet_pk=rebuilt.pk)
    published = services.duty_sheet_publish(date=TODAY, by=officer)
    assert published.version == 3
    current = EscortRun.objects.get(sheet=published, run_entries__entry=first)
    assert current.status == EscortRun.Status.ACKNOWLEDGED
    assert current.meeting_point == "School gate"


def test_a_leaders_acknowledgement_survives_a_rebuild_that_plans_the_run_again_unchanged(
    built,
):
    sheet, _, (first, _) = built
    officer = UserFactory()
    services.duty_sheet_publish(date=TODAY, by=officer)
    run = EscortRun.objects.get(sheet=sheet)
    assert not run.pinned
    services.run_set_status(run=run, status=EscortRun.Status.ACKNOWLEDGED, by=officer)
    rebuilt = services.duty_sheet_rebuild(date=TODAY, by=officer)
    services.duty_sheet_build_run(sheet_pk=rebuilt.pk)
    again = EscortRun.objects.get(sheet=rebuilt)
    assert (again.team_id, again.start, again.end) == (run.team_id, run.start, run.end)
    published = services.duty_sheet_publish(date=TODAY, by=officer)
    current = EscortRun.objects.get(sheet=published, run_entries__entry=first)
    assert current.status == EscortRun.Status.ACKNOWLEDGED
    assert not current.pinned  # continued, not pinned: a later rebuild may still re-plan it


def test_a_draft_still_building_cannot_be_published_or_changed(station, clock):
    services._build_claim(date=TODAY, origin=DutySheet.Origin.CUTOFF, by=None)
    with pytest.raises(ValidationError, match="not built yet"):
        services.duty_sheet_publish(date=TODAY, by=UserFactory())
    with pytest.raises(ValidationError, match="being built"):
        services.run_remove_entry(date=TODAY, entry=entry(), by=UserFactory())
