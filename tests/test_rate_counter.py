"""shared.rate_counter: the one fixed-window counter behind the API's rate, the per-user limits,
previews, sign-in failures and password resets."""

from django.core.cache import cache

from shared.rate_counter import window_usage
from tests.api_support import call, make_token


def test_a_window_counts_up_to_its_limit_then_refuses_until_it_ends():
    counts = [window_usage(group="t", key="k", limit=2, period_seconds=60) for _ in range(3)]
    assert [(usage.count, usage.exceeded) for usage in counts] == [(1, False), (2, False), (3, True)]
    assert all(1 <= usage.seconds_left <= 60 for usage in counts)
    # Keys and groups count apart.
    assert window_usage(group="t", key="other", limit=2, period_seconds=60).count == 1
    assert window_usage(group="u", key="k", limit=2, period_seconds=60).count == 1


def test_looking_does_not_count():
    window_usage(group="t", key="k", limit=2, period_seconds=60)
    peek = window_usage(group="t", key="k", limit=2, period_seconds=60, increment=False)
    assert (peek.count, peek.used_up) == (1, False)
    window_usage(group="t", key="k", limit=2, period_seconds=60)
    assert window_usage(group="t", key="k", limit=2, period_seconds=60, increment=False).used_up


def test_a_key_evicted_between_its_add_and_its_incr_refuses_instead_of_erring(client, user, monkeypatch):
    """RedisCache.incr raises ValueError on a key that is gone: the API answered 500 for it."""

    def evicted(key, delta=1, version=None):
        raise ValueError(f"Key '{key}' not found.")

    token = make_token(user, "read")
    assert call(client, "GET", "/usage", token).status_code == 200  # the window's key now exists
    monkeypatch.setattr(cache, "incr", evicted)
    response = call(client, "GET", "/usage", token)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
