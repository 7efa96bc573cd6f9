"""Media on an S3-compatible store: a worker process writes images to it, the web side serves them
through presigned URLs after its access check. The store is moto in server mode, a real HTTP server."""

import socket
import subprocess
import sys
import time

import boto3
import httpx
import pytest
from django.core.files.storage import default_storage
from django.test import Client, override_settings

from campaigns.models import GenerationStatus
from campaigns.services import batch_start
from tests.factories import CampaignFactory, UserFactory
from tests.support import wait_for_batch_end

pytestmark = [pytest.mark.workers, pytest.mark.slow]

BUCKET = "campaign-media"
CREDENTIALS = {"S3_ACCESS_KEY_ID": "test-key", "S3_SECRET_ACCESS_KEY": "test-secret", "S3_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def s3_endpoint(tmp_path):
    """moto's S3 server on loopback, with an empty private bucket."""
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")  # noqa: SIM115 - the child keeps it
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"moto did not start: {(tmp_path / 'moto.log').read_text()}") from None
                time.sleep(0.1)
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["S3_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["S3_REGION"],
    )


def web_settings(endpoint: str) -> dict:
    """What config.settings makes of MEDIA_STORAGE=s3 with these variables, for this process."""
    return {
        "MEDIA_DELIVERY": "s3",
        "MEDIA_URL_SECONDS": 60,
        "STORAGES": {
            "default": {
                "BACKEND": "shared.storage.PrivateS3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": endpoint,
                    "region_name": CREDENTIALS["S3_REGION"],
                    "access_key": CREDENTIALS["S3_ACCESS_KEY_ID"],
                    "secret_key": CREDENTIALS["S3_SECRET_ACCESS_KEY"],
                    "default_acl": None,
                    "querystring_auth": True,
                    "querystring_expire": 60,
                    "file_overwrite": False,
                    "signature_version": "s3v4",
                    "addressing_style": "path",
                },
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    }


def test_a_worker_writes_images_to_s3_and_the_web_serves_them_to_members_only(workers, s3_endpoint, user):
    workers.start("s3-worker", MEDIA_STORAGE="s3", S3_BUCKET=BUCKET, S3_ENDPOINT_URL=s3_endpoint, **CREDENTIALS)
    batch = batch_start(campaign=CampaignFactory(owner=user), count=3, actor=user)
    wait_for_batch_end(batch, timeout=90)
    posts = list(batch.posts.order_by("sequence"))
    assert [post.status for post in posts] == [GenerationStatus.SUCCEEDED] * 3

    bucket = s3_client(s3_endpoint)
    stored = {item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert stored == {name for post in posts for name in (post.image.name, post.thumbnail.name)}

    owner, stranger = Client(), Client()
    owner.force_login(user)
    stranger.force_login(UserFactory())
    with override_settings(**web_settings(s3_endpoint)):
        assert not default_storage.exists(posts[0].image.name.replace("posts/", "nothing/"))
        for post in posts:
            # Pages link the app's checking view, never the bucket.
            assert post.image.url == f"/media/{post.image.name}"
            response = owner.get(post.image.url)
            assert response.status_code == 302
            assert "private" in response["Cache-Control"]
            signed = response["Location"]
            assert signed.startswith(f"{s3_endpoint}/{BUCKET}/{post.image.name}?")
            assert "X-Amz-Signature=" in signed and "X-Amz-Expires=60" in signed
            image = httpx.get(signed, timeout=10)
            assert image.status_code == 200
            assert image.headers["content-type"] == "image/jpeg"
            assert image.content == bucket.get_object(Bucket=BUCKET, Key=post.image.name)["Body"].read()
            assert image.content.startswith(b"\xff\xd8")
            assert stranger.get(post.image.url).status_code == 404
            assert stranger.get(post.thumbnail.url).status_code == 404
        page = owner.get(batch.campaign.get_absolute_url()).content.decode()
        assert f"/media/{posts[0].thumbnail.name}" in page
        assert s3_endpoint not in page
