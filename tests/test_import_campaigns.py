import json

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

HEADER = "name,brief,target_audience,tone,platforms,language,keywords,hashtags,call_to_action,start_date,end_date\n"


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def run_import(path, owner, *args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("import_campaigns", str(path), "--owner", owner.username, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_every_row_of_a_valid_csv(tmp_path, user):
    path = write(
        tmp_path,
        "ok.csv",
        HEADER
        + 'Spring,Sell spring shoes,runners,cheerful,"instagram, x",en,"shoes, spring",#Run,Buy now,'
        + "2026-03-01,2026-04-01\n"
        + "Autumn,Sell autumn coats,,,linkedin,,,,,,\n",
    )
    out, _ = run_import(path, user, "--json")
    created = json.loads(out.strip().splitlines()[-1])
    assert [row["name"] for row in created] == ["Spring", "Autumn"]
    spring = Campaign.objects.get(owner=user, name="Spring")
    assert spring.platforms == ["instagram", "x"]
    assert spring.keywords == ["shoes", "spring"]
    assert spring.hashtags == ["#Run"]
    assert str(spring.start_date) == "2026-03-01"


def test_one_bad_row_means_nothing_is_imported(tmp_path, user):
    path = write(
        tmp_path,
        "bad.csv",
        HEADER
        + "Good one,A fine brief,,,instagram,,,,,,\n"
        + "Bad one,A fine brief,,,myspace,,,,,,\n"
        + ",No name here,,,x,,,,,,\n",
    )
    with pytest.raises(CommandError, match="2 of 3 rows are invalid; nothing was imported"):
        run_import(path, user)
    assert not Campaign.objects.exists()


def test_bad_rows_are_each_reported_with_their_reason(tmp_path, user, capsys):
    path = write(tmp_path, "bad.csv", HEADER + "Bad one,A brief,,,myspace,,,,,2026-05-02,2026-05-01\n")
    from io import StringIO

    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_campaigns", str(path), "--owner", user.username, stderr=err)
    report = err.getvalue()
    assert "row 1: platforms:" in report and "myspace" in report
    assert "end_date" in report


def test_json_import_and_duplicate_names(tmp_path, user):
    CampaignFactory(owner=user, name="Existing")
    rows = [
        {"name": "Fresh", "brief": "b", "platforms": ["x"]},
        {"name": "fresh", "brief": "b", "platforms": "x"},
        {"name": "existing", "brief": "b", "platforms": "x"},
    ]
    path = write(tmp_path, "c.json", json.dumps(rows))
    from io import StringIO

    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_campaigns", str(path), "--owner", user.username, stderr=err)
    assert "row 2: name: same name as row 1" in err.getvalue()
    assert "row 3: name: This workspace already has a campaign with this name." in err.getvalue()
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cols.csv", "title,brief,platforms\nA,b,x\n", "unknown column(s) title"),
        ("cols2.csv", "name,platforms\nA,x\n", "missing required column(s) brief"),
        ("latin.csv", HEADER.encode() + "Caf\xe9,b,,,x,,,,,,\n".encode("latin-1"), "is not UTF-8 text"),
        ("broken.json", '[{"name": "A",', "not valid JSON"),
        ("shape.json", '{"name": "A"}', "expected a list of campaign objects"),
        ("notes.txt", "hello", "use a .csv or .json file"),
        ("empty.csv", HEADER, "has no campaigns in it"),
        ("utf16.csv", HEADER.encode("utf-16"), "is not UTF-8 text"),
        ("twice.csv", "name,brief,name,platforms\nA,b,B,x\n", "column(s) name appear more than once"),
        ("wide.csv", HEADER + "A,b,,,x,,,,,,,surplus\n", "line 2 has more cells than the header"),
        ("nothing.csv", "", "is empty"),
        ("empty.json", "[]", "has no campaigns in it"),
        (
            "object.json",
            '[{"name": {"en": "A"}, "brief": "b", "platforms": "x"}]',
            "name must be text or a list of text",
        ),
        ("nested.json", '[{"name": "A", "brief": "b", "platforms": [["x"]]}]', "platforms must be text or a list"),
        ("bool.json", '[{"name": "A", "brief": true, "platforms": "x"}]', "brief must be text or a list of text"),
    ],
)
def test_unreadable_files_get_one_clear_line(tmp_path, user, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_import(path, user)
    assert not Campaign.objects.exists()


def test_unknown_owner(tmp_path, db):
    path = write(tmp_path, "ok.csv", HEADER + "A,b,,,x,,,,,,\n")
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("import_campaigns", str(path), "--owner", "ghost")


def test_every_bad_row_is_reported_and_nothing_is_imported(tmp_path, user):
    from io import StringIO

    CampaignFactory(owner=user, name="Taken")
    rows = [
        {"name": "Fine", "brief": "A good brief", "platforms": "x"},
        {"name": "Long", "brief": "b" * 10_000, "platforms": "x"},
        {"name": "Dates", "brief": "b", "platforms": "x", "start_date": "2026-02-30"},
        {"name": "Order", "brief": "b", "platforms": "x", "start_date": "2026-03-02", "end_date": "2026-03-01"},
        {"name": "", "brief": "", "platforms": ""},
        {"name": "taken", "brief": "b", "platforms": "x"},
        {"name": "Colour", "brief": "b", "platforms": "x", "brand_color": "blue"},
        {"name": "NUL", "brief": "b\x00", "platforms": "x"},
    ]
    path = write(tmp_path, "many.json", json.dumps(rows))
    err = StringIO()
    with pytest.raises(CommandError, match="7 of 8 rows are invalid; nothing was imported"):
        call_command("import_campaigns", str(path), "--owner", user.username, stderr=err)
    report = err.getvalue()
    for line in (
        "row 2: brief: Ensure this value has at most 4000 characters (it has 10000).",
        "row 3: start_date: Enter a valid date.",
        "row 4: end_date: The end date must be on or after the start date.",
        "row 5: name: This field is required.",
        "row 5: platforms: Choose at least one platform.",
        "row 6: name: This workspace already has a campaign with this name.",
        "row 7: brand_color: Use a hex colour such as #2F5BEA.",
        "row 8: brief: Null characters are not allowed.",
    ):
        assert line in report
    assert list(Campaign.objects.values_list("name", flat=True)) == ["Taken"]


LANGUAGE_SPELLINGS = ["ja", "Japanese", "日本語", "japanese", "JA", " 日本語 ", "ja-JP"]


def test_a_language_may_be_given_by_code_english_name_or_its_own_name(tmp_path, user):
    rows = [
        {"name": f"Japan {n}", "brief": "b", "platforms": "x", "language": v} for n, v in enumerate(LANGUAGE_SPELLINGS)
    ]
    rows += [
        {"name": "Spain 1", "brief": "b", "platforms": "x", "language": "Español"},
        {"name": "Spain 2", "brief": "b", "platforms": "x", "language": "Spanish"},
        {"name": "Spain 3", "brief": "b", "platforms": "x", "language": "es"},
        {"name": "Spain 4", "brief": "b", "platforms": "x", "language": "espanol"},
        {"name": "France", "brief": "b", "platforms": "x", "language": "Français"},
        {"name": "Poland", "brief": "b", "platforms": "x", "language": "polski"},
        {"name": "Brazil", "brief": "b", "platforms": "x", "language": "pt-BR"},
        {"name": "Default", "brief": "b", "platforms": "x"},
    ]
    path = write(tmp_path, "languages.json", json.dumps(rows, ensure_ascii=False))
    run_import(path, user)
    languages = dict(Campaign.objects.filter(owner=user).values_list("name", "language"))
    assert languages == {
        **{f"Japan {n}": "ja" for n in range(len(LANGUAGE_SPELLINGS))},
        "Spain 1": "es",
        "Spain 2": "es",
        "Spain 3": "es",
        "Spain 4": "es",
        "France": "fr",
        "Poland": "pl",
        "Brazil": "pt",
        "Default": "en",
    }


def test_csv_language_names_import_too(tmp_path, user):
    path = write(tmp_path, "names.csv", HEADER + "Sommer,b,,,x,Deutsch,,,,,\nSummer,b,,,x,English,,,,,\n")
    run_import(path, user)
    assert dict(Campaign.objects.values_list("name", "language")) == {"Sommer": "de", "Summer": "en"}


def test_an_unknown_language_is_refused_with_the_ones_accepted(tmp_path, user):
    from io import StringIO

    rows = [
        {"name": "Fine", "brief": "b", "platforms": "x", "language": "Svenska"},
        {"name": "Klingon", "brief": "b", "platforms": "x", "language": "Klingon"},
        {"name": "Both", "brief": "b", "platforms": "myspace", "language": "xx-YY"},
    ]
    path = write(tmp_path, "bad.json", json.dumps(rows))
    err = StringIO()
    with pytest.raises(CommandError, match="2 of 3 rows are invalid; nothing was imported"):
        call_command("import_campaigns", str(path), "--owner", user.username, stderr=err)
    report = err.getvalue()
    assert (
        "row 2: language: 'Klingon' is not a language we write in; use one of en (English), es (Spanish, Español)"
        in report
    )
    assert "sv (Swedish, Svenska), ja (Japanese, 日本語)" in report
    assert "row 3: language: 'xx-YY' is not a language we write in" in report
    assert "row 3: platforms:" in report  # the row's other errors are still listed
    assert not Campaign.objects.exists()
