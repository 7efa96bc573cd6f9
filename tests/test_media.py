"""Private media: a post's image reaches only those who may see the post, whatever the delivery."""

import re
from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, override_settings
from PIL import Image

from generation.images import store_post_image
from tests.factories import CampaignFactory, MembershipFactory, PostFactory, UserFactory, WorkspaceFactory
from workspaces.roles import Role

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0 a tiny stand-in for a JPEG \xff\xd9"


@pytest.fixture
def post_with_image(user):
    post = PostFactory(campaign=CampaignFactory(owner=user))
    stem = f"posts/{post.campaign_id}/{post.pk}-0123456789abcdef0123456789abcdef"
    post.image = default_storage.save(f"{stem}.jpg", _content())
    post.thumbnail = default_storage.save(f"{stem}-thumb.jpg", _content())
    post.save()
    return post


def _content():
    return ContentFile(JPEG)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_gets_the_image_privately_cached(user, post_with_image):
    for url in (post_with_image.image.url, post_with_image.thumbnail.url):
        response = signed_in(user).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == JPEG
        assert response["Content-Type"] == "image/jpeg"
        assert "private" in response["Cache-Control"]


def test_a_non_member_gets_404_like_a_missing_file(post_with_image):
    stranger = signed_in(UserFactory())
    assert stranger.get(post_with_image.image.url).status_code == 404
    assert stranger.get(post_with_image.thumbnail.url).status_code == 404


@pytest.mark.parametrize("role", list(Role))
def test_every_member_of_the_workspace_gets_it_and_a_removed_member_no_longer_does(role):
    team = WorkspaceFactory()
    post = PostFactory(campaign=CampaignFactory(workspace=team, owner=UserFactory()))
    post.image = default_storage.save(f"posts/{post.campaign_id}/{post.pk}-{'ab' * 16}.jpg", _content())
    post.save()
    membership = MembershipFactory(workspace=team, role=role)
    member = signed_in(membership.user)
    assert member.get(post.image.url).status_code == 200
    membership.delete()
    assert member.get(post.image.url).status_code == 404


def test_signed_out_goes_to_sign_in(post_with_image):
    response = Client().get(post_with_image.image.url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_no_image_is_reachable_by_guessing(user, post_with_image):
    owner = signed_in(user)
    campaign, pk = post_with_image.campaign_id, post_with_image.pk
    # A file on disk that no post names (an old image, a file dropped there) is not served either.
    stray = default_storage.save(f"posts/{campaign}/{pk}-ffffffffffffffffffffffffffffffff.jpg", _content())
    for name in (
        stray,
        f"posts/{campaign}/{pk}-00000000000000000000000000000000.jpg",
        f"posts/{campaign}/../{campaign}/{post_with_image.image.name.rsplit('/', 1)[1]}",
        "posts/../../etc/passwd",
        f"exports/{campaign}/anything.zip",
        f"posts/{campaign}/9223372036854775808-x.jpg",
    ):
        assert owner.get(f"/media/{name}").status_code == 404, name


def test_new_image_names_carry_128_random_bits(post_with_image):
    buffer = BytesIO()
    Image.new("RGB", (64, 48), "#2F5BEA").save(buffer, "JPEG")
    names = [store_post_image(post_with_image.campaign_id, post_with_image.pk, buffer.getvalue()) for _ in range(2)]
    pattern = rf"posts/{post_with_image.campaign_id}/{post_with_image.pk}-([0-9a-f]{{32}})(-thumb)?\.jpg"
    tokens = {re.fullmatch(pattern, name)[1] for pair in names for name in pair}
    assert len(tokens) == 2  # one per image, shared by its thumbnail, never repeated


@override_settings(MEDIA_DELIVERY="nginx", MEDIA_ACCEL_REDIRECT_PREFIX="/protected-media/")
def test_behind_nginx_the_file_is_handed_over_with_x_accel_redirect(user, post_with_image):
    response = signed_in(user).get(post_with_image.image.url)
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{post_with_image.image.name}"
    assert response.content == b""
    assert "private" in response["Cache-Control"]
    assert signed_in(UserFactory()).get(post_with_image.image.url).status_code == 404


def test_pages_link_images_through_the_checking_view(user, post_with_image):
    page = signed_in(user).get(post_with_image.get_absolute_url()).content.decode()
    assert f'src="/media/{post_with_image.image.name}"' in page


def test_staff_who_may_view_posts_see_every_thumbnail_in_the_admin(post_with_image, staff_user):
    response = signed_in(staff_user).get(post_with_image.thumbnail.url)
    assert response.status_code == 200
    # Staff without the permission to view posts are strangers to them.
    assert signed_in(UserFactory(is_staff=True)).get(post_with_image.thumbnail.url).status_code == 404
