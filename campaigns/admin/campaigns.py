from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from campaigns import services
from campaigns.admin.actions import ServiceBackedAdmin
from campaigns.admin.forms import (
    MAX_CAMPAIGNS_PER_ACTION,
    CampaignAdminForm,
    StartBatchForm,
)
from campaigns.admin.links import changelist_url
from campaigns.models import BatchJob, Campaign, Post
from shared.platforms import platform_names


@admin.register(Campaign)
class CampaignAdmin(ServiceBackedAdmin):
    list_display = (
        "name",
        "workspace",
        "owner",
        "platform_list",
        "language",
        "start_date",
        "end_date",
        "created_at",
        "links",
    )
    list_filter = ("language", "created_at")
    search_fields = ("name", "brief", "workspace__name", "owner__username", "owner__email")
    list_select_related = ("workspace", "owner")
    autocomplete_fields = ("workspace", "owner")
    date_hierarchy = "created_at"
    form = CampaignAdminForm
    fields = (*CampaignAdminForm.Meta.fields, "created_at", "updated_at")
    actions: tuple[str, ...] = ("delete_selected", "start_batch")
    max_per_action = MAX_CAMPAIGNS_PER_ACTION

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> tuple[str, ...]:
        # A campaign stays in its workspace with its creator: its batches, posts and exports follow it.
        return ("created_at", "updated_at") if obj is None else ("workspace", "owner", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, campaign: Campaign, form: CampaignAdminForm, change: bool) -> None:
        chosen_once = ("workspace", "owner")
        fields = {name: form.cleaned_data[name] for name in CampaignAdminForm.Meta.fields if name not in chosen_once}
        staff = cast(User, request.user)  # the admin site lets only staff in
        if change:
            services.campaign_update(campaign=campaign, actor=None, recorded_as=staff, **fields)
        else:
            created = services.campaign_create(
                workspace=form.cleaned_data["workspace"],
                owner=form.cleaned_data["owner"],
                actor=None,
                recorded_as=staff,
                **fields,
            )
            campaign.pk = created.pk  # the admin logs and links the object it handed over

    def delete_model(self, request: HttpRequest, campaign: Campaign) -> None:
        services.campaign_delete(campaign=campaign, actor=None)

    @admin.display(description="platforms")
    def platform_list(self, campaign: Campaign) -> str:
        return platform_names(campaign.platforms)

    @admin.display(description="")
    def links(self, campaign: Campaign) -> str:
        # Links, not counts: counting posts per campaign would read every post on each page.
        return format_html(
            '<a href="{}">posts</a> · <a href="{}">batches</a>',
            changelist_url(Post, campaign=campaign.pk),
            changelist_url(BatchJob, campaign=campaign.pk),
        )

    @admin.action(description="Start a batch for the selected campaigns…", permissions=["change"])
    def start_batch(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> TemplateResponse | None:
        campaigns = list(queryset.select_related("owner").order_by("pk")[: MAX_CAMPAIGNS_PER_ACTION + 1])
        if len(campaigns) > MAX_CAMPAIGNS_PER_ACTION:
            self.message_user(
                request,
                f"Select at most {MAX_CAMPAIGNS_PER_ACTION} campaigns to start batches for "
                "(manage.py generate_posts --all-active starts them for every active campaign).",
                messages.ERROR,
            )
            return None
        form = StartBatchForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._start_batches(request, campaigns, form.cleaned_data)
            return None  # back to the change list, with the messages
        context = {
            **self.admin_site.each_context(request),
            "title": "Start a batch",
            "subtitle": ngettext("for %(n)d campaign", "for %(n)d campaigns", len(campaigns)) % {"n": len(campaigns)},
            "opts": self.opts,
            "form": form,
            "campaigns": campaigns,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/start_batch.html", context)

    def _start_batches(self, request: HttpRequest, campaigns: list[Campaign], data: dict[str, Any]) -> None:
        started = []
        for campaign in campaigns:
            try:
                batch = services.batch_start(
                    campaign=campaign,
                    count=data["count"],
                    platforms=data["platforms"] or None,
                    actor=None,  # staff, with the admin's permissions
                    requested_by=cast(User, request.user),  # the admin site lets only staff in
                    cost_cap_usd=data["cost_cap_usd"],
                    mode=data["mode"],
                )
            except ValidationError as exc:
                self.message_user(request, f"{campaign.name}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                started.append(batch)
        if started:
            links = format_html_join(
                ", ",
                '<a href="{}">#{}</a> ({})',
                ((reverse("admin:campaigns_batchjob_change", args=[b.pk]), b.pk, b.campaign.name) for b in started),
            )
            self.message_user(
                request,
                format_html(
                    ngettext("Started {} batch of {} {}: {}.", "Started {} batches of {} {}: {}.", len(started)),
                    len(started),
                    data["count"],
                    ngettext("post", "posts", data["count"]),
                    links,
                ),
                messages.SUCCESS,
            )
