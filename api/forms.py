from django import forms

from api.models import TokenScope


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use it, e.g. “n8n CRM sync”.")
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.RadioSelect,
        help_text="Read: list and read. Read and write: also start batches, edit, approve and schedule.",
    )
