"""Campaigns: list, create, read, update."""

from enum import Enum
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from api import reach as reach
from api.auth import READ, WRITE
from api.problems import COMMON_ERRORS
from api.schemas import CampaignIn, CampaignOut, CampaignPatch, InputSchema
from campaigns import selectors, services
from campaigns.models import Campaign

router = Router(tags=["campaigns"])


def plain(fields: dict[str, Any]) -> dict[str, Any]:
    """Enum members as their values, as the models store them."""

    def value(item: Any) -> Any:
        if isinstance(item, Enum):
            return item.value
        if isinstance(item, list):
            return [value(element) for element in item]
        return item

    return {name: value(item) for name, item in fields.items()}


class CampaignFilters(InputSchema):
    search: str = ""


@router.get("/campaigns", response={200: list[CampaignOut], **COMMON_ERRORS}, auth=READ, summary="List campaigns")
def campaign_list(request: HttpRequest, filters: Query[CampaignFilters]) -> list[Campaign]:
    return list(
        selectors.campaign_list(user=reach.actor(request), workspace=reach.workspace(request), search=filters.search)
    )


@router.post("/campaigns", response={201: CampaignOut, **COMMON_ERRORS}, auth=WRITE, summary="Create a campaign")
def campaign_create(request: HttpRequest, payload: CampaignIn) -> Status[Campaign]:
    user = reach.actor(request)
    fields = plain(payload.model_dump())
    return Status(201, services.campaign_create(workspace=reach.workspace(request), owner=user, actor=user, **fields))


@router.get(
    "/campaigns/{campaign_id}", response={200: CampaignOut, **COMMON_ERRORS}, auth=READ, summary="Read a campaign"
)
def campaign_read(request: HttpRequest, campaign_id: int) -> Campaign:
    return reach.campaign(request, campaign_id)


@router.patch(
    "/campaigns/{campaign_id}", response={200: CampaignOut, **COMMON_ERRORS}, auth=WRITE, summary="Update a campaign"
)
def campaign_update(request: HttpRequest, campaign_id: int, payload: CampaignPatch) -> Campaign:
    campaign = reach.campaign(request, campaign_id)
    fields = plain(payload.model_dump(exclude_unset=True))
    return services.campaign_update(campaign=campaign, actor=reach.actor(request), **fields)
