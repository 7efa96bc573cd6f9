from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from campaigns import signals as campaign_signals
        from exports import signals as export_signals
        from webhooks import events

        campaign_signals.batch_ended.connect(events.batch_ended, dispatch_uid="webhooks.batch_ended")
        campaign_signals.posts_approved.connect(events.posts_approved, dispatch_uid="webhooks.posts_approved")
        export_signals.export_ready.connect(events.export_ready, dispatch_uid="webhooks.export_ready")
