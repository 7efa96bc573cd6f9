from django.contrib import admin

from webhooks.models import WebhookDelivery, WebhookEndpoint


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ("event", "status", "attempts", "response_status", "last_error", "created_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ("-created_at",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "workspace", "is_active", "consecutive_failures", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "workspace__name")
    readonly_fields = ("secret", "disabled_at", "consecutive_failures", "created_at")
    inlines = [DeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "endpoint", "status", "attempts", "response_status", "created_at")
    list_filter = ("status", "event")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False
