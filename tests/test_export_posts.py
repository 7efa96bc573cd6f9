"""manage.py export_posts: a campaign's posts to CSV or ZIP, filtered by either status."""

import csv
import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from campaigns.models import GenerationStatus, ReviewStatus
from exports import writers as exports
from tests.factories import CampaignFactory, PostFactory
from tests.support import assert_one_line_error, run_manage

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = CampaignFactory(name="Summer Cold Brew Launch")
    approved = ReviewStatus.APPROVED
    for status, review, n in [
        (GenerationStatus.SUCCEEDED, approved, 3),
        (GenerationStatus.SUCCEEDED, ReviewStatus.DRAFT, 2),
        (GenerationStatus.SUCCEEDED, ReviewStatus.REJECTED, 1),
        (GenerationStatus.FAILED, ReviewStatus.DRAFT, 2),
        (GenerationStatus.PENDING, ReviewStatus.DRAFT, 1),
    ]:
        PostFactory.create_batch(n, campaign=campaign, status=status, review_status=review)
    PostFactory(status=GenerationStatus.SUCCEEDED, review_status=approved)  # another campaign's
    return campaign


def export(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_posts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def csv_rows(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def test_csv_of_approved_posts_with_a_json_summary(campaign, tmp_path):
    path = tmp_path / "approved.csv"
    out, _ = export(str(campaign.pk), "--format", "csv", "--out", str(path), "--status", "approved", "--json")
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary == {
        "campaign_id": campaign.pk,
        "campaign": "Summer Cold Brew Launch",
        "format": "csv",
        "path": str(path),
        "posts": 3,
        "bytes": path.stat().st_size,
        "filters": {"review_status": ["approved"]},
    }
    rows = csv_rows(path)
    assert len(rows) == 3
    assert {row["review_status"] for row in rows} == {"approved"}
    assert list(rows[0]) == list(exports.CSV_COLUMNS)
    assert not list(tmp_path.glob(".*.part"))


def test_status_values_of_the_two_kinds_combine(campaign, tmp_path):
    path = tmp_path / "todo.csv"
    out, _ = export(campaign.name, "--out", str(path), "--status", "ready", "--status", "draft", "--json")
    assert json.loads(out)["filters"] == {"status": ["succeeded"], "review_status": ["draft"]}
    assert len(csv_rows(path)) == 2
    export(campaign.name, "--out", str(path), "--status", "failed", "--status", "pending")
    assert {row["status"] for row in csv_rows(path)} == {"failed", "pending"}
    export(campaign.name, "--out", str(path))
    assert len(csv_rows(path)) == 9


def test_zip_holds_the_csv_and_the_images(campaign, tmp_path):
    post = campaign.posts.filter(review_status="approved").first()
    post.image = default_storage.save(f"posts/{campaign.pk}/{post.pk}.jpg", ContentFile(b"\xff\xd8jpeg"))
    post.save()
    path = tmp_path / "summer.zip"  # the format comes from the suffix
    _, err = export(str(campaign.pk), "--out", str(path), "--status", "approved")
    assert f"Exported 3 posts of 'Summer Cold Brew Launch' to {path}" in err
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert names == {"posts.csv", f"images/instagram-{post.pk}.jpg"}
        assert archive.read(f"images/instagram-{post.pk}.jpg") == b"\xff\xd8jpeg"


def test_csv_to_stdout(campaign):
    out, err = export(str(campaign.pk), "--out", "-", "--status", "rejected")
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert len(rows) == 1 and rows[0]["review_status"] == "rejected"
    assert "Exported 1 post of" in err


def test_a_failed_export_leaves_no_file(campaign, tmp_path, monkeypatch):
    path = tmp_path / "posts.csv"
    path.write_text("the previous export")

    def broken(posts, stream):
        stream.write("post_id,half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("exports.management.commands.export_posts.write_csv", broken)
    with pytest.raises(CommandError, match="No space left on device"):
        export(str(campaign.pk), "--out", str(path))
    assert path.read_text() == "the previous export"
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "-", "--format", "zip"], "a ZIP needs a file"),
        (["--out", "-", "--json"], "cannot carry --json"),
        (["--out", "/nonexistent-folder/posts.csv"], "the folder /nonexistent-folder does not exist"),
    ],
)
def test_bad_output_is_refused(campaign, args, message):
    with pytest.raises(CommandError, match=message):
        export(str(campaign.pk), *args)


def test_bad_input_exits_1_with_one_line(db, tmp_path):
    result = run_manage("export_posts", "No Such Campaign", "--out", str(tmp_path / "x.csv"))
    assert_one_line_error(result, "no campaign with id or name 'No Such Campaign'")
    result = run_manage("export_posts", "1", "--out", str(tmp_path / "x.csv"), "--status", "published")
    assert_one_line_error(result, "argument --status: invalid choice: 'published'")
    assert not (tmp_path / "x.csv").exists()
    result = run_manage("export_posts", "--help")
    assert result.returncode == 0
    assert "  manage.py export_posts 1 --format csv --out approved.csv --status approved\n" in result.stdout
