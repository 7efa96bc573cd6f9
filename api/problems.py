"""Errors as RFC 9457 problem details (application/problem+json), with field errors for bad input.

Every error the API answers goes through `problem()`: the exception handlers below turn
the domain's exceptions (ValidationError, PermissionDenied, DoesNotExist) and django-ninja's
own (bad input, no token, too many requests) into one shape:

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
     "detail": "Check the fields listed in errors.",
     "errors": [{"pointer": "#/count", "detail": "Input should be less than or equal to 1000"}]}

A field error names a body member with a JSON pointer ("pointer") or a query or path
parameter ("parameter").
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as RequestValidationError

from campaigns.quotas import LimitReached
from workspaces.access import NotMember

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
IDEMPOTENCY_CONFLICT = "/api/v1/problems/idempotency-conflict"
LIMIT_REACHED = "/api/v1/problems/limit-reached"
STATE_CONFLICT = "/api/v1/problems/state-conflict"
VALIDATION = "/api/v1/problems/validation"


class FieldError(Schema):
    detail: str
    pointer: str | None = None
    parameter: str | None = None


class Problem(Schema):
    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] | None = None


# The errors every operation may answer; operations add 409 where a state can refuse them.
COMMON_ERRORS: dict[int, type[Problem]] = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}
CONFLICT_ERRORS = {**COMMON_ERRORS, 409: Problem}


class Conflict(Exception):
    """The request is fine but the resource's state refuses it (409)."""

    def __init__(self, detail: str, *, type_: str = STATE_CONFLICT) -> None:
        super().__init__(detail)
        self.detail = detail
        self.type = type_


class ParameterError(Exception):
    """A query or path parameter that its type accepts but the API does not (422)."""

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(detail)
        self.parameter = parameter
        self.detail = detail


def problem(
    status: int, detail: str = "", *, type_: str = "about:blank", errors: list[dict[str, str]] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {"type": type_, "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _field_error(field: str, message: str) -> dict[str, str]:
    if field == NON_FIELD_ERRORS:
        return {"pointer": "#", "detail": message}
    return {"pointer": f"#/{field}", "detail": message}


def validation_problem(error: Any) -> HttpResponse:
    """A service's refusal of bad input: field errors when it names fields."""
    if hasattr(error, "error_dict"):
        errors = [
            _field_error(field, message) for field, messages in error.message_dict.items() for message in messages
        ]
        return problem(422, "Check the fields listed in errors.", type_=VALIDATION, errors=errors)
    return problem(422, " ".join(error.messages), type_=VALIDATION)


def _request_validation_problem(request: HttpRequest, exc: Any) -> HttpResponse:
    errors = []
    for item in exc.errors:
        location = [str(part) for part in item.get("loc", ())]
        message = str(item.get("msg", "Invalid value."))
        if location and location[0] == "body":
            # ("body", "<parameter name>", field, ...): the schema's name is not part of the document.
            path = location[2:]
            errors.append({"pointer": "#/" + "/".join(path) if path else "#", "detail": message})
        else:
            errors.append({"parameter": location[-1] if location else "", "detail": message})
    return problem(422, "Check the fields listed in errors.", type_=VALIDATION, errors=errors)


def _limit_problem(request: HttpRequest, exc: Any) -> HttpResponse:
    """A per-user limit (campaigns.quotas): 429 with Retry-After when it says when it has room again;
    a limit that frees up only when something ends (a running batch) stays a 422, as before."""
    if exc.retry_after is None:
        return validation_problem(exc)
    response = problem(429, " ".join(exc.messages), type_=LIMIT_REACHED)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _authentication_problem(request: HttpRequest, exc: Any) -> HttpResponse:
    response = problem(401, "Send a valid API token: Authorization: Bearer <token>.")
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _http_error_problem(request: HttpRequest, exc: Any) -> HttpResponse:
    if isinstance(exc, Throttled):
        # django-ninja adds Retry-After to this response.
        return problem(429, "Too many requests for this token; retry after the number of seconds in Retry-After.")
    return problem(exc.status_code, exc.message)


def _too_large_problem(request: HttpRequest, exc: Any) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem(413, f"The request's body is larger than the {limit:,} bytes the API reads.")


def _unexpected_problem(request: HttpRequest, exc: Any) -> HttpResponse:
    log.exception("API request failed: %s %s", request.method, request.path)
    return problem(500, "Something went wrong on our side; it has been logged.")


def install_handlers(api: NinjaAPI) -> None:
    api.add_exception_handler(RequestValidationError, _request_validation_problem)
    api.add_exception_handler(AuthenticationError, _authentication_problem)
    api.add_exception_handler(HttpError, _http_error_problem)
    api.add_exception_handler(ValidationError, lambda request, exc: validation_problem(exc))
    api.add_exception_handler(LimitReached, _limit_problem)
    api.add_exception_handler(Conflict, lambda request, exc: problem(409, exc.detail, type_=exc.type))
    api.add_exception_handler(
        ParameterError,
        lambda request, exc: problem(
            422,
            "Check the fields listed in errors.",
            type_=VALIDATION,
            errors=[{"parameter": exc.parameter, "detail": exc.detail}],
        ),
    )
    api.add_exception_handler(
        PermissionDenied, lambda request, exc: problem(403, str(exc) or "Your role does not allow this.")
    )
    api.add_exception_handler(Http404, lambda request, exc: problem(404, str(exc) or "Not found."))
    api.add_exception_handler(ObjectDoesNotExist, lambda request, exc: problem(404, "Not found."))
    # A service refused a non-member: to them the thing doesn't exist (as on the pages).
    api.add_exception_handler(NotMember, lambda request, exc: problem(404, "Not found."))
    api.add_exception_handler(RequestDataTooBig, _too_large_problem)
    api.add_exception_handler(Exception, _unexpected_problem)


@contextmanager
def refusals_are_conflicts() -> Iterator[None]:
    """A service's plain refusal (the post is busy, the batch has ended) is a 409 for an action on
    an existing resource; a refusal that names fields stays a 422."""
    try:
        yield
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise Conflict(" ".join(error.messages)) from None


def use_problem_content_type(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare error responses in the OpenAPI document as application/problem+json, as they are sent.

    Every operation may answer 400: a path or query string with a control character in it is
    refused before the API sees it (shared.middleware). An operation that reads a body may answer
    413: a body over DATA_UPLOAD_MAX_MEMORY_SIZE.
    """
    problem_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if responses:
                responses.setdefault(400, {"description": "Bad Request", "content": dict(problem_content)})
            if responses and "requestBody" in operation:
                responses.setdefault(413, {"description": "Payload Too Large", "content": dict(problem_content)})
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(status).startswith(("4", "5")) and "application/json" in content:
                    content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
    return schema
