"""Batches: start (with an Idempotency-Key), follow, cancel, retry the failed posts."""

from django.http import HttpRequest, HttpResponse
from ninja import Header, Router, Status

from api import reach as reach
from api.auth import READ, WRITE
from api.problems import COMMON_ERRORS, CONFLICT_ERRORS, IDEMPOTENCY_CONFLICT, Conflict, refusals_are_conflicts
from api.routes.campaigns import plain
from api.schemas import BatchIn, BatchOut, CancelOut, RetryOut
from campaigns import services
from campaigns.models import BatchJob

router = Router(tags=["batches"])


@router.post(
    "/campaigns/{campaign_id}/batches",
    response={201: BatchOut, **CONFLICT_ERRORS},
    auth=WRITE,
    summary="Start a batch",
    description=(
        "Creates the batch and its `count` pending posts; workers generate them. With an `Idempotency-Key`, "
        "a retried request returns the batch the first one started (header `Idempotent-Replayed: true`); the "
        "same key with a different request is refused with 409. A key replays for `API_IDEMPOTENCY_HOURS` "
        "(24 by default); after that it starts a new batch."
    ),
)
def batch_start(
    request: HttpRequest,
    response: HttpResponse,
    campaign_id: int,
    payload: BatchIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=255),
) -> Status[BatchJob]:
    campaign = reach.campaign(request, campaign_id)
    asked = plain(payload.model_dump())
    user = reach.actor(request)
    if not idempotency_key:
        return Status(201, services.batch_start(campaign=campaign, actor=user, **asked))
    try:
        batch, replayed = services.batch_start_once(
            idempotency_key=idempotency_key, campaign=campaign, actor=user, **asked
        )
    except services.IdempotencyConflict as conflict:
        raise Conflict(str(conflict), type_=IDEMPOTENCY_CONFLICT) from None
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, batch)


@router.get(
    "/batches/{batch_id}", response={200: BatchOut, **COMMON_ERRORS}, auth=READ, summary="Read a batch's progress"
)
def batch_read(request: HttpRequest, batch_id: int) -> BatchJob:
    return reach.batch(request, batch_id)


@router.post(
    "/batches/{batch_id}/cancel", response={200: CancelOut, **CONFLICT_ERRORS}, auth=WRITE, summary="Cancel a batch"
)
def batch_cancel(request: HttpRequest, batch_id: int) -> dict[str, object]:
    batch = reach.batch(request, batch_id)
    with refusals_are_conflicts():
        canceled = services.batch_cancel(batch=batch, actor=reach.actor(request))
    return {"canceled": canceled, "batch": batch}


@router.post(
    "/batches/{batch_id}/retry-failed",
    response={200: RetryOut, **CONFLICT_ERRORS},
    auth=WRITE,
    summary="Retry a batch's failed posts",
)
def batch_retry_failed(request: HttpRequest, batch_id: int) -> dict[str, object]:
    batch = reach.batch(request, batch_id)
    with refusals_are_conflicts():
        retried = services.batch_retry_failed(batch=batch, actor=reach.actor(request))
    return {"retried": retried, "batch": batch}
