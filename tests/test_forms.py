"""The forms refuse bad input with a message a marketer can act on, and nothing is written."""

import pytest
from django.core.exceptions import ValidationError

from campaigns import services
from campaigns.forms import BatchForm, CampaignForm, PostEditForm
from campaigns.models import Campaign, Post
from tests.factories import CampaignFactory, PostFactory
from workspaces.services.workspaces import personal_workspace

pytestmark = pytest.mark.django_db

LONG = "x" * 10_000
VALID = {
    "name": "Autumn coats",
    "brief": "Sell warm coats.",
    "platforms": ["x"],
    "language": "en",
    "brand_color": "#2F5BEA",
}


def errors_of(form) -> dict[str, list[str]]:
    assert not form.is_valid()
    return {field: list(messages) for field, messages in form.errors.items()}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"name": "", "brief": "", "platforms": []},
            {
                "name": ["This field is required."],
                "brief": ["This field is required."],
                "platforms": ["Choose at least one platform."],
            },
        ),
        ({"name": "   ", "brief": " \n "}, {"name": ["This field is required."], "brief": ["This field is required."]}),
        (
            {"name": LONG, "brief": LONG, "target_audience": LONG, "tone": LONG, "call_to_action": LONG},
            {
                "name": ["Ensure this value has at most 120 characters (it has 10000)."],
                "brief": ["Ensure this value has at most 4000 characters (it has 10000)."],
                "target_audience": ["Ensure this value has at most 300 characters (it has 10000)."],
                "tone": ["Ensure this value has at most 200 characters (it has 10000)."],
                "call_to_action": ["Ensure this value has at most 200 characters (it has 10000)."],
            },
        ),
        (
            {"keywords": LONG},
            {"keywords": ["Each item must be at most 60 characters (xxxxxxxxxxxxxxxxxxxx… is longer)."]},
        ),
        (
            {"hashtags": "#" + LONG[:100]},
            {"hashtags": ["Each item must be at most 60 characters (#Xxxxxxxxxxxxxxxxxxx… is longer)."]},
        ),
        (
            {"platforms": ["x", "myspace"]},
            {"platforms": ["Select a valid choice. myspace is not one of the available choices."]},
        ),
        (
            {"start_date": "2026-02-30", "end_date": "next week"},
            {"start_date": ["Enter a valid date."], "end_date": ["Enter a valid date."]},
        ),
        (
            {"start_date": "2026-03-02", "end_date": "2026-03-01"},
            {"end_date": ["The end date must be on or after the start date."]},
        ),
        ({"brief": "A brief\x00with a NUL"}, {"brief": ["Null characters are not allowed."]}),
        ({"brand_color": "red"}, {"brand_color": ["Use a hex colour such as #2F5BEA."]}),
        (
            {"language": "klingon"},
            {"language": ["Select a valid choice. klingon is not one of the available choices."]},
        ),
    ],
    ids=[
        "empty",
        "blank",
        "10000-chars",
        "long-keywords",
        "long-hashtag",
        "unknown-platform",
        "invalid-dates",
        "dates-reversed",
        "nul",
        "colour",
        "language",
    ],
)
def test_campaign_form_refuses_bad_input(user, changes, expected):
    form = CampaignForm(data={**VALID, **changes}, workspace=personal_workspace(user))
    assert errors_of(form) == expected
    assert not Campaign.objects.exists()


def test_campaign_form_refuses_a_duplicate_name_whatever_its_case_and_spacing(user, other_user):
    CampaignFactory(owner=user, name="Spring Shoes")
    form = CampaignForm(data={**VALID, "name": "  spring   SHOES "}, workspace=personal_workspace(user))
    assert errors_of(form) == {"name": ["This workspace already has a campaign with this name."]}
    # Names are unique per workspace: another may use it.
    assert CampaignForm(data={**VALID, "name": "Spring Shoes"}, workspace=personal_workspace(other_user)).is_valid()
    assert Campaign.objects.count() == 1


@pytest.mark.parametrize(
    ("count", "message"),
    [
        ("", "This field is required."),
        ("0", "The number of posts must be from 1 to 1000; got 0."),
        ("-5", "The number of posts must be from 1 to 1000; got -5."),
        ("1001", "The number of posts must be from 1 to 1000; got 1001."),
        ("9" * 30, f"The number of posts must be from 1 to 1000; got {'9' * 30}."),
        ("ten", "Enter a whole number."),
        ("2.5", "Enter a whole number."),
        ("1e3", "Enter a whole number."),
    ],
)
def test_batch_form_refuses_bad_counts(campaign, count, message):
    form = BatchForm(data={"count": count, "platforms": ["instagram"]}, campaign=campaign, user=campaign.owner)
    assert errors_of(form) == {"count": [message]}


@pytest.mark.parametrize(
    ("platforms", "message"),
    [
        ([], "Choose at least one platform."),
        (["myspace"], "Select a valid choice. myspace is not one of the available choices."),
        # A platform the campaign does not use is not offered either.
        (["tiktok"], "Select a valid choice. tiktok is not one of the available choices."),
    ],
)
def test_batch_form_refuses_platforms_outside_the_campaign(campaign, platforms, message):
    assert campaign.platforms == ["instagram", "x", "linkedin"]
    form = BatchForm(data={"count": "5", "platforms": platforms}, campaign=campaign, user=campaign.owner)
    assert errors_of(form) == {"platforms": [message]}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"caption": "", "hashtags": ""}, {"caption": ["Write a caption: a post cannot be published without one."]}),
        (
            {"caption": "  \n ", "hashtags": ""},
            {"caption": ["Write a caption: a post cannot be published without one."]},
        ),
        (
            {"caption": LONG, "hashtags": ""},
            {"caption": ["The post is 10,000 characters with hashtags; X allows 280."]},
        ),
        (
            {"caption": "Fine.", "hashtags": "#ok " + LONG},
            {"hashtags": ["Each item must be at most 60 characters (#Xxxxxxxxxxxxxxxxxxx… is longer)."]},
        ),
        ({"caption": "Fine.", "hashtags": "!!!"}, {"hashtags": ["'!!!' is not a usable hashtag."]}),
        ({"caption": "Fine\x00.", "hashtags": ""}, {"caption": ["Null characters are not allowed."]}),
    ],
    ids=["empty", "blank", "10000-chars", "long-hashtag", "bad-hashtag", "nul"],
)
def test_post_edit_form_refuses_bad_input_and_leaves_the_post_alone(campaign, data, expected):
    post = PostFactory(campaign=campaign, platform="x", caption="The original words.")
    form = PostEditForm(data=data, instance=Post.objects.get(pk=post.pk))
    assert errors_of(form) == expected
    post.refresh_from_db()
    assert post.caption == "The original words."


def test_post_edit_form_counts_hashtags_against_the_platform(campaign):
    post = PostFactory(campaign=campaign, platform="instagram")
    form = PostEditForm(data={"caption": "Fine.", "hashtags": "#a #b #c #d #e #f"}, instance=post)
    assert errors_of(form) == {"hashtags": ["Instagram allows at most 5 hashtags."]}


@pytest.mark.parametrize(
    ("platform", "caption", "hashtags"),
    [
        ("x", " ", []),
        ("x", "a" * 281, []),
        ("x", "a" * 270, ["#OneTag", "#TwoTag"]),
        ("x", "short", ["#a", "#b", "#c", "#d"]),
        ("x", "a" * 281, ["#a", "#b", "#c", "#d"]),
        ("linkedin", "a" * 3001, []),
    ],
    ids=["blank", "long", "long-with-tags", "tags", "long-and-tags", "linkedin"],
)
def test_the_edit_form_refuses_with_the_words_of_post_update(campaign, platform, caption, hashtags):
    """One rule: the page's form says exactly what the service (and so the admin) says, field by field."""
    post = PostFactory(campaign=campaign, platform=platform, caption="Before.")
    form = PostEditForm(
        data={"caption": caption, "hashtags": " ".join(hashtags)}, instance=Post.objects.get(pk=post.pk)
    )
    with pytest.raises(ValidationError) as refusal:
        services.post_update(post=post, caption=caption, hashtags=hashtags, actor=None)
    assert errors_of(form) == refusal.value.message_dict
    post.refresh_from_db()
    assert post.caption == "Before."
