import factory
from django.contrib.auth import get_user_model

from campaigns.models import BatchJob, BatchStatus, Campaign, GenerationStatus, Post
from workspaces.models import Membership, Workspace
from workspaces.roles import Role
from workspaces.services.workspaces import personal_workspace


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"marketer{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(user, create, extracted, **kwargs):
        if create:
            user.save()


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True


class WorkspaceFactory(factory.django.DjangoModelFactory):
    """A team workspace with no members: add them with MembershipFactory(workspace=..., user=..., role=...)."""

    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.EDITOR


class CampaignFactory(factory.django.DjangoModelFactory):
    """CampaignFactory(owner=user) puts the campaign in user's personal workspace (made on demand,
    with user as its owner); pass workspace=... for a team's."""

    class Meta:
        model = Campaign

    owner = factory.SubFactory(UserFactory)
    workspace = factory.LazyAttribute(lambda campaign: personal_workspace(campaign.owner))
    name = factory.Sequence(lambda n: f"Campaign {n}")
    brief = "Launch our nitro cold brew for summer. Smooth and naturally sweet."
    target_audience = "busy commuters"
    tone = "upbeat, friendly"
    platforms = factory.LazyFunction(lambda: ["instagram", "x", "linkedin"])
    keywords = factory.LazyFunction(lambda: ["cold brew", "summer"])
    hashtags = factory.LazyFunction(lambda: ["#BrewBetter"])
    call_to_action = "Order today."


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BatchJob

    campaign = factory.SubFactory(CampaignFactory)
    requested_count = 10
    platforms = factory.LazyAttribute(lambda batch: list(batch.campaign.platforms))
    status = BatchStatus.QUEUED
    provider = "local"


class PostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Post

    campaign = factory.SubFactory(CampaignFactory)
    batch = None
    sequence = factory.Sequence(lambda n: n)
    platform = "instagram"
    status = GenerationStatus.SUCCEEDED
    caption = factory.Sequence(lambda n: f"Caption number {n} for a sunny day.")
    hashtags = factory.LazyFunction(lambda: ["#BrewBetter"])


def failed_posts_by_reason(batch: BatchJob) -> list[Post]:
    """Three failed posts of the batch, sequences 0 to 2: two timed out, one refused by the content policy."""
    reasons = [("timeout", "request timed out (after 5 tries)")] * 2 + [
        ("content_policy", "refused by the provider's content policy: no")
    ]
    return [
        PostFactory(
            campaign=batch.campaign,
            batch=batch,
            sequence=sequence,
            status=GenerationStatus.FAILED,
            failure_reason=code,
            error_message=message,
        )
        for sequence, (code, message) in enumerate(reasons)
    ]
