"""manage.py generate_posts: several campaigns or --all-active, bars per batch and a summary table."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns.models import BatchJob, BatchStatus
from generation.queue import generation_queue
from tests.factories import CampaignFactory
from tests.fake_openai import Config
from tests.support import assert_one_line_error, run_manage


def generate(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_posts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_several_campaigns_in_process_with_a_summary_table(capsys):
    first = CampaignFactory(name="Cold Brew")
    CampaignFactory(name="Iced Tea")
    out, _ = generate(str(first.pk), "Iced Tea", "--count", "4", "--sync", "--json")
    summaries = json.loads(out.strip().splitlines()[-1])
    assert [(s["campaign"], s["status"], s["succeeded"]) for s in summaries] == [
        ("Cold Brew", "succeeded", 4),
        ("Iced Tea", "succeeded", 4),
    ]
    assert {"batch_id", "requested", "failed", "seconds", "posts_per_minute", "cost_usd"} <= summaries[0].keys()
    # The bars and the table are drawn by rich on the real stderr.
    drawn = capsys.readouterr().err
    assert "Batches" in drawn
    for summary in summaries:
        assert f"#{summary['batch_id']} " in drawn
    assert drawn.count("4/4") >= 2


@pytest.mark.django_db(transaction=True)
def test_all_active_skips_campaigns_that_ended():
    today = timezone.localdate()
    running = CampaignFactory(start_date=today - timedelta(days=3), end_date=today + timedelta(days=3))
    open_ended = CampaignFactory()
    CampaignFactory(end_date=today - timedelta(days=1))
    CampaignFactory(start_date=today + timedelta(days=1))
    out, _ = generate("--all-active", "--count", "2", "--json")
    summaries = json.loads(out)
    assert sorted(s["campaign"] for s in summaries) == sorted([running.name, open_ended.name])
    assert {s["status"] for s in summaries} == {BatchStatus.QUEUED}
    assert generation_queue().count == 2  # queued for the workers, one job each


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_did_not_fully_succeed_exits_1_after_its_json(openai_settings, fake_openai):
    fake_openai.configure(Config(refuse_posts=[1]))
    campaign = CampaignFactory(platforms=["x"])
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"not every batch succeeded: #\d+ partially_failed"):
        call_command("generate_posts", str(campaign.pk), "--count", "3", "--sync", "--json", stdout=out)
    assert json.loads(out.getvalue())["failed"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Nope", "--count", "3"], "no campaign with id or name 'Nope'"),
        (["--count", "3"], "name at least one campaign"),
        (["{pk}", "--all-active", "--count", "3"], "give campaigns or --all-active, not both"),
        (["{pk}", "--count", "0"], "The number of posts must be from 1 to 1000; got 0."),
        (["{pk}", "--count", "1001"], "The number of posts must be from 1 to 1000; got 1001."),
    ],
)
def test_bad_input_writes_nothing(args, message):
    campaign = CampaignFactory()
    with pytest.raises(CommandError, match=message):
        generate(*(arg.format(pk=campaign.pk) for arg in args))
    assert not BatchJob.objects.exists()


@pytest.mark.django_db
def test_exit_status_of_bad_input_and_help():
    assert_one_line_error(run_manage("generate_posts", "--count", "5", "Nope"), "no campaign with id or name 'Nope'")
    assert_one_line_error(run_manage("generate_posts", "1", "--platform", "myspace", "--count", "1"), "invalid choice")
    result = run_manage("generate_posts", "--help")
    assert result.returncode == 0
    assert "  manage.py generate_posts --all-active --count 10 --wait\n" in result.stdout
