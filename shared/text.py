"""Text the project refuses: control characters.

PostgreSQL cannot store the NUL character in text ("text fields cannot contain NUL" would be a
500), and the other C0 control characters have no place in what a person types. Tab, newline and
carriage return are text; every other character below U+0020 (and DEL, U+007F) is refused, with
a 400 for a path or a query string (shared.middleware), a field error in a form (the validator
below) and a 422 in the API (api.schemas.InputSchema).
"""

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator

# In text a person types (forms, API bodies): every C0 control but tab, newline and carriage return.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a path or a query string: none at all.
ANY_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
NULL_CHARACTERS_MESSAGE = "Null characters are not allowed."  # Django's own words for NUL
CONTROL_CHARACTERS_MESSAGE = "Control characters are not allowed (tab and new lines are)."


def control_characters_refusal(value: Any) -> str:
    """Why `value` (a text, or a list or tuple of texts) is refused, or "" when it is not."""
    texts = value if isinstance(value, list | tuple) else [value]
    strings = [text for text in texts if isinstance(text, str)]
    if any("\x00" in text for text in strings):
        return NULL_CHARACTERS_MESSAGE
    if any(CONTROL_CHARACTERS.search(text) for text in strings):
        return CONTROL_CHARACTERS_MESSAGE
    return ""


def refuse_control_characters(value: Any) -> None:
    """A form field's validator (texts and lists of texts)."""
    refusal = control_characters_refusal(value)
    if refusal:
        raise ValidationError(refusal, code="null_characters_not_allowed")


class RefuseControlCharacters:
    """A form mixin: every field of the form refuses control characters in its text
    (Django's CharField refuses only NUL, and fields of lists not even that)."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # One message for every control character: this validator covers Django's for NUL.
            field.validators = [
                validator
                for validator in field.validators
                if not isinstance(validator, ProhibitNullCharactersValidator)
                and validator is not refuse_control_characters
            ]
            field.validators.append(refuse_control_characters)
