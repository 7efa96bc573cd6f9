from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from campaigns.middleware import remember_time_zone

        user_logged_in.connect(remember_time_zone, dispatch_uid="campaigns.remember_time_zone")
