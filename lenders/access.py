"""Which branch a request may act for. Looking a branch up among the user's own is what makes
another branch's pages answer 404."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from stations.access import SignedInRequest

from . import selectors
from .models import LenderBranch


def member_branch(request: SignedInRequest, branch_pk: int) -> LenderBranch:
    return get_object_or_404(selectors.branch_list_for_user(user=request.user), pk=branch_pk)


def managed_branch(request: SignedInRequest, branch_pk: int) -> LenderBranch:
    return get_object_or_404(selectors.branch_list_managed_by(user=request.user), pk=branch_pk)
