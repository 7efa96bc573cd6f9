from collections.abc import Sequence
from datetime import datetime, time
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import ngettext

from campaigns import quotas, services
from campaigns.models import MAX_BATCH_SIZE, BatchJob, BatchMode, Campaign, GenerationStatus, Post, ReviewStatus
from campaigns.services.bulk import BULK_ACTIONS, check_spread_plan
from shared.platforms import Platform, normalize_hashtag, rules_for
from shared.text import RefuseControlCharacters
from workspaces.models import Workspace


def split_list(value: str) -> list[str]:
    """'a, b,,c' -> ['a', 'b', 'c']; also accepts new lines as separators."""
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


class CommaSeparatedField(forms.Field):
    """A list of short strings typed as 'one, two, three' in one text box (of at most max_length characters)."""

    widget = forms.TextInput

    def __init__(
        self, *, max_items: int = 30, max_item_length: int = 60, max_length: int = 2000, **kwargs: Any
    ) -> None:
        self.max_items = max_items
        self.max_item_length = max_item_length
        self.max_length = max_length  # before Field.__init__, which asks widget_attrs
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        if not widget.is_hidden:
            attrs["maxlength"] = str(self.max_length)
        return attrs

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def _text(self, value: Any) -> str:
        """The text typed, as CharField reads it."""
        return "" if value in self.empty_values else str(value).strip()

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        return split_list(self._text(value))

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        if len(value) > self.max_items:
            raise ValidationError(f"At most {self.max_items} items.", code="too_many")
        too_long = [item for item in value if len(item) > self.max_item_length]
        if too_long:
            raise ValidationError(
                f"Each item must be at most {self.max_item_length} characters ({too_long[0][:20]}… is longer).",
                code="item_too_long",
            )


class HashtagsField(CommaSeparatedField):
    """Hashtags typed with or without '#', separated by commas or spaces."""

    def to_python(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else self._text(value).replace(",", " ").split()
        tags: list[str] = []
        for item in items:
            tag = normalize_hashtag(item)
            if not tag:
                raise ValidationError(f"{item!r} is not a usable hashtag.", code="invalid_hashtag")
            if tag.lower() not in {t.lower() for t in tags}:
                tags.append(tag)
        return tags


class PlatformsField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", Platform.choices)
        kwargs.setdefault("error_messages", {"required": "Choose at least one platform."})
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, str):
            value = split_list(value)
        return [item.strip().lower() for item in super().to_python(value)]

    def clean(self, value: Any) -> list[str]:
        platforms = super().clean(value)
        # Keep the order of the platform table, not the order they were ticked.
        return [platform for platform in Platform.values if platform in platforms]


class CampaignForm(RefuseControlCharacters, forms.ModelForm):
    platforms = PlatformsField()
    keywords = CommaSeparatedField(help_text="Comma-separated, e.g. “cold brew, summer, oat milk”.")
    hashtags = HashtagsField(
        label="Hashtags to include", max_items=10, help_text="Added to every post, e.g. #BrewBetter."
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "brief",
            "target_audience",
            "tone",
            "platforms",
            "language",
            "keywords",
            "hashtags",
            "call_to_action",
            "brand_color",
            "start_date",
            "end_date",
        ]
        widgets = {
            "brief": forms.Textarea(attrs={"rows": 5}),
            "brand_color": forms.TextInput(attrs={"type": "color"}),
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, workspace: Workspace | None, **kwargs: Any) -> None:
        # Names are unique per workspace; None (the admin's add form before a workspace is chosen) checks none.
        self.workspace = workspace
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Give the campaign a name.", code="required")
        duplicates = Campaign.objects.filter(workspace=self.workspace, name__iexact=name)
        if self.instance.pk:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        if duplicates.exists():
            raise ValidationError("This workspace already has a campaign with this name.", code="duplicate")
        return name

    def clean_brief(self) -> str:
        brief = self.cleaned_data["brief"].strip()
        if not brief:
            raise ValidationError("Describe the campaign's goal.", code="required")
        return brief


# How each mode reads on the page and in the admin's start-a-batch form.
BATCH_MODE_CHOICES = [
    (BatchMode.STANDARD.value, "Standard: posts arrive in minutes"),
    (BatchMode.ECONOMY.value, "Economy: about half the cost, ready within 24 hours"),
]


def batch_mode_field(help_text: str = "") -> forms.ChoiceField:
    """Standard or economy, as the batch form and the admin's start action ask it (check_mode decides)."""
    return forms.ChoiceField(
        label="Speed",
        choices=BATCH_MODE_CHOICES,
        initial=BatchMode.STANDARD,
        required=False,
        widget=forms.RadioSelect,
        help_text=help_text,
    )


class BatchForm(forms.Form):
    # The bounds are the service's rule (check_count); the widget's min/max let the browser say it first.
    count = forms.IntegerField(
        label="Number of posts", initial=10, widget=forms.NumberInput(attrs={"min": 1, "max": MAX_BATCH_SIZE})
    )
    platforms = PlatformsField()
    # The rule is the service's (check_batch_cost_cap): lower than the default, never higher.
    cost_cap_usd = forms.DecimalField(
        label="Cost cap (USD)",
        required=False,
        widget=forms.NumberInput(attrs={"min": "0.01", "step": "0.01", "inputmode": "decimal"}),
    )
    mode = batch_mode_field()

    def __init__(self, *args: Any, campaign: Campaign, user: User, **kwargs: Any) -> None:
        self.campaign = campaign
        self.user = user
        super().__init__(*args, **kwargs)
        cast(PlatformsField, self.fields["platforms"]).choices = [(p, Platform(p).label) for p in campaign.platforms]
        if not self.is_bound:
            self.initial.setdefault("platforms", list(campaign.platforms))
        cap_field = self.fields["cost_cap_usd"]
        default_cap = services.check_batch_cost_cap(None, user=user)
        if default_cap is None:
            cap_field.help_text = "The batch stops at this cost."
        else:
            cap_field.initial = default_cap
            cap_field.help_text = f"The batch stops at this cost: ${default_cap:,.2f} unless lowered."
            if quotas.applies_to(user):
                cap_field.widget.attrs["max"] = str(default_cap)

    def clean_count(self) -> int:
        try:
            return services.check_count(self.cleaned_data["count"])
        except ValidationError as refusal:
            raise ValidationError(refusal.messages, code="out_of_range") from None

    def clean_cost_cap_usd(self) -> Decimal | None:
        return services.check_batch_cost_cap(self.cleaned_data["cost_cap_usd"], user=self.user)

    def clean_mode(self) -> str:
        # The service's rule: economy needs a provider with a Batch API.
        return services.check_mode(self.cleaned_data["mode"] or BatchMode.STANDARD)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("mode") == BatchMode.ECONOMY:
            # The cap field shows the default cap; an economy batch takes none (services.check_mode).
            cleaned["cost_cap_usd"] = None
        return cleaned


class PostEditForm(RefuseControlCharacters, forms.ModelForm):
    hashtags = HashtagsField(max_items=30)

    class Meta:
        model = Post
        fields = ["caption", "hashtags"]
        widgets = {"caption": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.platform:
            rules = rules_for(self.instance.platform)
            self.fields[
                "caption"
            ].help_text = f"{rules.platform.label} allows {rules.caption_limit:,} characters, hashtags included."
            self.fields["hashtags"].help_text = f"Up to {rules.max_hashtags}, separated by spaces or commas."

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if "caption" in cleaned and "hashtags" in cleaned:
            try:
                services.check_caption(
                    platform=self.instance.platform, caption=cleaned["caption"], hashtags=cleaned["hashtags"]
                )
            except ValidationError as refusal:
                self.add_error(None, refusal)  # keyed by field: each message goes next to its field
        return cleaned


class CommentForm(RefuseControlCharacters, forms.Form):
    """A comment's text as typed; comment_create checks the rest (not empty, its length)."""

    body = forms.CharField(required=False, strip=False)


class PostScheduleForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = ["scheduled_at"]
        widgets = {"scheduled_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}
        labels = {"scheduled_at": "Publish at"}

    def clean_scheduled_at(self) -> datetime | None:
        scheduled_at = self.cleaned_data["scheduled_at"]
        # Only the time here: "only a finished post" is post_schedule's to say, after the form.
        services.check_schedule_time(scheduled_at)
        return scheduled_at


class PostFilterForm(forms.Form):
    """The filters above a campaign's posts grid; the export uses the same ones.

    A value that is not valid (typed into the URL by hand) is ignored rather than refused.
    """

    status = forms.ChoiceField(label="Status", choices=[("", "Any status"), *GenerationStatus.choices], required=False)
    review = forms.ChoiceField(label="Review", choices=[("", "Any review"), *ReviewStatus.choices], required=False)
    platform = forms.ChoiceField(label="Platform", choices=[("", "All platforms"), *Platform.choices], required=False)
    # An id: a bigint, so a larger number is no batch (ignored, as any invalid value is).
    batch = forms.IntegerField(label="Batch", required=False, min_value=1, max_value=2**63 - 1, widget=forms.Select)

    def __init__(self, *args: Any, batches: Sequence[BatchJob] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batch"].widget.choices = [("", "All batches")] + [
            (
                batch.pk,
                f"#{batch.pk} · {batch.requested_count} {ngettext('post', 'posts', batch.requested_count)}"
                f" · {timezone.localtime(batch.created_at):%b %d}",
            )
            for batch in batches
        ]

    def filters(self) -> dict[str, Any]:
        """The valid filters as keyword arguments of selectors.campaign_posts."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        filters = {name: cleaned[name] for name in ("status", "review", "platform") if cleaned.get(name)}
        if cleaned.get("batch"):
            filters["batch_id"] = cleaned["batch"]
        return filters


class RescheduleForm(forms.Form):
    """A post moved in the calendar: to a day, at a time of day (or at the time it had)."""

    date = forms.DateField(label="Day", widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label="Time", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


class PostIdsField(forms.Field):
    """Post ids ticked in a grid (?post=1&post=2): whole numbers; whose they are is the selector's to decide."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return sorted({int(item) for item in value})
        except (TypeError, ValueError):
            raise ValidationError("The posts picked are not valid; reload the page and pick them again.") from None


class BulkActionForm(forms.Form):
    """What to do to which posts of a grid: the ids ticked, or every post matching the filter; and for a
    schedule, the days and the cadence (once a day at 09:00, or at the times of day given)."""

    CADENCES = [("daily", "One a day at 09:00"), ("times", "At these times each day")]

    action = forms.ChoiceField(choices=[(action, action) for action in BULK_ACTIONS])
    post = PostIdsField(required=False)
    all_matching = forms.BooleanField(required=False)
    first_day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    cadence = forms.ChoiceField(choices=CADENCES, required=False, initial="daily", widget=forms.RadioSelect)
    times = forms.CharField(required=False, max_length=200, help_text="e.g. 09:00, 13:00, 18:30")

    def clean_post(self) -> list[int]:
        ids = self.cleaned_data["post"]
        if len(ids) > MAX_BATCH_SIZE * 10:
            raise ValidationError("Too many posts picked at once; use “all matching the filter”.")
        return ids

    def clean_times(self) -> list[time]:
        found = []
        for item in split_list(self.cleaned_data["times"].replace(" ", ",")):
            try:
                found.append(datetime.strptime(item, "%H:%M").time())
            except ValueError:
                raise ValidationError(f"{item!r} is not a time of day like 09:00 or 18:30.") from None
        return found

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not cleaned.get("all_matching") and not cleaned.get("post"):
            raise ValidationError("Select posts first: tick their boxes, or “all matching the filter”.")
        if cleaned.get("action") == "schedule" and not self.errors:
            if not cleaned.get("first_day") or not cleaned.get("last_day"):
                raise ValidationError("Scheduling needs a first and a last day.")
            times = [time(9, 0)] if cleaned.get("cadence") != "times" else cleaned.get("times", [])
            cleaned["plan"] = check_spread_plan(
                first_day=cleaned["first_day"], last_day=cleaned["last_day"], times=times
            )
        return cleaned
