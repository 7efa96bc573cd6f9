from django import forms

from api.models import TokenAccess
from shared.text import RefuseControlCharacters


class TokenForm(RefuseControlCharacters, forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use it, e.g. “n8n CRM sync”.")
    access = forms.ChoiceField(
        choices=TokenAccess.choices,
        initial=TokenAccess.READ,
        widget=forms.RadioSelect,
        help_text="Read: list and read. Read and write: also start batches, edit, approve and schedule.",
    )
