import factory
from django.contrib.auth import get_user_model

from campaigns.models import BatchJob, BatchStatus, Campaign, GenerationStatus, Post


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


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    owner = factory.SubFactory(UserFactory)
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
