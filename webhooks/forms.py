from django import forms

from shared.text import RefuseControlCharacters
from webhooks.models import Event, WebhookEndpoint


class EndpointForm(RefuseControlCharacters, forms.Form):
    url = forms.URLField(
        label="URL", max_length=500, assume_scheme="https", help_text="Where to POST the events, e.g. https://…"
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=[(event.value, f"{event.value}: {event.label}") for event in Event],
        widget=forms.CheckboxSelectMultiple,
        initial=[Event.BATCH_SUCCEEDED, Event.BATCH_FAILED],
    )

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> "EndpointForm":
        return cls(initial={"url": endpoint.url, "description": endpoint.description, "events": endpoint.events})
