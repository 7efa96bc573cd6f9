import json
import os
import time
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


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
    recent = stored(f"posts/{campaign.pk}/3-recent.jpg", age_seconds=10)

    out = StringIO()
    call_command("sweep_images", "--dry-run", "--json", stdout=out)
    assert json.loads(out.getvalue())["would_delete"] == [orphan]
    assert default_storage.exists(orphan)

    out = StringIO()
    call_command("sweep_images", "--json", stdout=out)
    assert json.loads(out.getvalue())["deleted"] == [orphan]
    assert not default_storage.exists(orphan)
    assert all(default_storage.exists(name) for name in (kept_image, kept_thumb, recent))
