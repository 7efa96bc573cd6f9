"""Campaigns: create, edit, duplicate, delete, import."""

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from campaigns.models import (
    ACTIVE_BATCH_STATUSES,
    BRIEF_FIELDS,
    ActivityVerb,
    Campaign,
    Post,
)
from campaigns.services.activity import record
from campaigns.services.posts import delete_with_image_files
from workspaces.access import check_allowed
from workspaces.models import Workspace
from workspaces.roles import Action


def campaign_create(
    *, workspace: Workspace, owner: User, actor: User | None, recorded_as: User | None = None, **fields: Any
) -> Campaign:
    """Create a campaign in `workspace` from cleaned form data (CampaignForm.cleaned_data); `owner` is its creator."""
    check_allowed(actor, workspace, Action.EDIT_CAMPAIGN)
    campaign = Campaign(workspace=workspace, owner=owner, **fields)
    campaign.full_clean()
    with transaction.atomic():
        campaign.save()
        record(ActivityVerb.CREATED, actor=actor or recorded_as or owner, campaign=campaign)
    return campaign


def campaign_update(
    *, campaign: Campaign, actor: User | None, recorded_as: User | None = None, **fields: Any
) -> Campaign:
    """Save an edit of a campaign's brief and settings; the activity log says which fields changed."""
    check_allowed(actor, campaign.workspace, Action.EDIT_CAMPAIGN)
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.full_clean()
    with transaction.atomic():
        # Compared with the stored row, not the instance: a ModelForm has already set its data on it.
        stored = Campaign.objects.select_for_update().get(pk=campaign.pk)
        changed = [
            field.name.replace("_", " ")
            for field in Campaign._meta.concrete_fields
            if field.name in fields and getattr(stored, field.attname) != getattr(campaign, field.attname)
        ]
        campaign.save()
        if changed:
            record(ActivityVerb.EDITED, actor=actor or recorded_as, campaign=campaign, detail=", ".join(changed))
    return campaign


# What a copy of a campaign takes over: its brief and settings, never its batches or posts.
DUPLICATED_FIELDS = (*BRIEF_FIELDS, "platforms", "start_date", "end_date")


def campaign_duplicate(*, campaign: Campaign, actor: User) -> Campaign:
    """A new campaign in the same workspace with `campaign`'s brief and no posts, made by `actor`
    and named "<name> (copy)" (or "(copy 2)", …): names are unique within a workspace."""
    base = f"{campaign.name[:110]} (copy"
    taken = {
        name.lower()
        for name in Campaign.objects.filter(workspace=campaign.workspace, name__istartswith=base).values_list(
            "name", flat=True
        )
    }
    number = 1
    name = f"{base})"
    while name.lower() in taken:
        number += 1
        name = f"{base} {number})"
    fields = {field: getattr(campaign, field) for field in DUPLICATED_FIELDS if field != "name"}
    return campaign_create(workspace=campaign.workspace, owner=actor, actor=actor, name=name, **fields)


def campaign_delete(*, campaign: Campaign, actor: User | None) -> None:
    """Delete a campaign with its batches, posts and their image files.

    Refused while a batch runs: its workers would be writing into posts that no longer exist.
    The campaign's row is locked first, as batch_start locks it: a batch started meanwhile is
    either committed before (and refuses the delete) or waits and finds the campaign gone.
    A campaign already deleted (by a request that got there first) is left at that.
    """
    check_allowed(actor, campaign.workspace, Action.EDIT_CAMPAIGN)
    with transaction.atomic():
        if not Campaign.objects.select_for_update().filter(pk=campaign.pk).exists():
            return
        if campaign.batches.filter(status__in=ACTIVE_BATCH_STATUSES).exists():
            raise ValidationError("A batch of this campaign is still running; cancel it before deleting the campaign.")
        delete_with_image_files(campaign, Post.objects.filter(campaign=campaign))


@transaction.atomic
def campaigns_import(
    *, workspace: Workspace, owner: User, actor: User | None, campaigns: list[dict[str, Any]]
) -> list[Campaign]:
    """Create many campaigns at once in `workspace` from validated data; all or none."""
    check_allowed(actor, workspace, Action.EDIT_CAMPAIGN)
    created = [Campaign(workspace=workspace, owner=owner, **fields) for fields in campaigns]
    for campaign in created:
        campaign.full_clean(validate_unique=False, validate_constraints=False)
    return Campaign.objects.bulk_create(created)
