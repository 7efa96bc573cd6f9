"""How a private file (a post's image, an export) leaves the app, once the caller checked access.

One place decides, from MEDIA_DELIVERY (config.settings): Django streams the file itself
(development, one host), nginx sends it from an internal location named by X-Accel-Redirect, or
the browser is redirected to a presigned URL of the S3 bucket that expires in MEDIA_URL_SECONDS.
Responses are `Cache-Control: private`: a shared cache must never keep a member's file for
another visitor.
"""

import mimetypes
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header


def deliver(name: str, *, download_as: str = "") -> HttpResponseBase:
    """The response that hands over the stored file `name`; `download_as` makes it an attachment."""
    content_type = mimetypes.guess_type(download_as or name)[0] or "application/octet-stream"
    disposition = content_disposition_header(True, download_as) if download_as else None
    response: HttpResponseBase
    if settings.MEDIA_DELIVERY == "s3":
        parameters = {"ResponseContentType": content_type}
        if disposition:
            parameters["ResponseContentDisposition"] = disposition
        response = HttpResponseRedirect(default_storage.presigned_url(name, parameters=parameters))  # type: ignore[attr-defined]
    elif settings.MEDIA_DELIVERY == "nginx":
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT_PREFIX + quote(name)
        if disposition:
            response["Content-Disposition"] = disposition
    else:
        try:
            file = default_storage.open(name, "rb")
        except FileNotFoundError:
            raise Http404("No such file.") from None
        response = FileResponse(file, content_type=content_type, as_attachment=bool(download_as), filename=download_as)
    patch_cache_control(response, private=True, max_age=settings.MEDIA_URL_SECONDS)
    return response
