"""Reading campaigns from CSV or JSON files, validated with the web form's own rules."""

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from campaigns.forms import CampaignForm
from campaigns.models import DEFAULT_BRAND_COLOR, Campaign
from shared.languages import Language
from workspaces.models import Workspace

# The web form's fields, as validate_rows checks each row with CampaignForm; brand_color is accepted
# but not listed where the columns are named (the command's help, the unknown-column error).
OPTIONAL_COLUMNS = ("brand_color",)
COLUMNS = tuple(field for field in CampaignForm.Meta.fields if field not in OPTIONAL_COLUMNS)
REQUIRED_COLUMNS = ("name", "brief", "platforms")
MAX_ROWS = 5000


class ImportFileError(Exception):
    """The file as a whole cannot be read (format, encoding, columns)."""


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (CSV: line 1 is the header, so row 1 is line 2)
    message: str


def read_rows(path: Path) -> list[dict]:
    """Rows of a .csv or .json file as dicts of strings (lists allowed in JSON)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path.name} is not UTF-8 text (bad byte at position {exc.start})") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        rows = _json_rows(text, path.name)
    elif suffix == ".csv":
        rows = _csv_rows(text, path.name)
    else:
        raise ImportFileError(f"{path.name}: use a .csv or .json file")
    if not rows:
        raise ImportFileError(f"{path.name} has no campaigns in it")
    if len(rows) > MAX_ROWS:
        raise ImportFileError(f"{path.name} has {len(rows)} rows; import at most {MAX_ROWS} at a time")
    return rows


def _check_columns(columns: set[str], name: str) -> None:
    unknown = sorted(columns - set(COLUMNS) - set(OPTIONAL_COLUMNS))
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if unknown:
        raise ImportFileError(f"{name}: unknown column(s) {', '.join(unknown)}; expected {', '.join(COLUMNS)}")
    if missing:
        raise ImportFileError(f"{name}: missing required column(s) {', '.join(missing)}")


def _csv_rows(text: str, name: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise ImportFileError(f"{name} is empty")
    columns = [field.strip() for field in reader.fieldnames if field]
    repeated = sorted({column for column in columns if columns.count(column) > 1})
    if repeated:
        # DictReader would keep only the last of them, silently.
        raise ImportFileError(f"{name}: column(s) {', '.join(repeated)} appear more than once in the header")
    _check_columns(set(columns), name)
    rows = []
    try:
        for row in reader:
            if None in row:
                raise ImportFileError(f"{name}: line {reader.line_num} has more cells than the header")
            rows.append({key.strip(): (value or "").strip() for key, value in row.items() if key})
    except csv.Error as exc:
        raise ImportFileError(f"{name}: not valid CSV ({exc})") from None
    return rows


def _json_rows(text: str, name: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("campaigns"), list):
        data = data["campaigns"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ImportFileError(f"{name}: expected a list of campaign objects")
    if not data:
        return []
    _check_columns(set().union(*(item.keys() for item in data)), name)
    return [_json_row(item, number, name) for number, item in enumerate(data, start=1)]


_SCALARS = (str, int, float)


def _json_row(item: dict, number: int, name: str) -> dict:
    """One object as a CSV-like row of strings; lists of words become 'a, b'. Objects and nested lists are refused."""
    row = {}
    for key, value in item.items():
        if value is None:
            row[key] = ""
        elif isinstance(value, _SCALARS) and not isinstance(value, bool):
            row[key] = str(value)
        elif isinstance(value, list) and all(isinstance(v, _SCALARS) and not isinstance(v, bool) for v in value):
            row[key] = ", ".join(str(v) for v in value)
        else:
            kind = "an object" if isinstance(value, dict) else "true/false" if isinstance(value, bool) else "nested"
            raise ImportFileError(f"{name}: campaign {number}: {key} must be text or a list of text, not {kind}")
    return row


# Each language's name in that language, so that a row may say "Español" or "日本語" as well as "es" or "Spanish".
ENDONYMS = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "it": "Italiano",
    "pt": "Português",
    "nl": "Nederlands",
    "pl": "Polski",
    "sv": "Svenska",
    "ja": "日本語",
}


def _folded(name: str) -> str:
    """'Español ' -> 'espanol': case and accents do not matter in a language's name."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


LANGUAGE_NAMES = {
    _folded(name): code for code, label in Language.choices for name in (code, label, ENDONYMS.get(code, label))
}
# "en (English), es (Spanish, Español), …": what the error for an unknown language lists.
ACCEPTED_LANGUAGES = ", ".join(
    f"{code} ({', '.join(dict.fromkeys((label, ENDONYMS.get(code, label))))})" for code, label in Language.choices
)
_REGIONAL_TAG = re.compile(r"([a-z]{2})[-_][a-z0-9]{2,8}")


def language_code(value: str) -> str | None:
    """The code for a language given by code, English name or own name ('ja', 'Japanese', '日本語');
    a regional tag ('pt-BR', 'en_GB') counts as its language. None when it is none of ours."""
    folded = _folded(value)
    regional = _REGIONAL_TAG.fullmatch(folded)
    return LANGUAGE_NAMES.get(folded) or (LANGUAGE_NAMES.get(regional.group(1)) if regional else None)


# What a row leaves out gets the model's defaults, as a campaign created in the admin does.
IMPORT_DEFAULTS = {"language": Campaign._meta.get_field("language").default, "brand_color": DEFAULT_BRAND_COLOR}


def validate_rows(rows: list[dict], *, workspace: Workspace) -> tuple[list[dict], list[RowError]]:
    """Validate each row with CampaignForm. Returns (cleaned data, errors); any error means import nothing."""
    cleaned: list[dict] = []
    errors: list[RowError] = []
    seen_names: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        data = {**IMPORT_DEFAULTS, **{k: v for k, v in row.items() if v != ""}}
        data.setdefault("platforms", "")
        language = language_code(data["language"])
        if language is None:
            unknown = f"{data['language'][:40]!r} is not a language we write in; use one of {ACCEPTED_LANGUAGES}"
            errors.append(RowError(number, f"language: {unknown}"))
        data["language"] = language or IMPORT_DEFAULTS["language"]
        form = CampaignForm(data=data, workspace=workspace)
        if language is None or not form.is_valid():
            for field, messages in form.errors.items():
                label = "row" if field == "__all__" else field
                # django-stubs: iterating an ErrorList yields ValidationErrors; Django yields their messages.
                errors.append(RowError(number, f"{label}: {' '.join(messages)}"))  # type: ignore[arg-type]
            continue
        key = form.cleaned_data["name"].lower()
        if key in seen_names:
            errors.append(RowError(number, f"name: same name as row {seen_names[key]}"))
            continue
        seen_names[key] = number
        cleaned.append(form.cleaned_data)
    return cleaned, errors
