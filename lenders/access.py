"""Which branch a request may act for, and with what powers.

Looking a branch up among the user's own memberships is what makes another branch's pages
answer 404. Within the user's own branch, what they may do comes from the permission table
(`stations.permissions`): their branch role, cut down by the branch's state and by whether
their field agent is still active.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _

from stations.access import Perm, StationRequest, may, station_permission_required
from stations.db import connection
from stations.models import User
from stations.permissions import BranchCap, branch_capabilities

from .models import BranchMember, LenderBranch


class BranchRequest(StationRequest):
    """A request past `branch_permission_required`: the user's branch and their powers in it."""

    branch: LenderBranch
    branch_caps: frozenset[BranchCap]
    # The login's role there: what a branch's state takes away (a rejected branch's powers) does
    # not change who may register it again.
    branch_role: str


def membership_capabilities(membership: BranchMember) -> frozenset[BranchCap]:
    return branch_capabilities(
        role=membership.role,
        branch_status=membership.branch.status,
        agent_active=membership.agent.active if membership.agent else None,
        user_active=membership.user.is_active,
    )


def capabilities(user: User, branch: LenderBranch) -> frozenset[BranchCap]:
    """What `user` may do in `branch`: nothing when they are not one of its logins, or no
    longer hold the station's role that lets branch staff in."""
    if not user.is_authenticated or not may(user, connection.tenant, Perm.ENTER):
        return frozenset()
    membership = (
        BranchMember.objects.select_related("branch", "agent", "user")
        .filter(branch=branch, user=user)
        .first()
    )
    return membership_capabilities(membership) if membership else frozenset()


def may_in_branch(user: User, branch: LenderBranch, cap: BranchCap) -> bool:
    return cap in capabilities(user, branch)


def member_branch(request: StationRequest, branch_pk: int, cap: BranchCap) -> LenderBranch:
    """The user's own branch `branch_pk` if they hold `cap` there.

    Someone else's branch, or one that does not exist, is a 404. A login of the branch without
    the power gets 403: they know the branch, and the page says what they cannot do.
    """
    membership = (
        BranchMember.objects.select_related("branch", "agent", "user")
        .filter(branch_id=branch_pk, user=request.user)
        .first()
    )
    if membership is None:
        raise Http404
    caps = membership_capabilities(membership)
    if not caps:
        raise Http404
    if cap not in caps:
        raise PermissionDenied(
            _("Your role in this branch, or the branch's state, does not allow this.")
        )
    cast(BranchRequest, request).branch_caps = caps
    cast(BranchRequest, request).branch_role = membership.role
    return membership.branch


def branch_permission_required(cap: BranchCap) -> Callable:
    """Decorator for a branch's views (`branch_pk` in the URL): the station's door first, then
    the user's own branch with `cap`, left on `request.branch`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: StationRequest, *args: Any, branch_pk: int, **kwargs: Any) -> Any:
            branch_request = cast(BranchRequest, request)
            branch_request.branch = member_branch(request, branch_pk, cap)
            return view(branch_request, *args, branch_pk=branch_pk, **kwargs)

        guarded = station_permission_required(Perm.ENTER)(wrapped)
        guarded.branch_cap_required = cap  # type: ignore[attr-defined]
        return guarded

    return decorator
