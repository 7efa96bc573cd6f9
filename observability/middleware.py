from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from observability.probes import PROBES


class ProbeMiddleware:
    """Answer /healthz, /readyz and /metrics first, before host checks, redirects and sessions.

    See observability.probes for why; the URLconf never sees these paths.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        response = probe(request)
        response.headers["Cache-Control"] = "no-store"
        return response
