"""Signed, short-lived download links to a ready ZIP export, for tools that fetch a URL.

The API (GET /api/v1/exports/{id}) and the export.ready webhook hand a ZIP out as the API's CSV
exports are handed out: a link that needs no session and no token, signed with SECRET_KEY, that
works for API_EXPORT_LINK_SECONDS (never past the file's own expiry). A link made for a member
works only while they may still see the campaign, as the page's download does; a link made for
the workspace's webhook endpoints works while the export lasts.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from exports import selectors as exports_selectors
from exports.models import Export, ExportStatus

SALT = "campaigns.zip-link"


class LinkUnavailable(Exception):
    """Not a link signed here, expired, or its export or its member's access has gone."""


@dataclass(frozen=True)
class ZipLink:
    path: str
    expires_at: datetime


def zip_link_for(*, export: Export, user: User) -> ZipLink:
    """A link for `user`, who can see the export (exports_selectors.export_for)."""
    return _link(export, user.pk)


def zip_link_for_endpoints(export: Export) -> ZipLink:
    """A link for the export's workspace's webhook endpoints (export.ready)."""
    return _link(export, None)


def _link(export: Export, user_id: int | None) -> ZipLink:
    assert export.expires_at is not None, "only a ready export has a link"
    expires_at = min(timezone.now() + timedelta(seconds=settings.API_EXPORT_LINK_SECONDS), export.expires_at)
    expires = int(expires_at.timestamp())
    token = signing.dumps({"export": export.pk, "user": user_id, "expires": expires}, salt=SALT)
    # The API serves the file: it is the one place that takes a link instead of a session.
    path = reverse("api-v1:export_download", args=[str(export.pk)]) + "?" + urlencode({"link": token})
    return ZipLink(path=path, expires_at=datetime.fromtimestamp(expires, tz=UTC))


def export_for_link(*, export_id: str, link: str) -> Export:
    """The ready export that `link` opens at /exports/<export_id>/download, or LinkUnavailable."""
    try:
        order = signing.loads(link, salt=SALT)
    except signing.BadSignature:
        raise LinkUnavailable("No such export.") from None
    if str(order["export"]) != export_id:
        raise LinkUnavailable("No such export.")
    if order["expires"] < timezone.now().timestamp():
        raise LinkUnavailable("This export's link has expired; ask for the export again for a new one.")
    try:
        if order["user"] is None:
            export = Export.objects.select_related("campaign").get(pk=order["export"])
        else:
            user = User.objects.get(pk=order["user"], is_active=True)
            export = exports_selectors.export_for(user=user, pk=order["export"])
    except (Export.DoesNotExist, User.DoesNotExist):
        raise LinkUnavailable("No such export.") from None
    if export.status != ExportStatus.SUCCEEDED or not export.file or export.is_expired():
        raise LinkUnavailable("This export's file has expired; start a new export.")
    return export
