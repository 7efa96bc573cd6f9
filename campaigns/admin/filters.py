"""Change-list filters of the staff admin that stay cheap with 100,000s of rows."""

from django.contrib import admin

from campaigns.models import Campaign


class RelatedIdFilter(admin.SimpleListFilter):
    """Filter on a related row's id given in the URL (?batch=42), without listing every choice.

    A RelatedFieldListFilter would load every campaign or batch to offer them; this one offers
    only the one selected (so staff can see and clear it) and costs no query for a batch.
    """

    field = ""

    def lookups(self, request, model_admin):
        value = self.value()
        if not value:
            return []
        return [(value, self.label_for(int(value)) if value.isdigit() else f"{value} (not an id)")]

    def label_for(self, pk: int) -> str:
        return f"#{pk}"

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(**{self.field: int(value)})


class CampaignIdFilter(RelatedIdFilter):
    title = "campaign"
    parameter_name = "campaign"
    field = "campaign_id"

    def label_for(self, pk: int) -> str:
        name = Campaign.objects.filter(pk=pk).values_list("name", flat=True).first()
        return name or f"#{pk}"


class BatchIdFilter(RelatedIdFilter):
    title = "batch"
    parameter_name = "batch"
    field = "batch_id"

    def label_for(self, pk: int) -> str:
        return f"Batch #{pk}"
