"""Requests refused before any view sees them."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from shared.text import ANY_CONTROL_CHARACTER, CONTROL_CHARACTERS


class ControlCharactersMiddleware:
    """400 for a path or query string with a control character in it (a NUL, %00, first of all;
    in a query string's values tab, newline and carriage return are text, as in a form's).

    Such a request cannot name anything: no URL, file, token or filter of the project has one,
    and PostgreSQL cannot even compare text with a NUL ("text fields cannot contain NUL"), which
    would make it a 500 wherever a path segment or parameter reaches a query. The API's paths are
    answered as its problem details (application/problem+json), the rest as a plain 400.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._refused(request):
            detail = "The address holds a control character (such as %00): no page or parameter has one."
            if request.path_info.startswith("/api/"):
                body = {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail}
                return JsonResponse(body, status=400, content_type="application/problem+json")
            return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _refused(request: HttpRequest) -> bool:
        if ANY_CONTROL_CHARACTER.search(request.path_info):
            return True
        # A query string's values are text a person may type (a GET form's): tab and new lines pass.
        return any(
            ANY_CONTROL_CHARACTER.search(key) or any(CONTROL_CHARACTERS.search(value) for value in values)
            for key, values in request.GET.lists()
        )
