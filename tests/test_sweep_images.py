import json
import os
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from campaigns.models import GenerationStatus
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_media_folder(settings, tmp_path):
    """The sweep lists every stored file: files other tests left (their posts rolled back) are
    orphans to it too, so each test here sweeps a folder of its own."""
    settings.MEDIA_ROOT = str(tmp_path)


def stored(name: str, *, age_seconds: float) -> str:
    name = default_storage.save(name, ContentFile(b"jpeg"))
    old = time.time() - age_seconds
    os.utime(default_storage.path(name), (old, old))
    return name


def test_only_old_unreferenced_images_are_deleted(campaign):
    kept_image = stored(f"posts/{campaign.pk}/1-kept.jpg", age_seconds=7200)
    kept_thumb = stored(f"posts/{campaign.pk}/1-kept-thumb.jpg", age_seconds=7200)
    PostFactory(campaign=campaign, image=kept_image, thumbnail=kept_thumb)
    orphan = stored(f"posts/{campaign.pk}/2-orphan.jpg", age_seconds=7200)
    # A recent file of a post being generated: its worker may be about to write it in.
    generating = PostFactory(
        campaign=campaign,
        status=GenerationStatus.GENERATING,
        lease_owner="w1",
        lease_expires_at=timezone.now() + timedelta(seconds=15),
    )
    recent = stored(f"posts/{campaign.pk}/{generating.pk}-recent.jpg", age_seconds=10)

    out = StringIO()
    call_command("sweep_images", "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["would_delete"] == [orphan]
    assert default_storage.exists(orphan)

    out = StringIO()
    call_command("sweep_images", "--json", stdout=out)
    assert json.loads(out.getvalue())["deleted"] == [orphan]
    assert not default_storage.exists(orphan)
    assert all(default_storage.exists(name) for name in (kept_image, kept_thumb, recent))


def test_a_killed_workers_images_are_found_without_flags_once_no_lease_can_own_them(campaign):
    """A worker stored a post's image and thumbnail, then was killed before writing them in. Once the
    post is no longer being generated (taken over and finished, failed, given back, deleted), its
    files that are not its current image are orphans at once: no --min-age-minutes 0 needed."""
    now = timezone.now()
    finished = PostFactory(campaign=campaign, status=GenerationStatus.SUCCEEDED)
    finished.image = stored(f"posts/{campaign.pk}/{finished.pk}-current.jpg", age_seconds=5)
    finished.thumbnail = stored(f"posts/{campaign.pk}/{finished.pk}-current-thumb.jpg", age_seconds=5)
    finished.save()
    failed = PostFactory(campaign=campaign, status=GenerationStatus.FAILED)
    pending = PostFactory(campaign=campaign, status=GenerationStatus.PENDING)
    gone = PostFactory(campaign=campaign)
    orphans = [
        stored(f"posts/{campaign.pk}/{finished.pk}-killed.jpg", age_seconds=30),
        stored(f"posts/{campaign.pk}/{finished.pk}-killed-thumb.jpg", age_seconds=30),
        stored(f"posts/{campaign.pk}/{failed.pk}-killed.jpg", age_seconds=30),
        stored(f"posts/{campaign.pk}/{pending.pk}-killed.jpg", age_seconds=30),
        stored(f"posts/{campaign.pk}/{gone.pk}-killed.jpg", age_seconds=30),
    ]
    gone.delete()
    # Being generated, by a live lease or by an expired one nobody took over yet: its worker may
    # still write the file in, so it is spared (until --min-age-minutes, as before).
    leased = PostFactory(
        campaign=campaign,
        status=GenerationStatus.GENERATING,
        lease_owner="w2",
        lease_expires_at=now + timedelta(seconds=15),
    )
    stalled = PostFactory(
        campaign=campaign,
        status=GenerationStatus.GENERATING,
        lease_owner="w3",
        lease_expires_at=now - timedelta(seconds=30),
    )
    spared = [
        stored(f"posts/{campaign.pk}/{leased.pk}-writing.jpg", age_seconds=30),
        stored(f"posts/{campaign.pk}/{stalled.pk}-writing.jpg", age_seconds=30),
        # A name that names no post: judged by its age.
        stored(f"posts/{campaign.pk}/stray.jpg", age_seconds=30),
    ]

    out = StringIO()
    call_command("sweep_images", "--json", stdout=out)
    deleted = json.loads(out.getvalue())["deleted"]
    assert sorted(name for name in deleted if name.startswith(f"posts/{campaign.pk}/")) == sorted(orphans)
    assert not any(default_storage.exists(name) for name in orphans)
    assert all(default_storage.exists(name) for name in [*spared, finished.image.name, finished.thumbnail.name])
