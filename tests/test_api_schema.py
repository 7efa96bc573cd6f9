"""A property-based run of the whole API from its own OpenAPI document (schemathesis).

Every operation is called with generated input, valid and not, with a write token: no answer
may be a 5xx, every answer must match the document (status codes, content types, bodies,
headers), input the document rules out must be refused, and calls without the token must be 401.
It runs in CI with the rest of the tests (.ci/run runs `make test`), with 12 examples per operation
and the default checks but one (below). `make fuzz-api` runs it harder: API_FUZZ_EXAMPLES examples
per operation (100 there) and, with API_FUZZ_ALL_CHECKS=1, every check schemathesis has but that one.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from api.main import api
from config.env import env_bool
from config.wsgi import application
from tests.api_support import make_token
from tests.factories import BatchFactory, CampaignFactory, PostFactory

PATHS = api.get_openapi_schema()["paths"]
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))
ALL_CHECKS = env_bool("API_FUZZ_ALL_CHECKS", False)
OPERATIONS = [(path, method.upper()) for path, methods in PATHS.items() for method in methods]


@pytest.fixture
def api_schema(db):
    # The WSGI handler closes the database connection when a request ends, which would end the
    # test's transaction; Django's test client turns that off the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, user, settings):
    settings.API_RATE_LIMIT = "100000/m"
    campaign = CampaignFactory(owner=user)
    BatchFactory(campaign=campaign)
    PostFactory.create_batch(3, campaign=campaign)
    return make_token(user, "write")


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{method} {path}" for path, method in OPERATIONS])
def test_every_operation_answers_as_its_schema_says(api_schema, token, path, method):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case):
        headers = {"Authorization": f"Bearer {token}"}
        # Every check but "schema-valid input is accepted": rules beyond a schema (a campaign name
        # already taken, a cursor the API never gave, an end date before the start) rightly answer 422.
        beyond_the_schema = schemathesis.checks.positive_data_acceptance
        if ALL_CHECKS:
            schemathesis.checks.load_all_checks()
            checks = [check for check in schemathesis.checks.CHECKS.get_all() if check is not beyond_the_schema]
            case.call_and_validate(headers=headers, checks=checks)
            return
        case.call_and_validate(headers=headers, excluded_checks=[beyond_the_schema])

    run()
