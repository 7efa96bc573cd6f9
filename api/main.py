"""The JSON API under /api/v1/: django-ninja, with the same selectors and services as the pages.

Routes only parse input, call one selector or service and shape the answer; errors are
problem details (api.problems); every request is authenticated by a token (api.auth) and
rate-limited per token. The OpenAPI document is /api/v1/openapi.json, the docs /api/v1/docs.
"""

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from api.auth import READ, TokenRateThrottle
from api.problems import install_handlers, use_problem_content_type
from api.routes import batches, campaigns, exports, posts, usage

# A path parameter holds no control character at all (shared.middleware answers 400 to one).
PATH_TEXT_PATTERN = r"^[^\u0000-\u001f\u007f]*$"


def path_text_has_no_control_characters(schema: dict[str, Any]) -> dict[str, Any]:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                declared = parameter.get("schema", {})
                if parameter.get("in") == "path" and declared.get("type") == "string" and "pattern" not in declared:
                    declared["pattern"] = PATH_TEXT_PATTERN
    return schema


class ProblemNinjaAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = use_problem_content_type(super().get_openapi_schema(*args, **kwargs))
        return path_text_has_no_control_characters(schema)


api = ProblemNinjaAPI(
    title="Campaign Posts API",
    version="1",
    description=(
        "Start batches of AI-generated social-media posts, follow them, review and schedule the posts. "
        "Authenticate with `Authorization: Bearer <token>` (make one on your API tokens page or with "
        "`manage.py create_api_token`). Errors are RFC 9457 problem details."
    ),
    urls_namespace="api-v1",
    auth=READ,
    throttle=[TokenRateThrottle()],
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_handlers(api)
api.add_router("", campaigns.router)
api.add_router("", batches.router)
api.add_router("", posts.router)
api.add_router("", exports.router)
api.add_router("", usage.router)
