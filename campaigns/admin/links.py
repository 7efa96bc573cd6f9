from django.db.models import Model
from django.urls import reverse


def changelist_url(model: type[Model], **filters: object) -> str:
    url = reverse(f"admin:campaigns_{model._meta.model_name}_changelist")
    return url + ("?" + "&".join(f"{key}={value}" for key, value in filters.items()) if filters else "")
