"""Reads of exports, for those who may see their campaign."""

from django.contrib.auth.models import User

from campaigns.models import Campaign
from exports.models import Export


def export_for(*, user: User, pk: int) -> Export:
    """An export of a campaign of the user's workspaces, or Export.DoesNotExist."""
    return Export.objects.select_related("campaign").get(pk=pk, campaign__in=Campaign.objects.visible_to(user))
