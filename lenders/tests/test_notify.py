"""What the lender side tells whom, through the outbox."""

from __future__ import annotations

import datetime

import pytest
import time_machine

from lenders import services
from lenders.models import BranchMember, LenderBranch
from lenders.tests.factories import BranchFactory, EntryFactory, MemberFactory
from notifications import catalogue
from notifications.models import Message
from stations.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


def _kinds(user) -> list[str]:
    return sorted(
        Message.objects.filter(recipient=user, channel="in_app").values_list("kind", flat=True)
    )


def test_approval_reaches_the_branch_manager_and_no_one_else(in_debra):
    branch = BranchFactory(status=LenderBranch.Status.PENDING)
    manager = MemberFactory(branch=branch).user
    staff = MemberFactory(branch=branch, role=BranchMember.Role.STAFF).user
    other = MemberFactory(branch=BranchFactory()).user
    services.branch_approve(branch=branch, by=UserFactory())
    assert _kinds(manager) == ["branch_approved"]
    assert _kinds(staff) == []
    assert _kinds(other) == []


def test_a_rejection_carries_the_reason_to_the_inbox(in_debra):
    branch = BranchFactory(status=LenderBranch.Status.PENDING)
    manager = MemberFactory(branch=branch).user
    services.branch_reject(branch=branch, by=UserFactory(), reason="No registration number")
    message = Message.objects.get(recipient=manager, channel="in_app")
    assert message.kind == "branch_rejected"
    assert message.context["reason"] == "No registration number"


def test_the_reminder_goes_once_to_branches_with_nothing_filed_in_the_window(in_debra):
    silent = BranchFactory()
    silent_manager = MemberFactory(branch=silent).user
    filed = BranchFactory()
    filed_manager = MemberFactory(branch=filed).user
    EntryFactory(roster__branch=filed, roster__date=datetime.date(2026, 12, 1))
    pending_manager = MemberFactory(branch=BranchFactory(status="pending")).user
    # Cut-off 08:30 with an hour's lead: 07:00 is too early, 07:45 is in the window.
    with time_machine.travel(datetime.datetime(2026, 12, 1, 7, 0, tzinfo=IST), tick=False):
        assert services.roster_reminders_send() == 0
    with time_machine.travel(datetime.datetime(2026, 12, 1, 7, 45, tzinfo=IST), tick=False):
        services.roster_reminders_send()
        services.roster_reminders_send()
    assert _kinds(silent_manager) == ["roster_reminder"]
    assert _kinds(filed_manager) == []
    assert _kinds(pending_manager) == []


def test_a_bengali_manager_reads_the_stations_bengali_name_and_an_english_one_its_english(
    in_debra,
):
    in_debra.name_bn = "ডেবরা"
    in_debra.save()
    branch = BranchFactory(status=LenderBranch.Status.PENDING)
    manager = MemberFactory(branch=branch).user
    services.branch_approve(branch=branch, by=UserFactory())
    message = Message.objects.get(recipient=manager, channel="in_app")
    assert "ডেবরা থানায়" in catalogue.render(message.kind, "bn", message.context).body
    english = catalogue.render(message.kind, "en", message.context).body
    assert "Debra" in english and "ডেবরা" not in english
