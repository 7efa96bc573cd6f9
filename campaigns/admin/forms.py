"""Forms of the staff admin: change forms that check what the services check, and the intermediate pages.

The rules are the services' (services.check_*), the same the marketer's pages and the commands
apply; the model admins then save through the services themselves.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from campaigns import services
from campaigns.forms import CampaignForm, HashtagsField, batch_mode_field
from campaigns.models import MAX_BATCH_SIZE, PLATFORM_VALUES, BatchJob, BatchMode, Post
from shared.platforms import Platform
from workspaces.models import Workspace

# One action starts one batch per campaign in the request; past this, use generate_posts.
MAX_CAMPAIGNS_PER_ACTION = 50


def cost_cap_field(help_text: str) -> forms.DecimalField:
    """A cost cap as batch_start and batch_set_cost_cap take it: the rule is services.check_cost_cap."""
    return forms.DecimalField(
        label="Cost cap (USD)",
        required=False,
        # django-stubs wants validators to return None; Django ignores what they return.
        validators=[services.check_cost_cap],  # type: ignore[list-item]
        help_text=help_text,
    )


class StartBatchForm(forms.Form):
    """Count, platforms and an optional cost cap for "start a batch" on the selected campaigns."""

    count = forms.IntegerField(
        label="Posts per campaign",
        initial=10,
        validators=[services.check_count],  # type: ignore[list-item]  # as above: the value returned is ignored
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_BATCH_SIZE}),
        help_text=f"From 1 to {MAX_BATCH_SIZE:,}: each selected campaign gets one batch of this many posts.",
    )
    platforms = forms.MultipleChoiceField(
        choices=[(value, Platform(value).label) for value in PLATFORM_VALUES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Leave all unticked to use each campaign's own platforms; ticked ones apply to every campaign.",
    )
    cost_cap_usd = cost_cap_field(
        "Stop each batch cleanly once it has cost this much; empty: the default cap (GENERATION_DEFAULT_COST_CAP_USD)."
    )
    mode = batch_mode_field("Economy goes through the provider's Batch API: about half the cost, done within 24 hours.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["mode"] = cleaned.get("mode") or BatchMode.STANDARD
        if "cost_cap_usd" in cleaned:
            try:
                services.check_mode(cleaned["mode"], cost_cap_usd=cleaned["cost_cap_usd"])
            except ValidationError as refusal:
                self.add_error("mode", refusal)
        return cleaned


class BatchCostCapForm(forms.ModelForm):
    """The one thing staff may change on a batch (BatchJobAdmin saves it with batch_set_cost_cap)."""

    cost_cap_usd = cost_cap_field("Stop the batch cleanly once it has cost this much; empty for no cap.")

    class Meta:
        model = BatchJob
        fields = ["cost_cap_usd"]


class CampaignAdminForm(CampaignForm):
    """The marketer's campaign form, with its rules, for staff; a new campaign's workspace and creator
    are chosen here."""

    class Meta(CampaignForm.Meta):
        fields = ["workspace", "owner", *CampaignForm.Meta.fields]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        instance = kwargs.get("instance")
        workspace = instance.workspace if instance is not None and instance.workspace_id else None
        super().__init__(*args, workspace=workspace, **kwargs)

    def clean_workspace(self) -> Workspace:
        # Names are unique per workspace: clean_name, after this field, checks the workspace chosen here.
        self.workspace = self.cleaned_data["workspace"]
        return self.workspace


class PostChangeForm(forms.ModelForm):
    """What staff may change on a post, checked with the rules of the services PostAdmin saves it with.

    Only what changed is checked: a caption written before a limit existed does not stop anyone
    approving its post, as on the marketer's pages.
    """

    hashtags = HashtagsField(max_items=30)

    class Meta:
        model = Post
        fields = ["caption", "hashtags", "review_status", "scheduled_at"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        changed = set(self.changed_data)
        post = self.instance
        if changed & {"caption", "hashtags"} and {"caption", "hashtags"} <= cleaned.keys():
            text = {"caption": cleaned["caption"], "hashtags": cleaned["hashtags"]}
            self._check(None, services.check_caption, platform=post.platform, **text)
        if "review_status" in changed and "review_status" in cleaned:
            self._check("review_status", services.check_review, post=post, decision=cleaned["review_status"])
        if "scheduled_at" in changed and "scheduled_at" in cleaned:
            self._check("scheduled_at", services.check_schedule, post=post, scheduled_at=cleaned["scheduled_at"])
        return cleaned

    def _check(self, field: str | None, check: Callable[..., object], **arguments: Any) -> None:
        try:
            check(**arguments)
        except ValidationError as refusal:
            self.add_error(field, refusal)  # with field None, a refusal keyed by field goes next to its field
