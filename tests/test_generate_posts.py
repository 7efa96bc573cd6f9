"""The generate_posts command: bad arguments get one clear line and write nothing."""

import json
from io import StringIO

import django_rq
import pytest
from django.core.management import CommandError, call_command

from campaigns.models import BatchJob, BatchStatus, Post

pytestmark = pytest.mark.django_db(transaction=True)


def generate(*args: str) -> str:
    out = StringIO()
    call_command("generate_posts", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "The number of posts must be from 1 to 1000; got 0."),
        (["--count", "-3"], "The number of posts must be from 1 to 1000; got -3."),
        (["--count", "1001"], "The number of posts must be from 1 to 1000; got 1001."),
        (["--count", "9" * 25], "The number of posts must be from 1 to 1000; got 9999"),
        (["--count", "ten"], "argument --count: invalid int value: 'ten'"),
        (["--count", "5", "--platform", "myspace"], "argument --platform: invalid choice: 'myspace'"),
        (["--count", "5", "--cost-cap", "lots"], "argument --cost-cap: 'lots' is not an amount in dollars"),
        (["--count", "5", "--cost-cap", "NaN"], "The cost cap must be an amount in dollars from $0.01"),
        (["--count", "5", "--cost-cap", "1e20"], "The cost cap must be an amount in dollars from $0.01"),
        (["--count", "5", "--cost-cap", "-1"], "The cost cap must be an amount in dollars from $0.01"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_written(campaign, args, message):
    with pytest.raises(CommandError) as caught:
        generate(str(campaign.pk), *args)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not BatchJob.objects.exists()
    assert not Post.objects.exists()
    assert django_rq.get_queue("generation").count == 0


@pytest.mark.parametrize(
    ("reference", "message"),
    [("999999", "no campaign with id or name '999999'"), ("Nope", "no campaign with id or name 'Nope'")],
)
def test_an_unknown_campaign_is_refused(db, reference, message):
    with pytest.raises(CommandError, match=message):
        generate(reference, "--count", "5")
    assert not BatchJob.objects.exists()


def test_an_ambiguous_name_asks_for_the_id(user, other_user):
    from tests.factories import CampaignFactory

    CampaignFactory(owner=user, name="Twin")
    CampaignFactory(owner=other_user, name="Twin")
    with pytest.raises(CommandError, match="several campaigns are named 'Twin'; use the id instead"):
        generate("Twin", "--count", "5")
    assert not BatchJob.objects.exists()


def test_sync_json_prints_one_summary_line(campaign):
    summary = json.loads(generate(str(campaign.pk), "--count", "3", "--sync", "--json").strip().splitlines()[-1])
    assert (summary["status"], summary["requested"], summary["succeeded"]) == (BatchStatus.SUCCEEDED, 3, 3)
