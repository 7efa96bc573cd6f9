import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django_rq.settings import get_queues_map

from campaigns.models import GenerationStatus, Post
from tests.factories import BatchFactory, CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def thousand_posts(user):
    campaign = CampaignFactory(owner=user)
    batch = BatchFactory(campaign=campaign, requested_count=1000)
    Post.objects.bulk_create(
        Post(
            campaign=campaign,
            batch=batch,
            sequence=i,
            platform="instagram",
            status=GenerationStatus.SUCCEEDED,
            caption=f"post {i}",
            thumbnail=f"posts/{campaign.pk}/{i}-thumb.jpg",
        )
        for i in range(1000)
    )
    return campaign


@pytest.mark.parametrize("model", ["campaign", "batchjob", "post"])
def test_change_lists_load_in_a_fixed_number_of_queries(
    staff_client, thousand_posts, model, django_assert_max_num_queries
):
    url = reverse(f"admin:campaigns_{model}_changelist")
    with django_assert_max_num_queries(12):
        response = staff_client.get(url)
    assert response.status_code == 200


def test_post_change_list_shows_thumbnails_from_storage(staff_client, thousand_posts):
    response = staff_client.get(reverse("admin:campaigns_post_changelist"))
    assert f"/media/posts/{thousand_posts.pk}/999-thumb.jpg" in response.content.decode()


def test_marketers_are_refused_the_admin(signed_in_client):
    response = signed_in_client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    response = signed_in_client.get(reverse("admin:campaigns_post_changelist"))
    assert response.status_code == 302


def test_rq_dashboard_is_reachable_from_the_admin(staff_client):
    response = staff_client.get(reverse("admin:django_rq_home"))
    assert response.status_code == 200
    assert b"generation" in response.content


def test_rq_dashboard_is_for_superusers_only(staff_client):
    """A staff user who is not a superuser can neither see the dashboard nor act on a job."""
    staff = UserFactory(username="operator", is_staff=True)
    staff.user_permissions.set(Permission.objects.all())  # every model permission, still not a superuser
    client = Client()
    client.force_login(staff)
    queue = get_queues_map()["generation"]
    for url in (
        reverse("admin:django_rq_home"),
        reverse("admin:django_rq_jobs", args=[queue]),
        reverse("admin:django_rq_delete_job", args=[queue, "some-job"]),
        reverse("admin:django_rq_home_json"),
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url).status_code == 403, url
    assert b"django_rq" not in client.get(reverse("admin:index")).content
    # Superusers keep it; an index past the last queue is a 404, not a crash.
    assert staff_client.get(reverse("admin:django_rq_jobs", args=[queue])).status_code == 200
    assert staff_client.get(reverse("admin:django_rq_jobs", args=[len(get_queues_map())])).status_code == 404


def test_a_marketer_cannot_sign_in_to_the_admin_even_with_the_right_password(client, user):
    response = client.post(
        reverse("admin:login"), {"username": user.username, "password": "correct-horse-battery", "next": "/admin/"}
    )
    assert response.status_code == 200
    assert b"Please enter the correct username and password for a staff account" in response.content
    assert client.get(reverse("admin:index")).status_code == 302


@pytest.mark.parametrize(
    "url_name",
    ["admin:index", "admin:campaigns_batchjob_changelist", "admin:django_rq_home", "admin:auth_user_changelist"],
)
def test_marketers_and_strangers_are_sent_to_the_admin_sign_in(signed_in_client, url_name):
    for visitor in (signed_in_client, Client()):
        response = visitor.get(reverse(url_name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_admin_shows_platform_names(staff_client):
    campaign = CampaignFactory(platforms=["linkedin", "x", "tiktok"])
    batch = BatchFactory(campaign=campaign, platforms=["linkedin", "tiktok"])
    listing = staff_client.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert "LinkedIn, X, TikTok" in listing
    page = staff_client.get(reverse("admin:campaigns_batchjob_change", args=[batch.pk])).content.decode()
    assert "LinkedIn, TikTok" in page and "[&quot;linkedin&quot;" not in page


def test_the_rq_dashboards_scheduler_page_sends_a_superuser_to_the_cron_schedulers(staff_client):
    assert staff_client.get(reverse("admin:django_rq_home")).status_code == 200
    response = staff_client.get("/admin/django_rq/dashboard/schedulers/0/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("admin:django_rq_home"), 302)]
    assert "the clock runs rq&#x27;s cron scheduler, listed under Cron schedulers" in response.content.decode()
    # An index past the last queue is still a 404.
    assert staff_client.get("/admin/django_rq/dashboard/schedulers/99/").status_code == 404
