"""What the API reads and writes, as pydantic models (django-ninja Schemas): the OpenAPI document
is generated from these, so they are the contract.

What a client sends is taken as the document says and nothing looser: a field that is not
nullable refuses null (a PATCH leaves out what it does not change), a number is never a
boolean (`true` is not 1), a date is never a number, and a body is a JSON object. Each is a 422."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import (
    BeforeValidator,
    ConfigDict,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.functional_validators import ModelWrapValidatorHandler

from campaigns.models import MAX_BATCH_SIZE, BatchStatus, GenerationStatus, Post, ReviewStatus
from shared.languages import Language
from shared.platforms import Platform
from shared.text import control_characters_refusal


class InputSchema(Schema):
    """What a client sends: a JSON object (django-ninja's Schema would read the fields of anything
    else as attributes, and take `[null, null]` for an empty object). PostgreSQL cannot store the
    NUL character in text, and no other control character but tab, newline and carriage return
    belongs in one: they are refused here with a field error, as the project's forms refuse them
    on the pages (shared.text)."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _say_text_has_no_control_characters(schema))

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo) -> Any:
        # Replaces django-ninja's, which would wrap anything in a DjangoGetter and read its fields
        # as attributes: what a client sends is an object, whose members are its fields.
        if not isinstance(values, dict):
            raise ValueError("Send a JSON object.")
        return handler(values)

    @field_validator("*", mode="after")
    @classmethod
    def no_control_characters(cls, value: Any) -> Any:
        refusal = control_characters_refusal(value)
        if refusal:
            raise ValueError(refusal)
        return value


# What the refusal of control characters (shared.text) allows, as the OpenAPI document says it.
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"


def _say_text_has_no_control_characters(schema: Any) -> None:
    """Give every free text of an input schema (a string with no format or pattern of its own, in a
    property, a list's items or a nullable's choices) the pattern of what it accepts."""
    if isinstance(schema, list):
        for item in schema:
            _say_text_has_no_control_characters(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and "format" not in schema and "pattern" not in schema and "enum" not in schema:
        schema["pattern"] = TEXT_PATTERN
    for key in ("properties", "items", "anyOf", "oneOf", "allOf"):
        part = schema.get(key)
        if isinstance(part, dict) and key == "properties":
            for value in part.values():
                _say_text_has_no_control_characters(value)
        elif part is not None:
            _say_text_has_no_control_characters(part)


def _iso_text(value: Any) -> Any:
    """A date or a time is sent as ISO 8601 text, never as a number (pydantic would read 0 as 1970-01-01)."""
    if not isinstance(value, str | date):
        raise ValueError("Input should be a date or time as ISO 8601 text.")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def Unchanged(**constraints: Any) -> Any:
    """A PATCH field that may be left out (unchanged) but not sent as null: its type is not nullable,
    and the document shows no default (None only marks it as not sent)."""
    return Field(None, json_schema_extra=_no_default, **constraints)


ShortText = Annotated[str, StringConstraints(max_length=60)]
Money = Annotated[Decimal, Field(ge=Decimal("0.01"), le=Decimal("9999999999.99"), decimal_places=2)]


class CampaignIn(InputSchema):
    name: str = Field(min_length=1, max_length=120)
    brief: str = Field(min_length=1, max_length=4000)
    platforms: list[Platform] = Field(min_length=1)
    target_audience: str = Field("", max_length=300)
    tone: str = Field("", max_length=200)
    language: Language = Language.ENGLISH
    keywords: list[ShortText] = Field(default_factory=list, max_length=30)
    hashtags: list[ShortText] = Field(default_factory=list, max_length=30)
    call_to_action: str = Field("", max_length=200)
    brand_color: str = Field("#2F5BEA", pattern=r"^#[0-9A-Fa-f]{6}$")
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None


class CampaignPatch(InputSchema):
    """Only the fields sent are changed; only the dates may be null (no date)."""

    name: str = Unchanged(min_length=1, max_length=120)
    brief: str = Unchanged(min_length=1, max_length=4000)
    platforms: list[Platform] = Unchanged(min_length=1)
    target_audience: str = Unchanged(max_length=300)
    tone: str = Unchanged(max_length=200)
    language: Language = Unchanged()
    keywords: list[ShortText] = Unchanged(max_length=30)
    hashtags: list[ShortText] = Unchanged(max_length=30)
    call_to_action: str = Unchanged(max_length=200)
    brand_color: str = Unchanged(pattern=r"^#[0-9A-Fa-f]{6}$")
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None


class CampaignOut(Schema):
    id: int
    name: str
    brief: str
    platforms: list[str]
    target_audience: str
    tone: str
    language: str
    keywords: list[str]
    hashtags: list[str]
    call_to_action: str
    brand_color: str
    start_date: date | None
    end_date: date | None
    created_at: datetime
    updated_at: datetime


class BatchIn(InputSchema):
    count: StrictInt = Field(ge=1, le=MAX_BATCH_SIZE, description="How many posts to generate.")
    platforms: list[Platform] | None = Field(None, min_length=1, description="Default: the campaign's platforms.")
    cost_cap_usd: Money | None = Field(None, description="Stop the batch once it has cost this much.")


class BatchOut(Schema):
    id: int
    campaign_id: int
    status: BatchStatus
    requested_count: int
    succeeded_count: int
    failed_count: int
    canceled_count: int
    done_count: int
    progress_percent: int
    platforms: list[str]
    cost_usd: Decimal
    cost_cap_usd: Decimal | None
    posts_per_minute: float | None
    eta_seconds: float | None
    error_summary: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RetryOut(Schema):
    retried: int
    batch: BatchOut


class CancelOut(Schema):
    canceled: int
    batch: BatchOut


class PostOut(Schema):
    id: int
    campaign_id: int
    batch_id: int | None
    platform: str
    status: GenerationStatus
    review_status: ReviewStatus
    caption: str
    hashtags: list[str]
    headline: str
    image_url: str | None
    error_message: str
    scheduled_at: datetime | None
    generated_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_image_url(post: Post, context: dict[str, Any]) -> str | None:
        if not post.image:
            return None
        return context["request"].build_absolute_uri(post.image.url)


class PostPage(Schema):
    items: list[PostOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class CaptionIn(InputSchema):
    caption: str = Field(min_length=1, max_length=70000)
    hashtags: list[ShortText] | None = Field(None, max_length=60, description="Default: keep the post's hashtags.")


class ScheduleIn(InputSchema):
    scheduled_at: IsoDateTime | None = Field(description="When to publish, with a time zone; null unschedules.")


class ExportFormat(StrEnum):
    CSV = "csv"
    ZIP = "zip"


class ExportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


class ExportIn(InputSchema):
    campaign_id: StrictInt
    format: ExportFormat = ExportFormat.CSV
    status: GenerationStatus | None = None
    review: ReviewStatus | None = None
    platform: Platform | None = None
    batch_id: StrictInt | None = None


class ExportOut(Schema):
    id: str = Field(
        description="A ZIP export's number, or a CSV export's signed description; read it at /exports/{id}."
    )
    status: ExportState = Field(
        description="A CSV is `ready` at once (it is written while downloaded). A ZIP is made by a worker: "
        "`queued`, `running`, then `ready` or `failed`, and `expired` once its file is gone."
    )
    format: ExportFormat
    campaign_id: int
    done_count: int | None = Field(description="ZIP: posts packed so far (of total_count); null for a CSV.")
    total_count: int | None = Field(description="ZIP: posts in the export, once its worker has counted them.")
    url: str | None = Field(
        description="The download link, once ready; it works without a token until expires_at. "
        "Read the export again for a fresh link to a ZIP."
    )
    expires_at: datetime | None = Field(description="When the link stops working; null until ready.")
    error: str | None = Field(description="Why a ZIP export failed; null otherwise.")


class UsageOut(Schema):
    workspace: str
    month: str = Field(description="YYYY-MM, in the server's time zone.")
    spent_usd: Decimal
    monthly_budget_usd: Decimal | None = Field(description="The workspace's budget; null when it has none.")
    batches_this_month: int
    posts_this_month: int
    max_posts_per_batch: int
    api_rate_limit: str
