"""Every integer a URL or a form takes is bounded: a huge id answers 404 (or the form's error), never a 500."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import CampaignFactory

HUGE = "9223372036854775808"  # one past PostgreSQL's bigint
HUGER = "9" * 40


def routes_with_numbers(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every route of the project whose path takes a number, with the number replaced by {n}."""
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += routes_with_numbers(pattern, route)
        elif isinstance(pattern, URLPattern) and re.search(r"<(int|id):\w+>|\(\?P<\w+>\\d\+\)", route):
            found.append(route)
    return found


def fill(route: str, number: str) -> str:
    path = re.sub(r"<(int|id):\w+>", number, route)
    path = re.sub(r"\(\?P<\w+>\\d\+\)", number, path)
    path = re.sub(r"<(str|path):\w+>|<\w+>", "x", path)
    return "/" + path.lstrip("^").rstrip("$").replace("\\", "")


@pytest.mark.django_db
@pytest.mark.parametrize("number", [HUGE, HUGER])
def test_huge_ids_in_any_route_answer_404(staff_user, number):
    routes = routes_with_numbers()
    assert len(routes) >= 15  # campaigns, batches, posts, exports
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)  # staff see the most: the admin's routes too
    answers = {}
    for route in routes:
        path = fill(route, number)
        for method in ("get", "post"):
            answers[f"{method.upper()} {path}"] = getattr(client, method)(path).status_code
    crashed = {request: status for request, status in answers.items() if status >= 500}
    assert not crashed, "\n".join(sorted(crashed))
    assert answers[f"GET /posts/{number}/"] == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        f"batch={HUGE}",
        f"batch=-{HUGE}",
        f"after={HUGE}",
        f"after={HUGE}-{HUGE}",
        f"month={HUGE}-01",
        "month=2025-99",
        f"page={HUGE}",
    ],
)
def test_huge_numbers_in_query_strings_are_refused_or_ignored(client, user, query):
    campaign = CampaignFactory(owner=user)
    client.force_login(user)
    for path in (
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{campaign.pk}/posts/",
        f"/campaigns/{campaign.pk}/calendar/",
        f"/campaigns/{campaign.pk}/export.csv",
        "/",
    ):
        response = client.get(f"{path}?{query}")
        assert response.status_code in (200, 302, 400, 404), (path, query, response.status_code)
        if response.streaming:
            b"".join(response.streaming_content)


@pytest.mark.django_db
@pytest.mark.parametrize("number", [HUGE, f"-{HUGE}", HUGER])
def test_huge_ids_in_the_admin_answer_without_a_crash(staff_user, number):
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    answers = {}
    for model in ("campaign", "batchjob", "post"):
        for path in (
            f"/admin/campaigns/{model}/{number}/change/",
            f"/admin/campaigns/{model}/{number}/delete/",
            f"/admin/campaigns/{model}/{number}/history/",
            f"/admin/campaigns/{model}/?id={number}",
            f"/admin/campaigns/{model}/?campaign={number}",
            f"/admin/campaigns/{model}/?batch={number}",
            f"/admin/campaigns/{model}/?p={number}",
        ):
            answers[path] = client.get(path).status_code
    crashed = {path: status for path, status in answers.items() if status >= 500}
    assert not crashed, "\n".join(sorted(crashed))


@pytest.mark.django_db
@pytest.mark.parametrize("number", [HUGE, f"-{HUGE}", HUGER, "1e400"])
def test_huge_numbers_in_forms_get_the_forms_message(client, user, number):
    campaign = CampaignFactory(owner=user)
    client.force_login(user)
    response = client.post(f"/campaigns/{campaign.pk}/batches/", {"count": number, "platforms": ["x"]})
    assert response.status_code in (200, 400)
    assert b"posts" in response.content
    assert not campaign.batches.exists()
