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


class ProblemNinjaAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        return use_problem_content_type(super().get_openapi_schema(*args, **kwargs))


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
