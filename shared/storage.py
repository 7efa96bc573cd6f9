"""Media storage in a private S3-compatible bucket (MEDIA_STORAGE=s3, see config.settings)."""

from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.utils.encoding import filepath_to_uri
from storages.backends.s3 import S3Storage


class PrivateS3Storage(S3Storage):
    """django-storages' S3 storage whose public URL of a file is the app's media view.

    `post.image.url` thus leads every page, card and admin thumbnail to the view that checks
    access first (campaigns.views.media), as it does with the filesystem; that view alone asks
    for `presigned_url`, a link to the bucket valid for MEDIA_URL_SECONDS. Nothing links to the
    bucket directly, so a link copied out of a page stops working once its signature expires.
    """

    def url(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        return urljoin(settings.MEDIA_URL, filepath_to_uri(name).lstrip("/"))

    def presigned_url(self, name: str, *, parameters: dict[str, Any] | None = None) -> str:
        return super().url(name, parameters=parameters)
